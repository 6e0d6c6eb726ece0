"""Processor parameters: dataclass fields with ranges, choices and help in their metadata.

The GUI builds its widgets from :func:`specs`, the CLI parses ``--set name.field=value`` with
:func:`parse_value`, and :func:`validate` (run from every processor's ``__post_init__``) rejects a
value out of range with a message naming the range.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from visionapp.core.errors import ParameterError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def param(
    default: Any,
    *,
    min: float | None = None,  # noqa: A002 - reads best at call sites
    max: float | None = None,  # noqa: A002
    step: float | None = None,
    choices: tuple[Any, ...] | None = None,
    kind: str | None = None,
    help: str = "",  # noqa: A002
) -> Any:
    """A dataclass field with the metadata the GUI and CLI need.

    ``kind`` refines the widget for strings: "path" (file picker), "text".
    """
    meta = {"min": min, "max": max, "step": step, "choices": choices, "kind": kind, "help": help}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: type
    default: Any
    min: float | None
    max: float | None
    step: float | None
    choices: tuple[Any, ...] | None
    kind: str | None
    help: str

    def describe(self) -> str:
        """One line for ``visionapp processors``: type, range or choices, default, help."""
        if self.choices:
            allowed = "{" + ", ".join(str(c) for c in self.choices) + "}"
        elif self.min is not None or self.max is not None:
            lo = "" if self.min is None else f"{self.min:g}"
            hi = "" if self.max is None else f"{self.max:g}"
            allowed = f"[{lo}..{hi}]"
        else:
            allowed = ""
        kind = self.kind or self.type.__name__
        text = f"{self.name}: {kind} {allowed} = {self.default!r}".replace("  ", " ")
        return f"{text}  {self.help}" if self.help else text


def specs(processor_cls: type) -> list[ParamSpec]:
    """The user-settable parameters of a processor class, in declaration order."""
    out = []
    for f in dataclasses.fields(processor_cls):
        if not f.init or f.name.startswith("_"):
            continue
        meta = f.metadata
        out.append(
            ParamSpec(
                name=f.name,
                type=type(f.default),
                default=f.default,
                min=meta.get("min"),
                max=meta.get("max"),
                step=meta.get("step"),
                choices=meta.get("choices"),
                kind=meta.get("kind"),
                help=meta.get("help", ""),
            )
        )
    return out


def parse_value(spec: ParamSpec, text: str, owner: str) -> Any:
    """Turn the text of ``--set owner.name=text`` into a value of the parameter's type."""
    where = f"{owner}.{spec.name}"
    raw = text.strip()
    try:
        if spec.type is bool:
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if spec.type is int:
            return int(raw)
        if spec.type is float:
            return float(raw)
    except ValueError:
        raise ParameterError(
            f"{where}={text!r} is not a valid {spec.type.__name__}; " + _allowed_text(spec)
        ) from None
    return raw


def _allowed_text(spec: ParamSpec) -> str:
    if spec.choices:
        return "choose one of: " + ", ".join(str(c) for c in spec.choices)
    if spec.type is bool:
        return "use true or false"
    lo = "-inf" if spec.min is None else f"{spec.min:g}"
    hi = "inf" if spec.max is None else f"{spec.max:g}"
    return f"use a {spec.type.__name__} in [{lo}, {hi}]"


def validate(processor: Any) -> None:
    """Raise ParameterError if any field of ``processor`` is of the wrong type or out of range."""
    owner = getattr(processor, "name", type(processor).__name__)
    for spec in specs(type(processor)):
        value = getattr(processor, spec.name)
        where = f"{owner}.{spec.name}"
        if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(processor, spec.name, float(value))
            value = float(value)
        if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
            raise ParameterError(
                f"{where}={value!r} has type {type(value).__name__}; " + _allowed_text(spec)
            )
        if spec.choices is not None and value not in spec.choices:
            raise ParameterError(f"{where}={value!r} is not allowed; " + _allowed_text(spec))
        if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
            raise ParameterError(f"{where}={value!r} is out of range; " + _allowed_text(spec))


class ProcessorBase:
    """Mixin for processor dataclasses: validates every field on construction."""

    def __post_init__(self) -> None:
        validate(self)
