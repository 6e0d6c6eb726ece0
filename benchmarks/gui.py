"""GUI benchmarks: startup, display path, latency with a live source, responsiveness.

- startup: process start → first processed frame painted, demo source (target ≤ 2.0 s)
- display: numpy BGR 1280×720 → QImage (conversion) and → painted (paint), medians (≤ 2 ms)
- latency: synthetic 30 fps live source, empty chain: frame age at display p95 ≤ 2 intervals;
  with a 200 ms/frame processor: frame age stays bounded over the soak (first vs last part) while
  the dropped-frame counter rises
- responsiveness: during that soak a 10 ms QTimer probe measures event-loop stalls (p99 ≤ 50 ms)

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.gui [--soak 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import ClassVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VISIONAPP_CONFIG_DIR", tempfile.mkdtemp(prefix="visionapp-bench-"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks._common import REPO, header, target  # noqa: E402
from visionapp.core.params import ProcessorBase  # noqa: E402
from visionapp.core.types import Result  # noqa: E402


@dataclass(frozen=True)
class Busy200(ProcessorBase):
    """Burns about 200 ms of CPU per frame in OpenCV calls (a stand-in for a heavy model)."""

    name: ClassVar[str] = "bench.busy200"

    def __call__(self, frame):
        t0 = time.perf_counter()
        image = frame.image
        while time.perf_counter() - t0 < 0.2:
            cv2.GaussianBlur(image, (31, 31), 0)
        return Result(self.name)


def bench_startup(runs: int) -> bool:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(REPO / "main.py"), "--source", "demo:",
                               "--exit-after-first-frame"], capture_output=True, text=True,
                              timeout=60, env=os.environ.copy())
        elapsed = time.perf_counter() - t0
        if "first frame painted" not in proc.stdout:
            print("startup run failed:", proc.stdout, proc.stderr)
            return False
        times.append(elapsed)
    median = float(np.median(times))
    target("gui.startup", median <= 2.0,
           f"startup (process start → first frame painted, demo, "
           f"{os.environ['QT_QPA_PLATFORM']}): runs {', '.join(f'{t:.2f}' for t in times)} s; "
           f"median {median:.2f} s (target <= 2.0)")
    return median <= 2.0


def bench_display(app) -> bool:
    from visionapp.gui.view import FrameView, qimage_from_bgr

    view = FrameView()
    view.resize(1280, 720)
    view.show()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (720, 1280, 3), np.uint8) for _ in range(8)]
    convert, paint = [], []
    for i in range(300):
        image = frames[i % len(frames)]
        t0 = time.perf_counter()
        qimage_from_bgr(image)
        t1 = time.perf_counter()
        view.set_frame(image)
        view.repaint()  # synchronous paint
        t2 = time.perf_counter()
        convert.append((t1 - t0) * 1000)
        paint.append((t2 - t1) * 1000)
        app.processEvents()
    c, p = float(np.median(convert[20:])), float(np.median(paint[20:]))
    target("gui.display", p <= 2.0, f"display path 1280×720: convert {c:.3f} ms, "
                                     f"convert+paint {p:.3f} ms median (target <= 2 ms)")
    view.close()
    return p <= 2.0


def bench_live(app, qtbot_wait, soak_s: float) -> bool:
    from PySide6.QtCore import QTimer

    from visionapp.gui.window import MainWindow

    window = MainWindow()
    window.resize(1280, 760)
    window.show()
    window.open_source("demo:fps=30")
    qtbot_wait(3.0)
    window.readouts.frame_ages_ms.clear()
    qtbot_wait(6.0)
    ages = np.asarray(window.readouts.frame_ages_ms)
    p95 = float(np.percentile(ages, 95))
    ok_empty = p95 <= 2 * 1000 / 30
    target("gui.latency", ok_empty,
           f"latency, empty chain, 30 fps live: frame age median {np.median(ages):.1f} ms, "
           f"p95 {p95:.1f} ms over {len(ages)} frames (target <= 66.7)")

    window.chain.add_processor(Busy200())
    qtbot_wait(3.0)
    ages_log: list[tuple[float, float]] = []

    def log_age(_packet) -> None:
        ages_log.append((time.perf_counter(), window.readouts.frame_ages_ms[-1]))

    window.frame_shown.connect(log_age)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def probe() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - 10)
        last[0] = now

    timer = QTimer(window)
    timer.timeout.connect(probe)
    timer.start(10)
    dropped_before = window.packet.dropped
    t_start = time.perf_counter()
    qtbot_wait(soak_s)
    timer.stop()
    dropped_after = window.packet.dropped
    third = soak_s / 3
    first = [a for t, a in ages_log if t - t_start < third]
    last_part = [a for t, a in ages_log if t - t_start > 2 * third]
    f95, l95 = float(np.percentile(first, 95)), float(np.percentile(last_part, 95))
    bounded = l95 <= max(f95 * 1.5, f95 + 100) and l95 < 1000
    target("gui.latency_slow_chain", bounded and dropped_after > dropped_before,
           f"latency, 200 ms/frame processor, {soak_s:.0f} s: frame age p95 first third "
           f"{f95:.0f} ms, last third {l95:.0f} ms; processing {window.packet.fps:.1f} fps; "
           f"dropped {dropped_before} → {dropped_after}")
    stall99 = float(np.percentile(gaps, 99))
    target("gui.responsiveness", stall99 <= 50,
           f"responsiveness: event-loop stall p99 {stall99:.1f} ms, max {max(gaps):.1f} ms over "
           f"{len(gaps)} probes (target p99 <= 50)")
    window.frame_shown.disconnect(log_age)
    window.close()  # stops the worker thread and closes the source
    if window.live.is_alive():
        target("gui.worker_stops", False, "the worker thread did not stop when the window closed")
        return False
    window.deleteLater()
    qtbot_wait(0.2)
    return ok_empty and bounded and dropped_after > dropped_before and stall99 <= 50


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak", type=float, default=60.0, help="seconds with the slow chain")
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()
    header("gui: startup, display path, latency, responsiveness")
    ok = bench_startup(args.startup_runs)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])

    def wait(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    ok &= bench_display(app)
    ok &= bench_live(app, wait, args.soak)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
