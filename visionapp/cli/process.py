"""``visionapp process`` and ``visionapp make-video``: the options become a
:class:`~visionapp.core.batch_job.BatchJob` (checked once, here), which
:func:`visionapp.cli.batch_run.run_job` runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from visionapp.core.batch_job import BatchJob, check_rate
from visionapp.core.chain import chain_entries
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.interrupts import describe


def camera_size(text: str | None) -> tuple[int, int] | None:
    """``--camera-size 1280x720`` → (1280, 720)."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ParameterError(f"--camera-size {text!r}: use WIDTHxHEIGHT, e.g. 1280x720") from None
    return w, h


def job_from_args(args: argparse.Namespace) -> BatchJob:
    """The batch job the ``process`` options describe (every option checked)."""
    return BatchJob.create(
        args.inputs, chain_entries(args.processor, args.set, args.chain), out=args.out,
        detections=args.detections, csv=args.csv, coco=args.coco, txt=args.txt,
        frames_dir=None if args.frames_dir is None else str(args.frames_dir), every=args.every,
        fps=args.fps, fourcc=args.fourcc, max_frames=args.max_frames,
        duration_s=args.duration, open_timeout_s=args.open_timeout,
        read_timeout_s=args.read_timeout,
        camera_wh=camera_size(args.camera_size), camera_fps=args.camera_fps,
        show_text=not args.no_text, force=args.force, quiet=args.quiet)


def cmd_process(args: argparse.Namespace) -> int:
    job = job_from_args(args)
    if args.cluster is None:
        from visionapp.cli.batch_run import run_job

        return run_job(job, args.interrupts)
    from visionapp.cli.cluster_run import ClusterOptions, run_cluster_job  # Ray stays lazy

    options = ClusterOptions(args.cluster, args.worker_cpus, args.worker_gpus, args.workers)
    return run_cluster_job(job, args.interrupts, options)


def cmd_make_video(args: argparse.Namespace) -> int:
    from visionapp.cli.batch_run import remove_stale, say
    from visionapp.core.output_plan import refuse_clashes
    from visionapp.core.outputs import AtomicVideoWriter, check_output
    from visionapp.core.sources import open_folder

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise BadInput(f"{str(folder)!r} is not a folder of images")
    check_rate(args.fps, "--fps")
    out = Path(args.out).expanduser()
    refuse_clashes([("--out", out)], [str(folder)])
    out = check_output(out, args.force, "output video")
    remove_stale([out.parent])
    stop, interrupts = args.stop, args.interrupts
    with open_folder(folder, args.fps) as source:  # natural order; damaged images skipped
        writer = AtomicVideoWriter(out, args.fps)
        try:
            for frame in source:
                if stop.is_set():
                    break
                writer.write(frame.image)
            if stop.is_set():
                kept = writer.commit(partial=True)
                say(f"interrupted by {describe(interrupts.signum)} after {writer.frames} "
                    "frame(s); " + (f"kept them as {kept}" if kept else "nothing was written")
                    + "; no existing file was touched")
                return 128 + interrupts.signum
            if writer.frames == 0:
                raise BadInput(f"none of the images in {str(folder)!r} could be read")
            writer.commit()
        except BaseException:
            writer.abort()
            raise
    print(f"{out}: {writer.frames} frames at {args.fps:g} fps, "
          f"{writer.size_wh[0]}×{writer.size_wh[1]}", file=sys.stderr)
    skipped = source.info.skipped
    if skipped:
        say(f"skipped {len(skipped)} file(s) that are not readable images: "
            + ", ".join(skipped[:5]))
    return 0


def add_parsers(sub) -> None:
    """Register this module's commands on the ``visionapp`` subparsers."""
    p = sub.add_parser("process", help="run a processor chain over videos, images or cameras")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="video, image, folder of images, camera index, stream URL "
                        "(rtsp://, http(s)://, udp://), or demo:[frames=N]")
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
    p.add_argument("--duration", type=float, default=0.0, metavar="SECONDS",
                   help="stop each input after this much time (streams: wall-clock)")
    p.add_argument("--open-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="network streams: give up connecting after this long (default 5)")
    p.add_argument("--read-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="network streams: reconnect after this long without a frame "
                        "(default 5)")
    p.add_argument("--camera-size", metavar="WxH", help="ask cameras for this resolution")
    p.add_argument("--camera-fps", type=float, help="ask cameras for this frame rate")
    p.add_argument("--no-text", action="store_true", help="no readout text on frames")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--cluster", nargs="?", const="local", metavar="ADDRESS",
                   help="run the inputs on a Ray cluster, one file per task: local (start Ray "
                        "here, the default), auto (join the running cluster) or "
                        "ray://HOST:PORT; output folders must be shared by all nodes")
    p.add_argument("--workers", type=int, default=0,
                   help="with --cluster: worker count (default: as many as the CPUs allow)")
    p.add_argument("--worker-cpus", type=float, default=1.0, metavar="N",
                   help="with --cluster: CPUs per worker (default 1)")
    p.add_argument("--worker-gpus", type=float, default=0.0, metavar="N",
                   help="with --cluster: GPU share per worker, e.g. 0.25 (default 0)")
    p.set_defaults(func=cmd_process, graceful=True)

    p = sub.add_parser("make-video", help="build a video from a folder of images")
    p.add_argument("folder")
    p.add_argument("--fps", type=float, default=20.0)
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_make_video, graceful=True)
