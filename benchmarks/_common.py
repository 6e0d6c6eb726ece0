"""Helpers shared by the benchmarks: where the shared assets are, and a side-by-side timer."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VISIONAPP_SHARED_DIR", REPO.parent / "shared")).resolve()
os.environ.setdefault("VISIONAPP_MODELS_DIR", str(SHARED / "models"))


def shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        sys.exit(f"benchmark needs {path}; set VISIONAPP_SHARED_DIR to the shared folder")
    return path


def interleaved(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Time each callable ``rounds`` times, alternating between them (A B A B …) so that load
    from other processes on a shared machine hits all of them alike. Returns seconds per run."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
