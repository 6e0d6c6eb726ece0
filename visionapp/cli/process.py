"""``visionapp process`` and ``visionapp make-video``: chains over videos, images and cameras,
with outputs that are verified before they take their names."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from visionapp.core.chain import build_chain
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.interrupts import describe

if TYPE_CHECKING:
    from visionapp.core.export import Exports
    from visionapp.core.sources import Source
    from visionapp.core.types import Frame, Result

DEMO_FRAMES_DEFAULT = 300
MAX_FPS = 1000.0


class Outputs:
    """Everything one input writes: video, result exports, every-Nth frame images. Nothing gets
    its final name before :meth:`finish`, which verifies the video first."""

    def __init__(self, args: argparse.Namespace, video: Path | None, source: Source,
                 label: str, stem: str, exports: Exports):
        from visionapp.core.outputs import AtomicVideoWriter, StagedImages

        fps = args.fps or source.info.fps
        self.video = AtomicVideoWriter(video, fps, args.fourcc) if video else None
        self.images = StagedImages()
        self.exports = exports
        self.source = source
        self.label = label
        self.frames_dir: Path | None = args.frames_dir
        self.every = args.every
        self.stem = stem

    def write(self, frame: Frame, results: tuple[Result, ...], annotated) -> None:
        if self.video is not None:
            self.video.write(annotated)
        file_name = (self.source.file_name(frame.index) if hasattr(self.source, "file_name")
                     else f"{self.stem}_{frame.index:06d}")
        self.exports.write(self.label, file_name, frame, results)
        if self.frames_dir is not None and frame.index % self.every == 0:
            self.images.add(self.frames_dir / f"{self.stem}_{frame.index:06d}.png", annotated)

    def finish(self, partial: bool = False) -> list[str]:
        """Verify and name this input's files (``partial``: as ``.partial`` files); returns
        what was named, for messages."""
        named = []
        try:
            if self.video is not None and (path := self.video.commit(partial)) is not None:
                named.append(str(path))
        except BaseException:
            self.images.discard()
            raise
        images = self.images.finish(partial)
        if images:
            named.append(f"{len(images)} image(s) in {images[0].parent}"
                         + (" named *.partial.png" if partial else ""))
        return named

    def discard(self) -> None:
        if self.video is not None:
            self.video.abort()
        self.images.discard()


def _check_rate(value: float | None, option: str, zero: str | None = None) -> None:
    """A frame rate must be a real number in (0, MAX_FPS]; ``zero`` names what 0 means."""
    if value is None or (zero is not None and value == 0):
        return
    if not (math.isfinite(value) and 0 < value <= MAX_FPS):
        meaning = f" (0: {zero})" if zero else ""
        raise ParameterError(f"{option} {value:g} is not a frame rate; give a number above 0 "
                             f"and up to {MAX_FPS:g}{meaning}")


def _remove_stale(folders) -> None:
    from visionapp.core.outputs import remove_stale_temporaries

    for folder in sorted(folders):
        removed = remove_stale_temporaries(folder)
        if removed:
            shown = ", ".join(removed[:3]) + (" …" if len(removed) > 3 else "")
            print(f"visionapp: removed {len(removed)} temporary file(s) left in {folder} by an "
                  f"earlier run that was killed: {shown}", file=sys.stderr)


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def cmd_process(args: argparse.Namespace) -> int:
    from visionapp.core.export import Exports
    from visionapp.core.output_plan import plan_batch_outputs

    if args.every < 1:
        raise ParameterError("--every must be 1 or more")
    if args.every > 1 and args.frames_dir is None:
        raise ParameterError("--every N saves frames: give --frames-dir FOLDER too")
    if args.max_frames < 0:
        raise ParameterError("--max-frames must be 0 (all) or more")
    _check_rate(args.fps, "--fps", zero="the source's")
    _check_rate(args.camera_fps, "--camera-fps")
    plan = plan_batch_outputs(args.inputs, out=args.out, frames_dir=args.frames_dir,
                              force=args.force, files={"detections": args.detections,
                                                       "csv": args.csv, "coco": args.coco,
                                                       "txt": args.txt})
    args.frames_dir = plan.frames_dir
    if plan.shared:
        where = ", ".join(f"{args.inputs[i]} → {plan.videos[i] or plan.stems[i] + '_*'}"
                          for i in sorted(plan.shared))
        print(f"visionapp: {len(plan.shared)} inputs share a name, so their outputs are told "
              f"apart: {where}", file=sys.stderr)
    _remove_stale(plan.folders())
    processors = build_chain(args.processor, args.set, args.chain)
    from visionapp.core.prepare import prepare_chain

    prepare_chain(processors)  # models load now: a missing one is an error before any frame
    if plan.files["txt"] and not any(getattr(p, "reads_text", False) for p in processors):
        raise ParameterError("--txt writes the text the chain reads, and no processor in it "
                             "reads text: add -p ocr")
    exports = Exports(plan.files["detections"], plan.files["csv"], plan.files["coco"],
                      plan.files["txt"])
    done: list[str] = []  # outputs named complete
    problems: list[str] = []
    try:
        for i, (spec, stem, video) in enumerate(zip(args.inputs, plan.stems, plan.videos,
                                                    strict=True)):
            if args.stop.is_set():
                return _interrupted(args, None, 0, [], done, exports, args.inputs[i:])
            stopped = _process_one(args, spec, stem, video, i in plan.shared, processors, exports,
                                   done, problems)
            if stopped is not None:
                frames, kept = stopped
                return _interrupted(args, spec, frames, kept, done, exports,
                                    args.inputs[i + 1:])
        exports.commit()
    except BaseException:
        exports.abort()
        raise
    for line in problems:
        print(f"visionapp: {line}", file=sys.stderr)
    return 2 if any(p.startswith("error") for p in problems) else 0


def _interrupted(args, spec: str | None, frames: int, kept: list[str], done: list[str],
                 exports: Exports, not_started: Sequence[str]) -> int:
    """Keep the shared exports as .partial files (if any frame reached them), say in one line
    what was kept, and return 128 + the signal number."""
    if done or kept:
        kept = kept + [str(path) for path in exports.commit(partial=True)]
    else:
        exports.abort()
    parts = [f"interrupted by {describe(args.interrupts.signum)}"
             + (f" in {spec} after {frames} frame(s)" if spec else "")]
    parts.append("kept the unfinished outputs as " + ", ".join(kept) if kept
                 else "no unfinished output was kept")
    if done:
        parts.append("complete: " + ", ".join(done))
    if not_started:
        parts.append("not started: " + ", ".join(not_started))
    if not done:
        parts.append("no existing file was touched")
    print("visionapp: " + "; ".join(parts), file=sys.stderr)
    return 128 + args.interrupts.signum


def _process_one(args, spec: str, stem: str, video: Path | None, shares_name: bool,
                 processors: tuple, exports: Exports, done: list[str],
                 problems: list[str]) -> tuple[int, list[str]] | None:
    """Process one input; on a stop request return (frames written, outputs kept as partial)."""
    from visionapp.core.sources import open_source

    source = open_source(spec, realtime=False, default_demo_frames=DEMO_FRAMES_DEFAULT,
                         folder_fps=args.fps or 1.0, camera_wh=_camera_size(args.camera_size),
                         camera_fps=args.camera_fps)
    with source:
        total = source.info.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        frames = _limited(source, args.max_frames)
        label = spec if shares_name or spec[:4] == "demo" else source.info.name
        outputs = Outputs(args, video, source, label, stem, exports)
        bar = _progress(total, source.info.name, not args.quiet)
        try:
            report = _run_batch(frames, processors, outputs, bar, args.stop, args)
            bar.close()
            if report.stopped:
                kept = outputs.finish(partial=True) if report.frames else []
                if not report.frames:
                    outputs.discard()
                return report.frames, kept
            done += outputs.finish()
        except BaseException:
            outputs.discard()
            bar.close()
            raise
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
    return None


def _run_batch(frames, processors, outputs: Outputs, bar, stop, args):
    from visionapp.core.pipeline import process_batch

    return process_batch(frames, processors, outputs.write, on_frame=lambda n: bar.update(1),
                         stop=stop, show_text=not args.no_text)


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


def cmd_make_video(args: argparse.Namespace) -> int:
    import cv2

    from visionapp.core.images import read_image
    from visionapp.core.output_plan import refuse_clashes
    from visionapp.core.outputs import AtomicVideoWriter, check_output
    from visionapp.core.sources import IMAGE_SUFFIXES, natural_key

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise BadInput(f"{str(folder)!r} is not a folder of images")
    _check_rate(args.fps, "--fps")
    out = Path(args.out).expanduser()
    refuse_clashes([("--out", out)], [str(folder)])
    out = check_output(out, args.force, "output video")
    _remove_stale([out.parent])
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=natural_key)
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    skipped = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if not images:
        raise BadInput(f"{str(folder)!r} contains no images; expected PNG/JPEG frames")
    writer = AtomicVideoWriter(out, args.fps)
    try:
        for path in images:
            if args.stop.is_set():
                break
            try:
                image = read_image(path, cv2.IMREAD_COLOR)
            except BadInput:  # damaged or not an image: skipped and listed below
                skipped.append(path.name)
                continue
            writer.write(image)
        if args.stop.is_set():
            kept = writer.commit(partial=True)
            print(f"visionapp: interrupted by {describe(args.interrupts.signum)} after "
                  f"{writer.frames} frame(s); " + (f"kept them as {kept}" if kept else
                                                   "nothing was written")
                  + "; no existing file was touched", file=sys.stderr)
            return 128 + args.interrupts.signum
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


def add_parsers(sub) -> None:
    """Register this module's commands on the ``visionapp`` subparsers."""
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
    p.set_defaults(func=cmd_process, graceful=True)

    p = sub.add_parser("make-video", help="build a video from a folder of images")
    p.add_argument("folder")
    p.add_argument("--fps", type=float, default=20.0)
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_make_video, graceful=True)
