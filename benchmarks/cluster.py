"""Cluster runs: `visionapp process --cluster` on a local Ray instance vs the plain CLI.

The shared videos are repeated to ``--files`` inputs (links in a temporary folder). Three runs,
each a fresh `visionapp process` child pinned with ``taskset``:

- plain CLI on one core;
- Ray, one worker, everything on the same one core (overhead: plain / ray ≥ 0.95);
- Ray, two workers on two cores (scaling: one worker / two workers ≥ 1.8).

Times are end to end (what a user waits for, Ray's start-up and shutdown included) and, for the
Ray runs, the driver's scheduling time from ``summary.json`` (workers starting and loading the
chain included, Ray's own start-up not). All three must write identical JSON lines.

    .venv/bin/python -m benchmarks.cluster [--files 20] [--max-frames 100] [-p haar.faces]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import machine, shared, verdict

VIDEOS = ("data/videos/slow_traffic_small.mp4", "data/videos/selfie_segmentation_web.mp4",
          "data/videos/pose_segmentation.mp4")


def run(cores: str, inputs: list[str], out: Path, chain: list[str],
        cluster: list[str]) -> tuple[float, float | None, int]:
    """(end-to-end seconds, summary seconds or None, frames) of one `visionapp process`."""
    out.mkdir()
    args = ["taskset", "-c", cores, sys.executable, "-m", "visionapp.cli", "process", *inputs,
            *chain, "--detections", str(out / "all.jsonl"), "-q", *cluster]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:8])} … failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = out / "summary.json"
    inner = json.loads(summary.read_text())["seconds"] if summary.exists() else None
    frames = sum(1 for _ in (out / "all.jsonl").open())
    return seconds, inner, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--max-frames", type=int, default=100, help="per file; 0: all")
    parser.add_argument("-p", "--processor", default="haar.faces")
    args = parser.parse_args()
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        sys.exit("this benchmark needs taskset and at least 2 cores")
    sources = [shared(v) for v in VIDEOS]
    chain = ["-p", args.processor, "--max-frames", str(args.max_frames)]
    with tempfile.TemporaryDirectory(prefix="visionapp-cluster-bench-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        inputs = []
        for i, source in zip(range(args.files), itertools.cycle(sources), strict=False):
            link = folder / f"clip{i:02d}_{source.stem}.mp4"
            link.symlink_to(source)
            inputs.append(str(link))
        plain = run("0", inputs, Path(tmp) / "plain", chain, [])
        one = run("0", inputs, Path(tmp) / "ray1", chain, ["--cluster", "--workers", "1"])
        two = run("0,1", inputs, Path(tmp) / "ray2", chain, ["--cluster", "--workers", "2"])
        same = all((Path(tmp) / name / "all.jsonl").read_bytes()
                   == (Path(tmp) / "plain" / "all.jsonl").read_bytes()
                   for name in ("ray1", "ray2"))
    print(machine())
    print(f"{args.files} files, {plain[2]} frames, chain {args.processor}, "
          f"max {args.max_frames or 'all'} frames per file")
    print(f"{'run':<28}{'end to end s':>14}{'scheduling s':>14}{'frames/s':>10}")
    rows = (("plain CLI, 1 core", plain), ("Ray, 1 worker, 1 core", one),
            ("Ray, 2 workers, 2 cores", two))
    for name, (wall, inner, frames) in rows:
        shown = f"{inner:.1f}" if inner is not None else "-"
        print(f"{name:<28}{wall:>14.1f}{shown:>14}{frames / wall:>10.1f}")
    overhead = plain[0] / one[0]
    overhead_inner = plain[0] / one[1]
    scaling = one[0] / two[0]
    scaling_inner = one[1] / two[1]
    print(f"overhead plain/ray1: {overhead:.3f} end to end, {overhead_inner:.3f} without Ray "
          f"start-up (target ≥ 0.95): {verdict(overhead_inner >= 0.95)}")
    print(f"scaling ray1/ray2:   {scaling:.2f}× end to end, {scaling_inner:.2f}× without Ray "
          f"start-up (target ≥ 1.8): {verdict(scaling_inner >= 1.8)}")
    print(f"files/hour per worker: {3600 * args.files / one[1]:.0f} "
          f"({3600 * plain[2] / one[1]:.0f} frames/hour); JSON lines identical: {same}")


if __name__ == "__main__":
    main()
