"""Helpers shared by the benchmarks: where the shared assets are, and a side-by-side timer."""

from __future__ import annotations

import os
import platform
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


def machine() -> str:
    """One line naming the hardware and load a result came from (a shared 2-core VM is not a
    workstation; quote this line with the numbers)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    import psutil

    ram_gib = psutil.virtual_memory().total / 2**30
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {cpu}, {os.cpu_count()} logical CPUs, {ram_gib:.0f} GiB RAM, load "
            f"{load:.1f}; Python {platform.python_version()} on {platform.platform(terse=True)}")
