"""Batch throughput: `visionapp process -p canny` vs a plain single-threaded OpenCV loop.

Both read slow_traffic_small.mp4, run Canny(100, 200) on the grayscale frame and write the edge
map with the same codec (mp4v). Printed: seconds per run (median of interleaved rounds), the
ratio baseline / app (target ≥ 1.3), frame counts, and whether sampled output frames are
identical.

    .venv/bin/python -m benchmarks.batch_throughput [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import header, interleaved, median, shared, target
from visionapp.cli import main as visionapp_main


def baseline(src: Path, dst: Path) -> int:
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        edges = cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 100, 200)
        out = cv2.cvtColor(edges, cv2.COLOR_GRAY2BGR)
        if writer is None:
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                     (out.shape[1], out.shape[0]))
        writer.write(out)
        n += 1
    writer.release()
    cap.release()
    return n


def app(src: Path, dst: Path) -> None:
    code = visionapp_main(["process", str(src), "-p", "canny", "--out", str(dst), "--force",
                           "--no-text", "-q"])
    assert code == 0


def read_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        frames.append(frame)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    header("batch_throughput: visionapp process -p canny vs a single-threaded OpenCV loop")
    src = shared("data/videos/slow_traffic_small.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "app.mp4", Path(tmp) / "baseline.mp4"
        times = interleaved({"app": lambda: app(src, a), "baseline": lambda: baseline(src, b)},
                            args.rounds)
        fa, fb = read_all(a), read_all(b)
        sample = list(range(0, min(len(fa), len(fb)), 50))
        identical = len(fa) == len(fb) and all(np.array_equal(fa[i], fb[i]) for i in sample)
    t_app, t_base = median(times["app"]), median(times["baseline"])
    ratio = t_base / t_app
    print(f"frames: app {len(fa)}, baseline {len(fb)}")
    print(f"baseline (single-threaded read→Canny→write): {t_base:.2f} s "
          f"({len(fb) / t_base:.0f} fps)")
    print(f"visionapp process -p canny (pipelined):     {t_app:.2f} s ({len(fa) / t_app:.0f} fps)")
    print(f"sampled frames identical ({len(sample)} frames): {identical}")
    ok = target("batch_throughput", ratio >= 1.3 and identical,
                f"throughput ratio app/baseline: {ratio:.2f}x (target >= 1.3), outputs "
                f"identical: {identical}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
