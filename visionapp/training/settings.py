"""Checks shared by every training configuration, run when a config is created.

A training config is a frozen dataclass whose numeric and choice fields are declared with
:func:`visionapp.core.params.param` (ranges, choices, help), like a processor's parameters, so the
CLI, the dialogs and the child process all reject the same values with the same message before any
work starts. The model name becomes a file name in the models folder, so it must be a plain name.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from visionapp.core.errors import ParameterError

MAX_NAME_CHARS = 100
_PARAM_KEYS = ("min", "max", "choices")


def check_name(name: Any, owner: str) -> None:
    """Raise ParameterError unless ``name`` is a plain file name (it is saved as NAME.suffix)."""
    fix = ("use a plain file name such as 'my_model': no folders, no leading dot, at most "
           f"{MAX_NAME_CHARS} characters")
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"{owner} name {name!r} is empty; {fix}")
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if any(sep in name for sep in separators):
        problem = "contains a folder separator"
    elif name.startswith("."):
        problem = "starts with a dot"
    elif ".." in name:
        problem = "contains '..'"
    elif name != name.strip():
        problem = "starts or ends with a space"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "contains a control character"
    elif len(name) > MAX_NAME_CHARS:
        problem = f"is longer than {MAX_NAME_CHARS} characters"
    else:
        return
    raise ParameterError(f"{owner} name {name!r} {problem}; {fix}")


def _allowed(kind: type, meta: dict) -> str:
    if meta.get("choices"):
        return "choose one of: " + ", ".join(str(c) for c in meta["choices"])
    lo = "-inf" if meta.get("min") is None else f"{meta['min']:g}"
    hi = "inf" if meta.get("max") is None else f"{meta['max']:g}"
    return f"use {'an' if kind is int else 'a'} {kind.__name__} in [{lo}, {hi}]"


def check_settings(config: Any, owner: str) -> None:
    """Raise ParameterError for the first ``param()`` field of ``config`` that is of the wrong
    type, not a finite number, out of its range or not among its choices. An int given for a
    float field is stored as a float."""
    for field in dataclasses.fields(config):
        meta = field.metadata
        if not any(meta.get(key) is not None for key in _PARAM_KEYS):
            continue
        kind = type(field.default)
        value = getattr(config, field.name)
        where = f"{owner} {field.name}={value!r}"
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
            object.__setattr__(config, field.name, value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ParameterError(f"{where} is not {'an' if kind is int else 'a'} "
                                 f"{kind.__name__}; {_allowed(kind, meta)}")
        if meta.get("choices") is not None:
            if value not in meta["choices"]:
                raise ParameterError(f"{where} is not allowed; {_allowed(kind, meta)}")
            continue
        if kind is float and not math.isfinite(value):
            raise ParameterError(f"{where} is not a finite number; {_allowed(kind, meta)}")
        low, high = meta.get("min"), meta.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ParameterError(f"{where} is out of range; {_allowed(kind, meta)}")
