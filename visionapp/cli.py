"""The headless command line: process videos in batch, list processors, build videos, models.

Bad input ends with one line on stderr saying what to do, and exit status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from visionapp import __version__
from visionapp.core import logs, registry
from visionapp.core.chain import ChainEntry, load_chain
from visionapp.core.errors import BadInput, ParameterError, VisionappError
from visionapp.core.export import Exports
from visionapp.core.images import read_image
from visionapp.core.outputs import AtomicVideoWriter, check_output, write_image
from visionapp.core.params import check_number, specs
from visionapp.core.prepare import prepare_chain
from visionapp.core.sources import IMAGE_SUFFIXES, Source, natural_key, open_source
from visionapp.core.text_export import TextExport
from visionapp.core.types import Frame, Result

log = logging.getLogger("visionapp")

DEMO_FRAMES_DEFAULT = 300
MAX_FPS = 1000.0


# ----------------------------------------------------------------------------- chain building


def parse_set(items: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """``["canny.low=60"]`` → ``{"canny": [("low", "60")]}``; the processor part may itself
    contain dots (``haar.faces.min_size=40``): the last dot before "=" splits it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        name, dot, field_name = key.strip().rpartition(".")
        if not eq or not dot or not name or not field_name:
            raise ParameterError(f"--set {item!r}: use --set PROCESSOR.PARAM=VALUE, "
                                 "e.g. --set canny.low=60")
        out.setdefault(name, []).append((field_name, value))
    return out


def build_chain(names: Sequence[str], settings: Sequence[str], chain_file: Path | None) -> tuple:
    entries: list[ChainEntry] = []
    if chain_file is not None:
        entries.extend(e for e in load_chain(chain_file) if e.enabled)
    entries.extend(ChainEntry(name) for name in names)
    overrides = parse_set(settings)
    in_chain = {e.name for e in entries}
    for name in overrides:
        if name not in in_chain:
            registry.load(name)  # an unknown name gets the list of valid ones
            raise ParameterError(f"--set {name}.…: {name!r} is not in the chain; add it with "
                                 f"-p {name}")
    processors = []
    for entry in entries:
        params = dict(entry.params)
        params.update(registry.parse_settings(entry.name, overrides.get(entry.name, [])))
        processors.append(registry.create(entry.name, params))
    return tuple(processors)


# ----------------------------------------------------------------------------- process


class Outputs:
    """Everything one input writes: video, result exports, every-Nth frame images."""

    def __init__(self, args: argparse.Namespace, video: Path | None, source: Source,
                 label: str, exports: Exports, texts: TextExport | None = None):
        fps = args.fps or source.info.fps
        self.video = AtomicVideoWriter(video, fps, args.fourcc) if video else None
        self.exports = exports
        self.texts = texts
        self.source = source
        self.label = label
        self.frames_dir: Path | None = args.frames_dir
        self.every = args.every
        self.stem = Path(label).stem if source.info.kind != "demo" else "demo"

    def write(self, frame: Frame, results: tuple[Result, ...], annotated) -> None:
        if self.video is not None:
            self.video.write(annotated)
        file_name = (self.source.file_name(frame.index) if hasattr(self.source, "file_name")
                     else f"{self.stem}_{frame.index:06d}")
        self.exports.write(self.label, file_name, frame, results)
        if self.texts is not None:
            self.texts.write(self.label, file_name if frame.still else None, frame, results)
        if self.frames_dir is not None and frame.index % self.every == 0:
            write_image(self.frames_dir / f"{self.stem}_{frame.index:06d}.png", annotated)

    def commit(self) -> None:
        if self.video is not None:
            self.video.commit()

    def abort(self) -> None:
        if self.video is not None:
            self.video.abort()


