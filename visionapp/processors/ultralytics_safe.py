"""Ultralytics, loaded so that no model file can run code or install packages.

Every ``.pt`` visionapp loads (detection, the export step, detector training and what it saves)
is unpickled by ``torch.load(weights_only=True)`` against Ultralytics' allow-list of its own model
classes: its safe mode (``ULTRALYTICS_SAFE_LOAD``), forced on here. A checkpoint that names any
other Python object is refused before anything in it runs; there is no fallback to a full unpickle.
Ultralytics' run-time pip installs are off too (``YOLO_AUTOINSTALL=false``), so a file can never
make it install a package. The variables are also inherited by every process Ultralytics starts.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from pathlib import Path

from visionapp import paths
from visionapp.core import weights
from visionapp.core.errors import ModelNotFound

# Set before Ultralytics is imported (it reads them once, at import) and inherited by every
# process it starts (training children, DDP workers).
SAFE_ENV = {"ULTRALYTICS_SAFE_LOAD": "1", "YOLO_AUTOINSTALL": "false"}


def import_ultralytics():
    """The ``ultralytics`` module with weights-only checkpoint loading on and pip installs off.

    Every visionapp code path that touches Ultralytics goes through here. If something imported
    Ultralytics earlier (before these variables were set), its already-read flags are set too.
    """
    os.environ.update(SAFE_ENV)
    # Keep Ultralytics' settings file in visionapp's cache, not the user's home, and its
    # start-up chatter (e.g. "Creating new Ultralytics Settings") off the console.
    os.environ.setdefault("YOLO_CONFIG_DIR", str(paths.user_cache_dir() / "ultralytics"))
    os.environ.setdefault("YOLO_VERBOSE", "false")
    import torch.serialization
    import ultralytics
    import ultralytics.nn.tasks
    import ultralytics.utils
    import ultralytics.utils.checks

    if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
        raise ModelNotFound(f"torch {torch.__version__} cannot load .pt files weights-only; "
                            "upgrade torch to 2.6 or newer")
    for module in (ultralytics.utils, ultralytics.nn.tasks):
        module.SAFE_LOAD = True
    for module in (ultralytics.utils, ultralytics.utils.checks):
        module.AUTOINSTALL = False
    logging.getLogger("ultralytics").setLevel(logging.WARNING)  # no per-model chatter on stdout
    # A plain (non-torch) pickle renamed .pt makes torch warn before refusing it; the refusal
    # is reported as one line instead.
    warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
    return ultralytics


# torch names the refused object in one of two ways: an unknown global, or one from a module it
# blocks outright (os, posix, subprocess, …).
_REFUSED_GLOBAL = re.compile(r"[Uu]nsupported (?:global: )?GLOBAL (\S+)")


def load_error(path: Path, exc: BaseException) -> ModelNotFound:
    """One line for a ``.pt`` (or export) Ultralytics would not load: refused, or damaged.

    Refused means the weights-only unpickler met a Python object outside the allow-list (torch
    names it); anything else that stops the load means the file is damaged or not a model."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    found = next((m for e in chain if (m := _REFUSED_GLOBAL.search(str(e)))), None)
    if found is not None or any(isinstance(e, ModuleNotFoundError) for e in chain):
        what = f"it names {found.group(1)}, " if found else ""
        return ModelNotFound(
            f"{path}: refused to load: {what}a Python object outside the weights-only allow-list "
            "of Ultralytics model classes (loading it could run code); use a model trained by "
            f"visionapp or an official one ({weights.how_to_get('yolo11n.pt')})")
    return ModelNotFound(f"{path} could not be loaded as a YOLO model: the file is damaged or "
                         f"not an Ultralytics model ({type(chain[-1]).__name__}); "
                         f"{weights.replace_hint(path.name)}")


def load_yolo(path: Path, task: str | None = "detect", *, shown: Path | None = None):
    """``ultralytics.YOLO(path)`` in safe mode; failures become one ModelNotFound line naming
    ``shown`` (the user's file, when ``path`` is a link to it in a work folder) or ``path``."""
    ul = import_ultralytics()
    shown = shown or path
    try:
        model = ul.YOLO(str(path), task=task)
    except Exception as exc:  # noqa: BLE001 - a damaged, foreign or refused file
        raise load_error(shown, exc) from None
    if getattr(model, "task", "detect") != "detect":
        raise ModelNotFound(f"{shown} is a YOLO {model.task} model; choose a detection model "
                            f"({weights.how_to_get('yolo11n.pt')})")
    return model


@functools.lru_cache(maxsize=8)
def check_checkpoint(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Load a ``.pt`` once (weights-only) to prove it is a detection model; its class names.

    Keyed by the file's version, so replacing the file checks it again."""
    return tuple(load_yolo(Path(path)).names.values())
