"""Checks a YOLO-format dataset (data.yaml + images/ + labels/, as labelImg writes it) before
any training starts, and says what is wrong in words a person can fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from visionapp.core.errors import BadInput
from visionapp.core.sources import IMAGE_SUFFIXES

SHOW = 5  # file names listed per problem


@dataclass
class DatasetReport:
    data_yaml: Path
    names: list[str]
    images: dict[str, int] = field(default_factory=dict)  # split → image count
    boxes: int = 0
    errors: list[str] = field(default_factory=list)  # training cannot start
    warnings: list[str] = field(default_factory=list)  # training can, but look at these

    def summary(self) -> str:
        counts = ", ".join(f"{split} {n} images" for split, n in self.images.items())
        return f"{len(self.names)} classes ({', '.join(self.names)}); {counts}; {self.boxes} boxes"


def _list(problem: str, files: list[str]) -> str:
    more = f" … and {len(files) - SHOW} more" if len(files) > SHOW else ""
    return f"{problem}: {len(files)} ({', '.join(files[:SHOW])}{more})"


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last /images/ in the path becomes /labels/, extension .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _images_in(entry: Path) -> list[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if entry.suffix == ".txt" and entry.is_file():  # a list of image paths
        base = entry.parent
        return [(base / line.strip()).resolve() for line in entry.read_text().splitlines()
                if line.strip()]
    return []


def validate(data_yaml: Path) -> DatasetReport:
    import yaml

    data_yaml = Path(data_yaml).expanduser()
    if not data_yaml.is_file():
        raise BadInput(f"{str(data_yaml)!r} does not exist; give the dataset's data.yaml")
    try:
        data = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadInput(f"{data_yaml} is not valid YAML: {exc}") from None
    names = data.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names:
        raise BadInput(f"{data_yaml} has no 'names' list of classes")
    nc = int(data.get("nc", len(names)))
    report = DatasetReport(data_yaml, [str(n) for n in names])
    if nc != len(names):
        report.errors.append(f"nc is {nc} but {len(names)} names are listed")
    root = Path(data.get("path") or data_yaml.parent)
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    for split in ("train", "val"):
        if not data.get(split):
            report.errors.append(f"data.yaml has no '{split}:' entry")
            continue
        entry = Path(data[split])
        entry = entry if entry.is_absolute() else root / entry
        if not entry.exists():
            report.errors.append(f"{split} path {entry} does not exist (check 'path:' and "
                                 f"'{split}:' in {data_yaml.name})")
            continue
        images = _images_in(entry)
        report.images[split] = len(images)
        if not images:
            report.errors.append(f"{split} path {entry} contains no images")
        _check_labels(images, nc, report)
    return report


def _check_labels(images: list[Path], nc: int, report: DatasetReport) -> None:
    missing, empty_images, outside, bad_class, malformed = [], [], [], [], []
    for image in images:
        if not image.is_file() or image.stat().st_size == 0:
            empty_images.append(image.name)
            continue
        labels = label_path(image)
        if not labels.is_file():
            missing.append(image.name)
            continue
        for line in labels.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split()
            if not fields:
                continue
            try:
                cls = int(fields[0])
                values = [float(v) for v in fields[1:5]]
            except ValueError:
                malformed.append(labels.name)
                break
            if len(fields) != 5:
                malformed.append(labels.name)
                break
            if not 0 <= cls < nc:
                bad_class.append(f"{labels.name} (class {cls})")
            if any(not 0.0 <= v <= 1.0 for v in values):
                outside.append(labels.name)
            report.boxes += 1
    if empty_images:
        report.errors.append(_list("empty or unreadable images", empty_images))
    if bad_class:
        report.errors.append(_list(f"class ids beyond nc={nc}", bad_class))
    if outside:
        report.errors.append(_list("boxes outside [0, 1] (labels must be normalised)", outside))
    if malformed:
        report.errors.append(_list("label lines that are not 'class x y w h'", malformed))
    if missing:
        report.warnings.append(_list("images without a label file (used as background)",
                                     missing))
