"""Helpers shared by the benchmarks: shared assets, a side-by-side timer, and the two kinds of
lines ``benchmarks/report.py`` collects.

- Header lines start with ``== `` and say what the numbers ran on, as detected here: the CPU,
  its ISA features (from /proc/cpuinfo), the load, library versions, and — printed by each
  benchmark once it has built them — what each backend actually runs with (OpenVINO's compiled
  precision, torch's and TensorFlow's threads).
- Target lines are ``[name] what was measured (target ...) PASS`` (or ``FAIL``), printed by
  :func:`target`. Every target a benchmark checks is one such line.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from visionapp.core import hardware

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VISIONAPP_SHARED_DIR", REPO.parent / "shared")).resolve()
os.environ.setdefault("VISIONAPP_MODELS_DIR", str(SHARED / "models"))

LIBRARIES = ("numpy", "opencv-contrib-python", "torch", "ultralytics", "openvino", "nncf",
             "onnxruntime", "tensorflow", "mediapipe", "PySide6-Essentials", "rapidocr")


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


def target(name: str, ok: bool, text: str) -> bool:
    """Print one target line ``[name] text PASS|FAIL``; returns ``ok``."""
    print(f"[{name}] {text} {verdict(ok)}", flush=True)
    return ok


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of the libraries that decide the numbers (those present)."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def machine() -> str:
    """The header lines naming the hardware, load and libraries a result came from."""
    import psutil

    cpu = hardware.read_cpu()
    ram_gib = psutil.virtual_memory().total / 2**30
    libs = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    return "\n".join([
        f"== cpu: {cpu.describe()}",
        f"== isa (detected in /proc/cpuinfo): {cpu.isa_line()}",
        f"== load: 1-min average {load_average():.2f} on {cpu.logical_cpus} CPUs; "
        f"{ram_gib:.0f} GiB RAM",
        f"== python {platform.python_version()} on {platform.platform(terse=True)}; {libs}",
    ])


def header(title: str) -> None:
    """Print the benchmark's title and :func:`machine` (call first thing in ``main``)."""
    print(f"== benchmark: {title} ({time.strftime('%Y-%m-%d %H:%M:%S %Z')})")
    print(machine(), flush=True)


def backend(name: str, text: str) -> None:
    """One header line saying what a backend actually runs with."""
    print(f"== backend {name}: {text}", flush=True)


def torch_settings() -> str:
    import torch

    onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    return (f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads, "
            f"{torch.get_num_interop_threads()} inter-op (OMP_NUM_THREADS="
            f"{os.environ.get('OMP_NUM_THREADS', 'unset')}); oneDNN {'on' if onednn else 'off'}; "
            f"float32 matmul precision {torch.get_float32_matmul_precision()}")


def tensorflow_settings() -> str:
    import tensorflow as tf

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    policy = tf.keras.mixed_precision.global_policy().name
    return (f"TensorFlow {tf.__version__}: intra-op threads {intra or 'all cores (0)'}, "
            f"inter-op {inter or 'all cores (0)'}; Keras dtype policy {policy}")


def openvino_device() -> str:
    """OpenVINO's own view of the CPU and the precision it compiles to when not told."""
    import openvino as ov

    core = ov.Core()
    caps = " ".join(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    hint = core.get_property("CPU", "INFERENCE_PRECISION_HINT")
    default = getattr(hint, "type_name", hint)
    return (f"OpenVINO {ov.__version__} CPU '{core.get_property('CPU', 'FULL_DEVICE_NAME')}': "
            f"capabilities {caps}; default inference precision {default}")
