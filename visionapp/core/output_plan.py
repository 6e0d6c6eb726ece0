"""Naming a batch run's outputs so that none overwrites another output or an input.

:func:`plan_batch_outputs` names and checks every output before any work. Each input gets a stem
unique within the run (:func:`input_stems`: it names the input's video in an output folder and its
saved frames); :func:`refuse_clashes` refuses a run in which two outputs are one file, or an output
is one of the inputs — even with ``--force``, which only ever replaces results of earlier runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from visionapp.core.errors import BadInput
from visionapp.core.network_sources import is_stream_url, natural_stream_name
from visionapp.core.outputs import AtomicFile, check_output
from visionapp.core.sources import IMAGE_SUFFIXES


def natural_stem(spec: str) -> str:
    """The stem an input's outputs are named after: file or folder stem, demo, camera0, and for
    a stream URL its host and last path part (``192.168.1.20_stream1``; never a password)."""
    spec = spec.strip()
    if spec == "demo" or spec.startswith("demo:"):
        return "demo"
    if spec.isdigit():
        return f"camera{spec}"
    if is_stream_url(spec):
        return natural_stream_name(spec)
    path = Path(spec).expanduser()
    return path.stem or path.resolve().name or "input"


def input_stems(specs: Sequence[str]) -> list[str]:
    """One stem per input, in order: the file or folder stem, ``demo``, ``camera0``. When several
    inputs share a stem, the first keeps it and the others get ``_2``, ``_3``, … (skipping any
    stem another input already has), so the names do not depend on anything but the inputs."""
    natural = [natural_stem(spec) for spec in specs]
    taken = set(natural)
    seen: set[str] = set()
    stems = []
    for stem in natural:
        if stem in seen:
            n = 2
            while f"{stem}_{n}" in taken:
                n += 1
            stem = f"{stem}_{n}"
            taken.add(stem)
        seen.add(stem)
        stems.append(stem)
    return stems


def _same(a: Path, b: Path) -> bool:
    """One file (or folder) under both names: symlinks, hard links and ``..`` resolved."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.expanduser().resolve() == b.expanduser().resolve()


def _input_paths(specs: Sequence[str]) -> list[tuple[str, Path]]:
    found = []
    for spec in specs:
        spec_ = spec.strip()
        if spec_ == "demo" or spec_.startswith("demo:") or spec_.isdigit() or is_stream_url(spec_):
            continue
        found.append((spec, Path(spec).expanduser()))
    return found


def refuse_clashes(outputs: Sequence[tuple[str, Path]], inputs: Sequence[str]) -> None:
    """Raise BadInput if two ``(what, path)`` outputs are one file, or one is an input: an input
    file, an input folder, or an existing image inside an input folder."""
    for i, (what, path) in enumerate(outputs):
        for other_what, other in outputs[:i]:
            if _same(path, other):
                raise BadInput(f"{other_what} and {what} are both {str(path)!r}; give each "
                               "output its own name")
        for spec, source in _input_paths(inputs):
            inside_folder = (source.is_dir() and path.suffix.lower() in IMAGE_SUFFIXES
                             and path.exists() and _same(path.parent, source))
            if _same(path, source) or inside_folder:
                raise BadInput(f"{what} {str(path)!r} is the input {spec!r}; write the result to "
                               "another name (--force never replaces an input)")


@dataclass
class BatchOutputs:
    """Where a batch run writes: per input a stem and (with an output folder or file) a video;
    the shared result files; the folder of saved frames. ``shared`` holds the positions of
    inputs whose natural stem another input has too (their outputs were told apart)."""

    stems: list[str]
    videos: list[Path | None]
    files: dict[str, Path | None]  # "detections", "csv", "coco"
    frames_dir: Path | None
    shared: set[int] = field(default_factory=set)

    def folders(self) -> set[Path]:
        found = {p.parent for p in [*self.videos, *self.files.values()] if p is not None}
        return found | ({self.frames_dir} if self.frames_dir is not None else set())


def _video_paths(inputs: Sequence[str], out: Path | None, stems: list[str]) -> list[Path | None]:
    if out is None:
        return [None] * len(inputs)
    if len(inputs) == 1:
        return [out]
    if not out.is_dir():
        raise BadInput(f"with {len(inputs)} inputs, --out must be an existing folder "
                       f"({str(out)!r} is not); each input gets <name>_processed.mp4 there")
    return [out / f"{stem}_processed.mp4" for stem in stems]


def prepare_frames_dir(folder: Path, force: bool) -> Path:
    """Create the folder for saved frames; refuse a non-empty one without ``force``."""
    if not folder.parent.is_dir():
        raise BadInput(f"--frames-dir parent {str(folder.parent)!r} does not exist; create it")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create --frames-dir {str(folder)!r}: {exc.strerror}; choose "
                       "another folder") from None
    if any(folder.iterdir()) and not force:
        raise BadInput(f"--frames-dir {str(folder)!r} is not empty; choose an empty folder or "
                       "pass --force to overwrite files of the same name")
    AtomicFile(folder / "frame.png").discard()  # unwritable: fail now, not at the first frame
    return folder


def plan_batch_outputs(inputs: Sequence[str], *, out: str | None, files: dict[str, str | None],
                       frames_dir: str | Path | None, force: bool) -> BatchOutputs:
    """Name every output of a batch run and check them all before any work: refused if two
    are one file or one is an input (even with ``force``), if one exists (without ``force``),
    or if a folder is missing or cannot be written to."""
    stems = input_stems(inputs)
    natural = [natural_stem(spec) for spec in inputs]
    videos = _video_paths(inputs, Path(out).expanduser() if out else None, stems)
    paths = {key: Path(value).expanduser() if value else None for key, value in files.items()}
    folder = Path(frames_dir).expanduser() if frames_dir else None
    named = [("--out", v) for v in videos if v is not None]
    named += [(f"--{key}", path) for key, path in paths.items() if path is not None]
    named += [("--frames-dir", folder)] if folder is not None else []
    refuse_clashes(named, inputs)
    whats = {"detections": "detections file", "csv": "CSV file", "coco": "COCO file",
             "txt": "text file"}
    return BatchOutputs(
        stems=stems,
        videos=[check_output(v, force, "output video") if v else None for v in videos],
        files={key: check_output(path, force, whats.get(key, key)) if path else None
               for key, path in paths.items()},
        frames_dir=prepare_frames_dir(folder, force) if folder is not None else None,
        shared={i for i, stem in enumerate(natural) if natural.count(stem) > 1})
