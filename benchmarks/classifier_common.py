"""What the classifier benchmarks share: a header that says what they ran on (detected, never
assumed), and held-out splits of the shared photos that the benchmark, not the app, owns."""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path

from benchmarks._common import machine

ISA_FLAGS = {  # /proc/cpuinfo flag → the name printed
    "avx2": "AVX2", "avx512f": "AVX-512F", "avx512_vnni": "AVX512-VNNI",
    "avx_vnni": "AVX-VNNI", "avx512_bf16": "AVX512-BF16", "amx_tile": "AMX-TILE",
    "amx_bf16": "AMX-BF16", "amx_int8": "AMX-INT8",
}


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            line = next((ln for ln in info if ln.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.split(":", 1)[1].split()) if ":" in line else set()


def header() -> str:
    """Lines naming the CPU, its ISA features as detected, TensorFlow's threads and versions.
    Imports TensorFlow (call it where the benchmark needs TensorFlow anyway)."""
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    import cv2
    import keras
    import numpy as np
    import tensorflow as tf

    flags = cpu_flags()
    found = [name for flag, name in ISA_FLAGS.items() if flag in flags]
    missing = [name for flag, name in ISA_FLAGS.items() if flag not in flags]
    try:  # what this TensorFlow build reports, not what its version suggests
        from tensorflow.python.util import _pywrap_util_port

        onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except (ImportError, AttributeError):
        onednn = "unknown"

    def threads(n: int) -> str:
        return str(n) if n else f"{os.cpu_count()} (TF's default: one per logical CPU)"

    intra = threads(tf.config.threading.get_intra_op_parallelism_threads())
    inter = threads(tf.config.threading.get_inter_op_parallelism_threads())
    gpus = tf.config.list_physical_devices("GPU")
    return "\n".join([
        machine(),
        f"ISA detected: {', '.join(found) or 'none of interest'}; absent: "
        f"{', '.join(missing) or 'none'}",
        f"TensorFlow {tf.__version__} (Keras {keras.__version__}), oneDNN {onednn}; threads: "
        f"intra-op {intra}, inter-op {inter}; "
        f"{'GPU: ' + ', '.join(g.name for g in gpus) if gpus else 'no GPU: training on the CPU'}"
        "; float32 training",
        f"NumPy {np.__version__}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"Python {platform.python_version()}",
    ])


def photos(root: Path) -> dict[str, list[Path]]:
    """class name → sorted image files of a folder with one subfolder per class."""
    return {d.name: sorted(p for p in d.iterdir() if p.is_file())
            for d in sorted(root.iterdir()) if d.is_dir()}


def held_out_split(root: Path, out: Path, seed: int, test: float = 0.25,
                   val: float = 0.15) -> Path:
    """A stratified train/validation/test split of ``root`` as symlinks under ``out`` (the
    app's pre-split layout), drawn with ``seed``: the test part is never seen in training or
    model selection."""
    rng = random.Random(seed)
    for name, files in photos(root).items():
        files = list(files)
        rng.shuffle(files)
        n_test, n_val = round(len(files) * test), round(len(files) * val)
        parts = {"test": files[:n_test], "validation": files[n_test:n_test + n_val],
                 "train": files[n_test + n_val:]}
        for split, chosen in parts.items():
            folder = out / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for path in chosen:
                (folder / path.name).symlink_to(path)
    return out