def _video_outputs(args: argparse.Namespace) -> list[Path | None]:
    if args.out is None:
        return [None] * len(args.inputs)
    out = Path(args.out).expanduser()
    if len(args.inputs) == 1:
        return [check_output(out, args.force, "output video")]
    if not out.is_dir():
        raise BadInput(f"with {len(args.inputs)} inputs, --out must be an existing folder "
                       f"({str(out)!r} is not); each input gets <name>_processed.mp4 there")
    names = []
    for spec in args.inputs:
        stem = "demo" if spec.startswith("demo") else Path(spec).stem or f"camera{spec}"
        names.append(check_output(out / f"{stem}_processed.mp4", args.force, "output video"))
    return names


def _prepare_frames_dir(args: argparse.Namespace) -> None:
    if args.frames_dir is None:
        return
    folder = Path(args.frames_dir).expanduser()
    if not folder.parent.exists():
        raise BadInput(f"--frames-dir parent {str(folder.parent)!r} does not exist; create it")
    folder.mkdir(exist_ok=True)
    if any(folder.iterdir()) and not args.force:
        raise BadInput(f"--frames-dir {str(folder)!r} is not empty; choose an empty folder or "
                       "pass --force to overwrite files of the same name")
    args.frames_dir = folder


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def cmd_process(args: argparse.Namespace) -> int:
    _check_numbers(args)
    if args.every < 1:
        raise ParameterError("--every must be 1 or more")
    if args.every > 1 and args.frames_dir is None:
        raise ParameterError("--every N saves frames: give --frames-dir FOLDER too")
    processors = build_chain(args.processor, args.set, args.chain)
    videos = _video_outputs(args)
    files = {}
    for key, what in (("detections", "detections file"), ("csv", "CSV file"),
                      ("coco", "COCO file"), ("txt", "text file")):
        value = getattr(args, key)
        files[key] = check_output(Path(value), args.force, what) if value else None
    if files["txt"] and not any(getattr(p, "reads_text", False) for p in processors):
        raise ParameterError("--txt writes the text the chain reads, and no processor in it "
                             "reads text: add -p ocr")
    prepare_chain(processors)  # models load now: a missing one is an error before any frame
    _prepare_frames_dir(args)
    exports = Exports(files["detections"], files["csv"], files["coco"])
    texts = TextExport(files["txt"]) if files["txt"] else None
    problems: list[str] = []
    try:
        for spec, video in zip(args.inputs, videos, strict=True):
            problems += _process_one(args, spec, video, processors, exports, texts)
    except BaseException:
        exports.abort()
        if texts is not None:
            texts.abort()
        raise
    exports.commit()
    if texts is not None:
        texts.commit()
    for line in problems:
        print(f"visionapp: {line}", file=sys.stderr)
    return 2 if any(p.startswith("error") for p in problems) else 0


