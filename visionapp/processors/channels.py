"""``channels``: a colour image is three numbers per pixel; see each one on its own.

The notes' ``cv2.split(frame)`` (B, G, R) and ``cv2.split(cv2.cvtColor(frame, code))`` (H, S, V;
L, a, b; Y, Cr, Cb) made visible: the three channels and the frame in a 2×2 grid, each channel
in false colour (shown with the other two held neutral, so H shows as hues, a as green ↔ red)
or as grey levels, with its histogram along the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Frame, Result

# space: (cv2 code from BGR or None, code back to BGR, channel names, value range per channel)
SPACES: dict[str, tuple[int | None, int | None, tuple[str, str, str], tuple[int, int, int]]] = {
    "BGR": (None, None, ("B", "G", "R"), (256, 256, 256)),
    "HSV": (cv2.COLOR_BGR2HSV, cv2.COLOR_HSV2BGR, ("H", "S", "V"), (180, 256, 256)),
    "Lab": (cv2.COLOR_BGR2Lab, cv2.COLOR_Lab2BGR, ("L", "a", "b"), (256, 256, 256)),
    "YCrCb": (cv2.COLOR_BGR2YCrCb, cv2.COLOR_YCrCb2BGR, ("Y", "Cr", "Cb"), (256, 256, 256)),
}
# False colour: per channel, the values the other two channels are held at (None: this one).
NEUTRAL: dict[str, tuple[tuple[int | None, ...], ...]] = {
    "BGR": ((None, 0, 0), (0, None, 0), (0, 0, None)),
    "HSV": ((None, 255, 255), (0, None, 255), (0, 0, None)),  # hues; white → red; grey
    # Lab: grey; green ↔ red; blue ↔ yellow
    "Lab": ((None, 128, 128), (160, None, 128), (160, 128, None)),
    "YCrCb": ((None, 128, 128), (128, None, 128), (128, 128, None)),
}
BINS = 64  # histogram bars drawn; the record gets them summed to RECORD_BINS
RECORD_BINS = 16


def false_colour(plane: np.ndarray, space: str, index: int) -> np.ndarray:
    """BGR image of channel ``index`` of ``space`` with the other two channels held neutral."""
    parts = [plane if v is None else np.full_like(plane, v) for v in NEUTRAL[space][index]]
    merged = cv2.merge(parts)
    back = SPACES[space][1]
    return merged if back is None else cv2.cvtColor(merged, back)


def histogram(plane: np.ndarray, value_range: int, bins: int = BINS) -> np.ndarray:
    """Share of pixels in each of ``bins`` equal bins of [0, value_range) (sums to 1)."""
    counts = cv2.calcHist([plane], [0], None, [bins], [0, value_range]).ravel()
    total = counts.sum()
    return counts / total if total else counts


def with_histogram(panel: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``panel`` with its bottom quarter dimmed and the histogram rising from the bottom edge as
    light bars (pixels computed from the numbers; nothing is drawn with shapes)."""
    h, w = panel.shape[:2]
    strip_h = max(8, h // 4)
    if h < strip_h:
        return panel
    out = panel.copy()
    strip = out[h - strip_h :]
    strip[:] = (strip * 0.35).astype(np.uint8)
    # Each column shows the bins under it (summed when the panel is narrower than the bins).
    columns = np.add.reduceat(shares, np.arange(w) * len(shares) // w)
    peak = columns.max()
    heights = np.zeros(w) if peak <= 0 else columns / peak * (strip_h - 1)
    tops = strip_h - np.round(heights).astype(int)
    bars = np.arange(strip_h)[:, None] >= tops[None, :]
    strip[bars] = 220
    return out


@dataclass(frozen=True)
class Channels(ProcessorBase):
    """The frame split into its three channels in a colour space, each with its histogram."""

    name: ClassVar[str] = "channels"
    space: str = param("BGR", choices=tuple(SPACES), help="colour space to split into")
    colour: str = param("false_colour", choices=("false_colour", "gray"),
                        help="false_colour: each channel with the other two held neutral")
    histogram: bool = param(True, help="each channel's histogram along its bottom")
    display: str = param("replace", choices=("replace", "blend", "side_by_side"),
                         help="how the 2×2 grid is shown")

    def __call__(self, frame: Frame) -> Result:
        to_space, _, names, ranges = SPACES[self.space]
        image = frame.image
        converted = image if to_space is None else cv2.cvtColor(image, to_space)
        planes = cv2.split(converted)
        shares = [histogram(p, r) for p, r in zip(planes, ranges, strict=True)]
        mean, std = (v.ravel() for v in cv2.meanStdDev(converted))
        w, h = frame.resolution_wh
        pw, ph = max(1, w // 2), max(1, h // 2)
        small = cv2.resize(converted, (pw, ph), interpolation=cv2.INTER_AREA)
        panels = []
        for i, plane in enumerate(cv2.split(small)):
            panel = (false_colour(plane, self.space, i) if self.colour == "false_colour"
                     else cv2.cvtColor(plane, cv2.COLOR_GRAY2BGR))
            panels.append(with_histogram(panel, shares[i]) if self.histogram else panel)
        panels.append(cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA))
        overlay = np.zeros((h, w, 3), np.uint8)
        for i, panel in enumerate(panels):
            y, x = divmod(i, 2)
            overlay[y * ph : (y + 1) * ph, x * pw : (x + 1) * pw] = panel
        call = ("cv2.split(frame)" if to_space is None
                else f"cv2.split(cv2.cvtColor(frame, cv2.COLOR_BGR2{self.space}))")
        text = (f"channels: {call}",
                "  ".join(f"{n} mean {m:.0f} sd {s:.0f}"
                          for n, m, s in zip(names, mean, std, strict=True)))
        group = BINS // RECORD_BINS
        values = {"space": self.space, "channels": list(names),
                  "mean": [round(float(m), 3) for m in mean],
                  "std": [round(float(s), 3) for s in std],
                  "histograms": [[round(float(v), 5) for v in s.reshape(-1, group).sum(axis=1)]
                                 for s in shares]}
        return Result(self.name, overlay=overlay, overlay_mode=self.display, text=text,
                      values=values)
