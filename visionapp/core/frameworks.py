"""Import-order guards for the deep-learning frameworks visionapp loads lazily.

- :func:`before_tensorflow`: with TensorFlow loaded first, a later import of Triton — which
  torch and Ultralytics import while predicting — crashes the process with a segmentation fault
  (their bundled LLVM libraries clash). Loading Triton first is safe both ways, costs ~0.1 s,
  and is what this does before any TensorFlow import.
- :func:`mediapipe_without_tensorflow`: MediaPipe's Tasks API imports all of TensorFlow (~6 s
  here) when it is installed, only to fetch ``doc_controls``, a decorator its API-docs generator
  reads. MediaPipe falls back to a no-op decorator when TensorFlow is absent; this gives it that
  fallback up front, so MediaPipe loads in under a second. When TensorFlow is already imported
  (a Keras classifier ran first) the real module costs nothing and is left alone.
"""

from __future__ import annotations

import importlib.util
import sys
import types

MEDIAPIPE_DOCS_MODULE = "mediapipe.tasks.python.core.optional_dependencies"


def before_tensorflow() -> None:
    if "tensorflow" in sys.modules or "triton" in sys.modules:
        return
    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


def _no_op(target: object) -> object:
    return target


def mediapipe_without_tensorflow() -> bool:
    """Give MediaPipe its no-TensorFlow ``doc_controls`` before it is imported; True when the
    stand-in is (now) in place, False when TensorFlow or MediaPipe's own module came first."""
    present = sys.modules.get(MEDIAPIPE_DOCS_MODULE)
    if present is not None:
        return bool(getattr(present, "__visionapp_stand_in__", False))
    if "tensorflow" in sys.modules:
        return False
    module = types.ModuleType(MEDIAPIPE_DOCS_MODULE, "MediaPipe's optional doc_controls, as "
                              "MediaPipe defines it when TensorFlow is not installed")
    module.doc_controls = types.SimpleNamespace(do_not_generate_docs=_no_op)  # type: ignore[attr-defined]
    module.__visionapp_stand_in__ = True  # type: ignore[attr-defined]
    sys.modules[MEDIAPIPE_DOCS_MODULE] = module
    return True