def _process_one(args, spec: str, video: Path | None, processors: tuple,
                 exports: Exports, texts: TextExport | None = None) -> list[str]:
    source = open_source(spec, realtime=False, default_demo_frames=DEMO_FRAMES_DEFAULT,
                         folder_fps=args.fps or 1.0, camera_wh=_camera_size(args.camera_size),
                         camera_fps=args.camera_fps)
    problems = []
    with source:
        total = source.info.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        frames = _limited(source, args.max_frames)
        outputs = Outputs(args, video, source, source.info.name if spec[:4] != "demo" else spec,
                          exports, texts)
        bar = _progress(total, source.info.name, not args.quiet)
        stop = threading.Event()
        try:
            report = _run_batch(frames, processors, outputs, bar, stop, args)
        except KeyboardInterrupt:
            outputs.commit()
            bar.close()
            problems.append(f"error: interrupted; kept the {bar.n} frames processed so far")
            return problems
        except BaseException:
            outputs.abort()
            bar.close()
            raise
        bar.close()
        outputs.commit()
        expected = source.info.frame_count
        if (source.info.kind == "video" and expected and not args.max_frames
                and report.frames < expected - max(2, expected // 100)):
            problems.append(
                f"error: {spec} stopped decoding after {report.frames} of {expected} frames "
                "(truncated or damaged?); the output holds the frames before that point")
        if source.info.skipped:
            skipped = source.info.skipped
            shown = ", ".join(skipped[:5]) + (" …" if len(skipped) > 5 else "")
            problems.append(f"skipped {len(skipped)} file(s) in {spec} that are not readable "
                            f"images: {shown}")
        if source.info.kind == "camera" and not args.quiet:
            print(f"{spec}: camera delivered {source.info.detail}", file=sys.stderr)
        if not args.quiet:
            stats = report.stats
            parts = [f"{report.frames} frames in {report.seconds:.1f} s ({report.fps:.1f} fps)"]
            for proc in processors:
                p50, p95 = stats.percentiles(proc.name)
                parts.append(f"{proc.name} p50 {p50:.1f} ms / p95 {p95:.1f} ms")
            print(f"{spec}: " + "; ".join(parts), file=sys.stderr)
    return problems


def _run_batch(frames, processors, outputs: Outputs, bar, stop, args):
    from visionapp.core.pipeline import process_batch

    return process_batch(frames, processors, outputs.write, on_frame=lambda n: bar.update(1),
                         stop=stop, show_text=not args.no_text)


def _check_numbers(args: argparse.Namespace) -> None:
    """argparse turns "nan" and "inf" into floats: reject them (and values out of range) with
    the option's name and range."""
    check_number("--fps", args.fps, min=0, max=MAX_FPS, note="0: the source's frame rate")
    if args.camera_fps is not None:
        check_number("--camera-fps", args.camera_fps, min=0.01, max=MAX_FPS)
    check_number("--max-frames", args.max_frames, min=0, note="0: every frame")


def _camera_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--camera-size {text!r}: use WIDTHxHEIGHT, e.g. 1280x720") from None
    return w, h


def _limited(source: Source, max_frames: int | None):
    for i, frame in enumerate(source):
        if max_frames and i >= max_frames:
            return
        yield frame


# ----------------------------------------------------------------------------- other commands


def cmd_processors(args: argparse.Namespace) -> int:
    table = {}
    for name in registry.names():
        try:
            cls = registry.load(name)
        except VisionappError as exc:
            table[name] = {"error": str(exc)}
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        table[name] = {"summary": doc[0] if doc else "", "params": specs(cls)}
    if args.json:
        print(json.dumps({
            name: {"summary": v.get("summary", ""), "error": v.get("error"),
                   "params": [{"name": s.name, "type": s.type.__name__, "default": s.default,
                               "min": s.min, "max": s.max, "choices": s.choices,
                               "help": s.help} for s in v.get("params", [])]}
            for name, v in table.items()}, indent=2))
        return 0
    for name, entry in table.items():
        if "error" in entry:
            print(f"{name}  (unavailable: {entry['error']})")
            continue
        print(f"{name}  — {entry['summary']}")
        for spec in entry["params"]:
            print(f"    {spec.describe()}")
    return 0


def cmd_make_video(args: argparse.Namespace) -> int:
    import cv2

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise BadInput(f"{str(folder)!r} is not a folder of images")
    check_number("--fps", args.fps, min=0.01, max=MAX_FPS)
    out = check_output(Path(args.out), args.force, "output video")
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=natural_key)
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    skipped = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if not images:
        raise BadInput(f"{str(folder)!r} contains no images; expected PNG/JPEG frames")
    writer = AtomicVideoWriter(out, args.fps)
    try:
        for path in images:
            try:
                image = read_image(path, cv2.IMREAD_COLOR)
            except BadInput:  # damaged or not an image: skipped and listed below
                skipped.append(path.name)
                continue
            writer.write(image)
        if writer.frames == 0:
            raise BadInput(f"none of the images in {str(folder)!r} could be read")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    print(f"{out}: {writer.frames} frames at {args.fps:g} fps, "
          f"{writer.size_wh[0]}×{writer.size_wh[1]}", file=sys.stderr)
    if skipped:
        print(f"visionapp: skipped {len(skipped)} file(s) that are not readable images: "
              + ", ".join(skipped[:5]), file=sys.stderr)
    return 0


def cmd_train_detector(args: argparse.Namespace) -> int:
    from visionapp.training.detector import DetectorConfig, train

    config = DetectorConfig(data_yaml=str(args.data_yaml), weights=args.weights,
                            epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                            device=args.device, name=args.name, force=args.force)
    _report(train(config))
    return 0


def _report(events) -> object:
    """Print a training run's progress to stderr; an error event ends it with exit status 2.
    Returns the final ``done`` event."""
    done = None
    for event in events:
        if event.kind == "error":
            raise BadInput(event.message.replace("\n", " | "))
        if event.kind in ("log", "epoch", "done"):
            eta = f" (ETA {event.eta_s:.0f} s)" if event.eta_s else ""
            print(f"{event.message}{eta}", file=sys.stderr)
        if event.kind == "done":
            done = event
    return done


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from visionapp.training.classifier import ClassifierConfig, train

    config = ClassifierConfig(
        dataset=str(args.dataset), kind=args.kind, image_size=args.image_size,
        epochs=args.epochs, batch=args.batch, learning_rate=args.lr, schedule=args.schedule,
        fine_tune_layers=args.fine_tune_layers, fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_lr=args.fine_tune_lr, dropout=args.dropout, l2=args.l2,
        augment=not args.no_augment, augmentation=args.augmentation, patience=args.patience,
        seed=args.seed,
        mixed_precision=args.mixed_precision, name=args.name, force=args.force)
    done = _report(train(config))
    if done is not None:
        print(json.dumps({"model": done.model_path, **{k: round(v, 4)
                                                       for k, v in done.metrics.items()},
                          "confusion": done.extra.get("confusion")}))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from visionapp.core import weights

    if args.action == "list":
        for model in weights.KNOWN_MODELS.values():
            where = weights.find_local(model.name)
            state = str(where) if where else "not on disk"
            print(f"{model.name:42s} {model.description}\n{'':42s} {state}")
        return 0
    if args.action == "where":
        if args.name:
            print(weights.resolve(args.name, download=False))
            print(_models_where(), file=sys.stderr)
        else:
            print(_models_where())
        return 0
    if args.name not in weights.KNOWN_MODELS:
        raise BadInput(f"unknown model {args.name!r}; known: "
                       + ", ".join(weights.KNOWN_MODELS))
    found = weights.find_local(args.name)
    if found is not None and not args.force:
        print(f"{args.name} is already at {found}")
        return 0
    try:
        path = weights.fetch(args.name)
    except OSError as exc:
        raise BadInput(f"could not download {args.name}: {exc}; check the internet connection "
                       f"or copy the file into {weights.search_dirs()[0]}") from None
    print(path)
    return 0


def _models_where() -> str:
    """Where trained models are saved, and the order model files are searched in."""
    from visionapp import paths

    kind = ("a source checkout" if paths.is_source_checkout()
            else "an installed package; set VISIONAPP_DATA_DIR or XDG_DATA_HOME to move it")
    lines = [f"trained models are saved to: {paths.trained_models_dir()} ({kind})",
             "model files are searched in this order:",
             "  1. an explicit path (e.g. --set yolo.detect.weights=/path/to/model.pt)"]
    search = paths.model_search_dirs()
    for i, (folder, what) in enumerate(search, start=2):
        lines.append(f"  {i}. {folder}  — {what}")
    if paths.env_models_dir() is None:
        lines.append(f"     (set {paths.MODELS_DIR_ENV} to add a folder before the downloads)")
    lines.append(f"  {len(search) + 2}. a download from the official URL, for the models "
                 "'visionapp models list' shows (not with VISIONAPP_OFFLINE=1)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- entry point


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionapp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"visionapp {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="run a processor chain over videos, images or cameras")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video, image, folder of images, camera index, or demo:[frames=N]")
    p.add_argument("-p", "--processor", action="append", default=[], metavar="NAME",
                   help="add a processor to the chain (repeatable, in order)")
    p.add_argument("--set", action="append", default=[], metavar="NAME.PARAM=VALUE",
                   help="set a parameter, e.g. --set canny.low=60")
    p.add_argument("--chain", type=Path, help="a chain file saved by the GUI (TOML)")
    p.add_argument("--out", help="annotated video (.mp4/.avi); a folder with several inputs")
    p.add_argument("--detections", help="JSON lines file: one record per frame")
    p.add_argument("--csv", help="CSV file: one row per detected box")
    p.add_argument("--coco", help="COCO-format detections (JSON) for all inputs")
    p.add_argument("--txt", help="text file: the text read (ocr) per image, and per video "
                                 "frame where it changes")
    p.add_argument("--frames-dir", type=Path, help="save every Nth annotated frame here")
    p.add_argument("--every", type=int, default=1, metavar="N", help="with --frames-dir")
    p.add_argument("--fps", type=float, default=0.0, help="output fps (default: the source's)")
    p.add_argument("--fourcc", help="codec for --out (default mp4v for .mp4, MJPG for .avi)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames")
    p.add_argument("--camera-size", metavar="WxH", help="ask cameras for this resolution")
    p.add_argument("--camera-fps", type=float, help="ask cameras for this frame rate")
    p.add_argument("--no-text", action="store_true", help="no readout text on frames")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("processors", help="list processors with their parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_processors)

    p = sub.add_parser("make-video", help="build a video from a folder of images")
    p.add_argument("folder")
    p.add_argument("--fps", type=float, default=20.0)
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_make_video)

    p = sub.add_parser("train-detector", help="fine-tune YOLO on a YOLO-format data.yaml")
    p.add_argument("data_yaml", type=Path)
    p.add_argument("--weights", default="auto", help="pretrained start (default: auto)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--device", default="auto", help="auto, cpu, 0, or 0,1 for several GPUs")
    p.add_argument("--name", default="detector",
                   help="saved as NAME.pt in the trained-models folder (visionapp models where)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.pt")
    p.set_defaults(func=cmd_train_detector)

    p = sub.add_parser("train-classifier", help="train an image classifier on class folders")
    p.add_argument("dataset", type=Path, help="a folder with one subfolder per class")
    p.add_argument("--kind", default="mobilenet_v2",
                   choices=("course", "better", "mobilenet_v2", "vgg16", "efficientnet_b0"))
    p.add_argument("--image-size", type=int, default=0, help="0: the model kind's own")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="auto", choices=("auto", "plateau", "cosine"),
                   help="learning rate: halve on plateaus, or decay along a cosine (auto: "
                        "cosine for the better CNN and for fine-tuning, else plateau)")
    p.add_argument("--fine-tune-layers", type=int, default=0,
                   help="backbones: unfreeze this many top layers after the frozen phase")
    p.add_argument("--fine-tune-epochs", type=int, default=10)
    p.add_argument("--fine-tune-lr", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--augmentation", default="auto", choices=("auto", "standard", "course"),
                   help="auto: the course's settings for the course CNN, else standard")
    p.add_argument("--patience", type=int, default=5,
                   help="early-stopping patience in epochs (plateau schedule; cosine runs "
                        "all its epochs)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--mixed-precision", action="store_true", help="GPU only")
    p.add_argument("--name", default="classifier",
                   help="saved as NAME.keras in the trained-models folder (visionapp models where)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.keras")
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("models", help="list, locate or download model files; 'where' says "
                                      "where trained models go and the search order")
    p.add_argument("action", choices=("list", "fetch", "where"))
    p.add_argument("name", nargs="?")
    p.add_argument("--force", action="store_true", help="fetch even if a copy exists")
    p.set_defaults(func=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logs.configure(verbose=args.verbose)  # native libraries' own lines only with -v
    if args.command == "models" and args.action == "fetch" and not args.name:
        parser.error(f"models {args.action} needs a model name")
    try:
        return int(args.func(args) or 0)
    except VisionappError as exc:
        print(f"visionapp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("visionapp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
