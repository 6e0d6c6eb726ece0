"""Batch throughput: `visionapp process -p canny` vs a plain single-threaded OpenCV loop.

Both read slow_traffic_small.mp4, run Canny(100, 200) on the grayscale frame and write the edge
map with the same codec (mp4v). Printed: seconds per run (median of interleaved rounds), the
ratio baseline / app (target ≥ 1.3), frame counts, and whether sampled output frames are
identical. The loop is single-threaded in Python; inside OpenCV, FFmpeg's decoder and OpenCV's
own pool still use their threads (the header says how many).

Where the time goes: one more run of each measures CPU seconds — the app's per stage thread
(reader, process, writer), the libraries' worker threads, and the loop's own thread. From them,
the app's floor: it can take no less than its busiest stage, nor less than all its CPU time
shared over the cores (CPU times, so the floor holds up under load from other processes, where
wall-clock times do not: the pipeline's gain needs idle cores, and on a busy machine it can fall
below 1). The ceiling of the ratio is the loop's measured time over that floor. Kernel time
and page faults are printed too: FFmpeg's decoding threads wait on each other in the kernel, and
frame buffers that malloc hands back to the kernel fault in again (see
``pipeline.keep_freed_memory``).

    .venv/bin/python -m benchmarks.batch_throughput [--rounds 9]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import backend, header, interleaved, median, shared, target
from visionapp.cli import main as visionapp_main
from visionapp.core import pipeline


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


@contextlib.contextmanager
def captured_reports():
    """The BatchReports of the ``visionapp process`` runs inside the block."""
    reports = []
    original = pipeline.process_batch

    def recording(*args, **kwargs):
        reports.append(original(*args, **kwargs))
        return reports[-1]

    pipeline.process_batch = recording
    try:
        yield reports
    finally:
        pipeline.process_batch = original


def usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_SELF)


def usage_since(before: resource.struct_rusage) -> str:
    """Kernel time and page faults since ``before`` (thread hand-offs and fresh memory cost
    both)."""
    now = usage()
    return (f"{now.ru_stime - before.ru_stime:.2f} of it in the kernel, "
            f"{now.ru_minflt - before.ru_minflt} page faults")


def cpu_profile(src: Path, tmp: Path, cores: int) -> float:
    """One run of each with CPU times; prints where the time went and returns the app's floor:
    the least wall time its CPU work allows on ``cores`` idle cores."""
    r0, c0, m0, t0 = usage(), time.process_time(), time.thread_time(), time.perf_counter()
    baseline(src, tmp / "profile_baseline.mp4")
    base_cpu, base_own = time.process_time() - c0, time.thread_time() - m0
    base_wall, base_kernel = time.perf_counter() - t0, usage_since(r0)
    with captured_reports() as reports:
        r0, c0, m0, t0 = usage(), time.process_time(), time.thread_time(), time.perf_counter()
        app(src, tmp / "profile_app.mp4")
        app_cpu, app_main = time.process_time() - c0, time.thread_time() - m0
        app_wall, app_kernel = time.perf_counter() - t0, usage_since(r0)
    stages = reports[-1].stage_cpu_s
    libraries = app_cpu - app_main - sum(stages.values())
    print(f"CPU seconds, loop: {base_cpu:.2f} in {base_wall:.2f} s wall ({base_own:.2f} its own "
          f"thread, {base_cpu - base_own:.2f} FFmpeg/OpenCV worker threads; {base_kernel})")
    print(f"CPU seconds, app:  {app_cpu:.2f} in {app_wall:.2f} s wall (" + ", ".join(
        f"{name} stage {s:.2f}" for name, s in stages.items())
        + f", FFmpeg/OpenCV worker threads {libraries:.2f}, main thread {app_main:.2f}; "
        f"{app_kernel})")
    floor_app = max(max(stages.values()), app_cpu / cores)
    print(f"floor on {cores} idle cores: app >= {floor_app:.2f} s (its busiest stage, or all its "
          f"CPU time shared over the cores, whichever is more)")
    return floor_app


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
    parser.add_argument("--rounds", type=int, default=9,
                        help="interleaved rounds (about 4 s each: one run of either side)")
    args = parser.parse_args()
    header("batch_throughput: visionapp process -p canny vs a single-threaded OpenCV loop")
    cores = len(os.sched_getaffinity(0))
    backend("opencv", f"OpenCV {cv2.__version__}: {cv2.getNumThreads()} threads in its pool "
                      f"(the app sets 1 when processing is not the slowest stage); FFmpeg "
                      f"decoder threads: the loop OpenCV's default (one per core), the app "
                      f"{pipeline.batch_decoder_threads()} (the cores its writer and processing "
                      f"stages leave); {cores} cores usable")
    src = shared("data/videos/slow_traffic_small.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "app.mp4", Path(tmp) / "baseline.mp4"
        times = interleaved({"app": lambda: app(src, a), "baseline": lambda: baseline(src, b)},
                            args.rounds)
        fa, fb = read_all(a), read_all(b)
        sample = list(range(0, min(len(fa), len(fb)), 50))
        identical = len(fa) == len(fb) and all(np.array_equal(fa[i], fb[i]) for i in sample)
        floor_app = cpu_profile(src, Path(tmp), cores)
    t_app, t_base = median(times["app"]), median(times["baseline"])
    ratio = t_base / t_app
    ceiling = t_base / floor_app  # the loop as measured, the app at its floor
    print(f"frames: app {len(fa)}, baseline {len(fb)}")
    print(f"baseline (single-threaded read→Canny→write): {t_base:.2f} s "
          f"({len(fb) / t_base:.0f} fps)")
    print(f"visionapp process -p canny (pipelined):     {t_app:.2f} s ({len(fa) / t_app:.0f} fps)")
    print(f"sampled frames identical ({len(sample)} frames): {identical}")
    for name, runs in times.items():
        print(f"rounds, {name}: " + " ".join(f"{t:.2f}" for t in runs) + " s")
    print(f"ceiling: the loop's median {t_base:.2f} s / the app's floor {floor_app:.2f} s = "
          f"{ceiling:.2f}x")
    ok = target("batch_throughput", ratio >= 1.3 and identical,
                f"throughput ratio app/baseline: {ratio:.2f}x (target >= 1.3; ceiling here "
                f"about {ceiling:.2f}x), outputs identical: {identical}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
