"""Memory: RSS growth while processing 10,000 demo frames through a chain (target < 50 MB).

    .venv/bin/python -m benchmarks.memory [--frames 10000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import psutil

from benchmarks._common import header, target
from visionapp.core import registry
from visionapp.core.outputs import AtomicVideoWriter
from visionapp.core.pipeline import process_batch
from visionapp.core.sources import open_source

WARMUP = 300


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()
    header("memory: RSS growth over a long run through a chain")
    proc = psutil.Process()
    chain = (registry.create("adjust.brightness_contrast", {"alpha": 1.2}),
             registry.create("canny", {"view": "blend"}),
             registry.create("sobel", {"view": "side_by_side"}))
    rss = {}

    with tempfile.TemporaryDirectory() as tmp:
        writer = AtomicVideoWriter(Path(tmp) / "m.mp4", 30)

        def write(frame, results, image):
            writer.write(image)
            if frame.index in (WARMUP, args.frames - 1):
                rss[frame.index] = proc.memory_info().rss

        with open_source(f"demo:frames={args.frames}") as source:
            report = process_batch(source, chain, write)
        writer.commit()
    growth_mb = (rss[args.frames - 1] - rss[WARMUP]) / 2**20
    before, after = rss[WARMUP] / 2**20, rss[args.frames - 1] / 2**20
    print(f"{report.frames} frames at {report.fps:.0f} fps; RSS after {WARMUP} frames "
          f"{before:.1f} MB, after {args.frames}: {after:.1f} MB")
    ok = target("memory.rss_growth", growth_mb < 50,
                f"RSS growth: {growth_mb:+.1f} MB (target < 50 MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
