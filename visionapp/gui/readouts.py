"""The side panel's readouts: what the processors say about the frame, and how fast it all runs.

Performance is redrawn on a timer (every 250 ms), not per frame: processing fps, dropped frames,
frame age from capture to paint (median and p95 of the last 60 shown), paint time, memory, and
each enabled processor's p50 / p95 milliseconds per frame. Loading is apart: a processor still
loading says so (and for how long), and the time each load took is listed on its own — the
per-frame times never include it, because the first call runs while warming up. A still image
has no frame rate and no frame age, so none is shown for it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from visionapp.core.playback_messages import ChainSlot, Packet

STATS_INTERVAL_MS = 250
HISTORY = 300  # frames whose age and paint time are kept
RECENT = 60  # of which the readout summarises the last 60


class Readouts:
    """Owns the two labels; ``text`` (per frame) and ``stats`` (on the timer)."""

    def __init__(self, parent: QWidget, packet: Callable[[], Packet | None],
                 slots: Callable[[], Sequence[ChainSlot]]):
        self._packet = packet
        self._slots = slots
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.stats = QLabel("")
        self.stats.setTextFormat(Qt.TextFormat.PlainText)
        self.stats.setStyleSheet("font-family: monospace;")
        self.stats.setWordWrap(True)
        self.frame_ages_ms: deque[float] = deque(maxlen=HISTORY)
        self.paint_ms: deque[float] = deque(maxlen=HISTORY)
        self.timer = QTimer(parent)
        self.timer.timeout.connect(self.update_stats)
        self.timer.start(STATS_INTERVAL_MS)

    def show_results(self, packet: Packet) -> None:
        text = "\n".join(line for result in packet.results for line in result.text)
        if text != self.text.text():
            self.text.setText(text)

    def frame_painted(self, packet: Packet, painted_s: float, paint_ms: float) -> None:
        """A new frame reached the screen at ``painted_s`` (perf_counter seconds)."""
        self.frame_ages_ms.append((painted_s - packet.frame.captured_s) * 1000)
        self.paint_ms.append(paint_ms)

    def update_stats(self) -> None:
        p = self._packet()
        if p is None:
            return
        lines = []
        if p.frame.still:
            lines.append("still image: no frame rate")
        else:
            lines += [f"processing  {p.fps:5.1f} fps", f"dropped     {p.dropped}"]
            if self.frame_ages_ms:
                ages = np.asarray(self.frame_ages_ms)[-RECENT:]
                lines.append(f"frame age   {np.median(ages):5.1f} ms (p95 "
                             f"{np.percentile(ages, 95):.1f})")
        if self.paint_ms:
            lines.append(f"paint       {np.median(np.asarray(self.paint_ms)[-RECENT:]):5.2f} ms")
        lines.append(f"memory      {p.rss_mb:5.0f} MB")
        per_frame, loads = [], []
        now = time.perf_counter()
        for slot in self._slots():
            if not slot.enabled:
                continue
            name = slot.processor.name[:18]
            if slot.key in p.loading:
                per_frame.append(f"{name:18s} loading… {now - p.loading[slot.key][1]:4.0f} s")
                continue
            p50, p95 = p.timings_ms.get(slot.key, (float("nan"), float("nan")))
            if p50 == p50:  # not NaN
                per_frame.append(f"{name:18s} {p50:6.1f} / {p95:6.1f} ms")
            if slot.key in p.load_s:
                loads.append(f"{name:18s} {p.load_s[slot.key]:6.2f} s")
        if per_frame:
            lines += ["per frame           p50  /   p95", *per_frame]
        if loads:
            lines += ["load + warm-up (once)", *loads]
        self.stats.setText("\n".join(lines))
