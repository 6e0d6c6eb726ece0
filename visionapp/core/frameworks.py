"""Import-order guard for running TensorFlow (pulled in by MediaPipe) and torch in one process.

With TensorFlow loaded first, a later import of Triton — which torch and Ultralytics import
while predicting — crashes the process with a segmentation fault (their bundled LLVM libraries
clash). Loading Triton first is safe both ways, costs ~0.1 s, and is what this does before any
TensorFlow import.
"""

from __future__ import annotations

import importlib.util
import sys


def before_tensorflow() -> None:
    if "tensorflow" in sys.modules or "triton" in sys.modules:
        return
    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401
