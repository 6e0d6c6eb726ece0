"""Rolling timing statistics (p50/p95 over the last N samples) for overlays and benchmarks."""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np


class RollingStats:
    """Per-key rolling windows of millisecond samples."""

    def __init__(self, window: int = 120):
        self._samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))

    def add(self, key: str, value_ms: float) -> None:
        self._samples[key].append(value_ms)

    def percentiles(self, key: str) -> tuple[float, float]:
        """(p50, p95) in ms, or (nan, nan) with no samples."""
        data = self._samples.get(key)
        if not data:
            return float("nan"), float("nan")
        p50, p95 = np.percentile(np.fromiter(data, float), [50, 95])
        return float(p50), float(p95)
