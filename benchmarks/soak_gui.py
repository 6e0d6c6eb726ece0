"""GUI soak: plays the demo in the real window (MainWindow + its worker) for N minutes.

After a warm-up it measures, up to the end of the run:
- window alive: still visible, the worker thread running, frames still arriving at the end
- reference counts of True and None at quiet points (worker paused, garbage collected) after
  warm-up and at the end: no fall (PySide6 6.12.0 lost one per emit and the window aborted
  within a minute; a guard ends the run early with FAIL if a count falls during it)
- RSS growth between those two points (target < 50 MB)
- event-loop stall p99: lateness of a 10 ms timer (target < 100 ms)
- frames shown (painted), and the shown frame rate in the first and last third of the run
  (target: the last third keeps >= 80% of the first)

    .venv/bin/python -m benchmarks.soak_gui [--minutes 10] [--source demo:] [-p canny ...]

Offscreen unless a display is set: QT_QPA_PLATFORM=offscreen, or under Xvfb with DISPLAY=:N.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from array import array

import numpy as np
import psutil

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks._common import machine, target  # noqa: E402

PROBE_MS = 10
SAMPLE_MS = 1000
SETTLE_MS = 500
GUARD_FALL = 300  # a count this far below the baseline mid-run is a leak: stop before it aborts
REFCOUNT_TOLERANCE = 10  # quiet-point noise is a few references either way
RSS_TARGET_MB = 50.0
STALL_TARGET_MS = 100.0
FPS_KEEP = 0.8


def refcounts() -> tuple[int, int]:
    return sys.getrefcount(True), sys.getrefcount(None)


class Soak:
    """Drives the run from timers on the one event loop (no nested loops, no polling)."""

    def __init__(self, app, window, minutes: float, warmup_s: float):
        from PySide6.QtCore import Qt, QTimer

        self.app, self.window = app, window
        self.duration_s, self.warmup_s = minutes * 60, warmup_s
        self.process = psutil.Process()
        self.shown = 0
        self.last_shown_at = 0.0
        self.gaps_ms = array("d")
        self.samples: list[tuple[float, int, float]] = []  # (seconds into the run, shown, RSS MB)
        self.guard_base = refcounts()  # before any frame; the quiet baseline replaces it
        self.base: tuple[int, int] | None = None
        self.end: tuple[int, int] | None = None
        self.rss_mb = (0.0, 0.0)
        self.leak: str | None = None
        self.alive_at_end = False
        self.t_start = self.t_end = 0.0
        self._last_probe = 0.0
        window.frame_shown.connect(self._on_shown)
        self.probe = QTimer()
        self.probe.setTimerType(Qt.TimerType.PreciseTimer)
        self.probe.timeout.connect(self._on_probe)
        self.sampler = QTimer()
        self.sampler.timeout.connect(self._on_sample)
        self.step = QTimer()  # one-shot phase changes
        self.step.setSingleShot(True)
        self._next = self._warmed_up
        self.step.timeout.connect(lambda: self._next())

    def _after(self, ms: float, then) -> None:
        self._next = then
        self.step.start(int(ms))

    def start(self, source: str) -> None:
        self.window.open_source(source)
        self.sampler.start(SAMPLE_MS)  # guards the warm-up too
        self._after(self.warmup_s * 1000, self._warmed_up)

    def _on_shown(self, _packet) -> None:
        self.shown += 1
        self.last_shown_at = time.perf_counter()

    def _on_probe(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last_probe) * 1000 - PROBE_MS)
        self._last_probe = now

    def _on_sample(self) -> None:
        now = time.perf_counter()
        true_now, none_now = refcounts()
        fell = (self.guard_base[0] - true_now, self.guard_base[1] - none_now)
        if max(fell) > GUARD_FALL:
            phase = "warm-up" if self.base is None else f"{now - self.t_start:.0f} s of the run"
            self.leak = (f"during {phase} True fell by {fell[0]} and None by {fell[1]}; "
                         "stopped before the interpreter aborts")
            self._finish()
        elif self.base is not None:
            self.samples.append((now - self.t_start, self.shown,
                                 self.process.memory_info().rss / 2**20))
            if now - self.t_start >= self.duration_s:
                self._finish()

    def _quiet(self) -> tuple[tuple[int, int], float]:
        gc.collect()
        return refcounts(), self.process.memory_info().rss / 2**20

    # -- phases: warm-up → pause → baseline → run → pause → final counts → close

    def _warmed_up(self) -> None:
        self.window.set_paused(True)
        self._after(SETTLE_MS, self._baseline)

    def _baseline(self) -> None:
        self.base, rss = self._quiet()
        self.guard_base, self.rss_mb = self.base, (rss, rss)
        self.shown = 0
        self.window.set_paused(False)
        self.t_start = self._last_probe = time.perf_counter()
        self.probe.start(PROBE_MS)

    def _finish(self) -> None:
        self.sampler.stop()
        self.step.stop()
        self.t_start = self.t_start or time.perf_counter()
        self.probe.stop()
        self.t_end = time.perf_counter()
        self.alive_at_end = (self.window.isVisible() and self.window.live.is_alive()
                             and self.t_end - self.last_shown_at < 5.0)
        self.window.set_paused(True)
        self._after(SETTLE_MS, self._final)

    def _final(self) -> None:
        self.end, rss = self._quiet()
        self.rss_mb = (self.rss_mb[0], rss)
        self.window.close()  # stops the worker and its source
        self.app.quit()

    # -- report

    def report(self) -> bool:
        """Print the results; True when every target is met."""
        if self.base is None:  # the guard stopped the warm-up
            target("soak_gui.refcounts", False, f"refcount LEAK {self.leak}")
            return False
        elapsed = max(self.t_end - self.t_start, 1e-9)
        fps = self.shown / elapsed
        print(f"frames shown: {self.shown} in {elapsed:.0f} s ({fps:.1f} fps); processing "
              f"{self.window.packet.fps if self.window.packet else 0:.1f} fps at the end, "
              f"source dropped {self.window.packet.dropped if self.window.packet else 0}")
        third = elapsed / 3
        first = rate(self.samples, 0, third)
        last = rate(self.samples, elapsed - third, elapsed)
        ok_fps = first > 0 and last >= FPS_KEEP * first
        target("soak_gui.fps", ok_fps, f"shown fps: first third {first:.1f}, last third "
                                       f"{last:.1f} (target last >= {FPS_KEEP:.0%} of first)")
        base, end = self.base or (0, 0), self.end or (0, 0)
        d_true, d_none = end[0] - base[0], end[1] - base[1]
        ok_refs = self.leak is None and min(d_true, d_none) >= -REFCOUNT_TOLERANCE
        target("soak_gui.refcounts", ok_refs,
               f"refcount drift: True {base[0]} → {end[0]} ({d_true:+d}), None {base[1]} → "
               f"{end[1]} ({d_none:+d}) (target: no fall beyond {REFCOUNT_TOLERANCE})"
               + (f"; LEAK {self.leak}" if self.leak else ""))
        growth = self.rss_mb[1] - self.rss_mb[0]
        peak = max((s[2] for s in self.samples), default=self.rss_mb[1])
        # RSS at the end of each third: a leak keeps climbing, allocator warm-up levels off.
        thirds = [next((r for t, _, r in reversed(self.samples) if t <= k * third), 0.0)
                  for k in (1, 2)]
        ok_rss = growth < RSS_TARGET_MB
        target("soak_gui.rss", ok_rss,
               f"RSS: {self.rss_mb[0]:.1f} MB after warm-up → {thirds[0]:.1f} → {thirds[1]:.1f} "
               f"→ {self.rss_mb[1]:.1f} MB at the end ({growth:+.1f} MB, peak {peak:.1f}) "
               f"(target < {RSS_TARGET_MB:.0f} MB)")
        gaps = np.frombuffer(self.gaps_ms, dtype=np.float64)
        p99 = float(np.percentile(gaps, 99)) if gaps.size else float("nan")
        ok_stall = gaps.size > 0 and p99 < STALL_TARGET_MS
        target("soak_gui.stall", ok_stall,
               f"event-loop stall: p99 {p99:.1f} ms, max {gaps.max() if gaps.size else 0:.1f} ms "
               f"over {gaps.size} probes of {PROBE_MS} ms (target p99 < {STALL_TARGET_MS:.0f})")
        target("soak_gui.alive", self.alive_at_end,
               "window alive at the end (visible, worker running, a frame in the last 5 s): "
               f"{self.alive_at_end}")
        ok = ok_fps and ok_refs and ok_rss and ok_stall and self.alive_at_end
        return ok


def rate(samples: list[tuple[float, int, float]], t0: float, t1: float) -> float:
    """Frames shown per second between t0 and t1 (seconds into the run), from the samples."""
    inside = [(t, n) for t, n, _ in samples if t0 <= t <= t1]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return 0.0
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured time after warm-up")
    parser.add_argument("--warmup", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--source", default="demo:", help="what to play (default: the demo)")
    parser.add_argument("-p", "--processor", action="append", metavar="NAME",
                        help="chain (repeatable; default: canny)")
    args = parser.parse_args()
    if not args.minutes > 0 or not args.warmup >= 0:
        parser.error("--minutes must be positive and --warmup not negative")
    processors = args.processor or ["canny"]
    from visionapp.core import registry

    unknown = [name for name in processors if name not in registry.names()]
    if unknown:
        parser.error(f"unknown processor {unknown[0]!r}; choose from {', '.join(registry.names())}")

    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    from visionapp.gui.window import MainWindow

    with tempfile.TemporaryDirectory(prefix="visionapp-soak-") as home:
        os.environ["VISIONAPP_CONFIG_DIR"] = os.path.join(home, "config")
        os.environ["VISIONAPP_DATA_DIR"] = os.path.join(home, "data")
        app = QApplication.instance() or QApplication(sys.argv[:1])
        print(machine())
        print(f"PySide6 {PySide6.__version__}, Qt {qVersion()}, platform "
              f"{app.platformName()}; source {args.source}, chain {', '.join(processors)}; "
              f"{args.minutes:g} min after {args.warmup:g} s warm-up", flush=True)
        window = MainWindow()
        window.resize(1280, 760)
        window.show()
        for name in processors:
            window.chain.add(name)
        soak = Soak(app, window, args.minutes, args.warmup)
        soak.start(args.source)
        app.exec()
        ok = soak.report()
        del soak, window
        gc.collect()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
