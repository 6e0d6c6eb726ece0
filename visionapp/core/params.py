"""Processor parameters: dataclass fields with ranges, choices and help in their metadata.

The GUI builds its widgets from :func:`specs`, the CLI parses ``--set name.field=value`` with
:func:`parse_value`, and :func:`validate` (run from every processor's ``__post_init__``) rejects a
value out of range — NaN and ±inf included — with a message naming the range, then checks the
class's :class:`Rule` s between parameters (Canny's low ≤ high).

Training configurations are declared the same way (a field without a default is a required
setting, such as the dataset), so one validator serves both; a ``kind="name"`` string must be a
plain file name, since it becomes one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from visionapp.core.errors import ParameterError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
MAX_NAME_CHARS = 100


def param(
    default: Any,
    *,
    min: float | None = None,  # noqa: A002 - reads best at call sites
    max: float | None = None,  # noqa: A002
    step: float | None = None,
    choices: tuple[Any, ...] | None = None,
    kind: str | None = None,
    help: str = "",  # noqa: A002
    slider: tuple[float, float] | None = None,
    scale: str = "linear",
) -> Any:
    """A dataclass field with the metadata the GUI and CLI need.

    ``kind`` refines the widget for strings: "path" (file picker), "folder" (folder picker),
    "text", "name" (a plain file name: no folders, no leading dot; checked by :func:`validate`).
    ``slider`` is the (low, high) part of [min, max] the GUI's slider covers, where values are
    usually set (a value outside it can still be typed), like Blender's soft limits; ``scale``
    "log" makes the slider geometric, fine at the low end (sizes in px, counts up to thousands).
    """
    if scale not in ("linear", "log"):
        raise ValueError(f"scale must be 'linear' or 'log', not {scale!r}")
    meta = {"min": min, "max": max, "step": step, "choices": choices, "kind": kind, "help": help,
            "slider": slider, "scale": scale}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter; ``default`` is ``dataclasses.MISSING`` for a required one."""

    name: str
    type: type
    default: Any
    min: float | None
    max: float | None
    step: float | None
    choices: tuple[Any, ...] | None
    kind: str | None
    help: str
    slider: tuple[float, float] | None = None  # the slider's (low, high); None: [min, max]
    scale: str = "linear"  # or "log": the slider moves geometrically

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
    """The user-settable parameters of a processor class (or a training config), in declaration
    order. A field without a default takes its type from its annotation."""
    out = []
    for f in dataclasses.fields(processor_cls):
        if not f.init or f.name.startswith("_"):
            continue
        meta = f.metadata
        if f.default is dataclasses.MISSING:  # required: the annotation says the type
            kind = typing.get_type_hints(processor_cls)[f.name]
        else:
            kind = type(f.default)
        out.append(
            ParamSpec(
                name=f.name,
                type=kind,
                default=f.default,
                min=meta.get("min"),
                max=meta.get("max"),
                step=meta.get("step"),
                choices=meta.get("choices"),
                kind=meta.get("kind"),
                help=meta.get("help", ""),
                slider=meta.get("slider"),
                scale=meta.get("scale", "linear"),
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
            value = float(raw)
            if not math.isfinite(value):
                raise ParameterError(f"{where}={text!r} is not a finite number; "
                                     + _allowed_text(spec), fields=(spec.name,))
            return value
    except ValueError:
        raise ParameterError(
            f"{where}={text!r} is not a valid {spec.type.__name__}; " + _allowed_text(spec),
            fields=(spec.name,),
        ) from None
    return raw


def _allowed_text(spec: ParamSpec) -> str:
    if spec.choices:
        return "choose one of: " + ", ".join(str(c) for c in spec.choices)
    if spec.type is bool:
        return "use true or false"
    if spec.type is str:
        return "use a string"
    return f"use {'an' if spec.type is int else 'a'} {spec.type.__name__} in " + _range_text(
        spec.min, spec.max)


def _range_text(lo: float | None, hi: float | None) -> str:
    return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name (it is saved as NAME.suffix), or None."""
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if not name.strip():
        return "is empty"
    if any(sep in name for sep in separators):
        return "contains a folder separator"
    if name.startswith("."):
        return "starts with a dot"
    if ".." in name:
        return "contains '..'"
    if name != name.strip():
        return "starts or ends with a space"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "contains a control character"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    return None


def field_problem(spec: ParamSpec, value: Any, owner: str) -> str | None:
    """Why ``value`` cannot be parameter ``spec`` of ``owner``, or None if it can."""
    where = f"{owner}.{spec.name}"
    if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
        return f"{where}={value!r} has type {type(value).__name__}; " + _allowed_text(spec)
    if spec.kind == "name" and (problem := name_problem(value)) is not None:
        return (f"{where}={value!r} {problem}; use a plain file name such as 'my_model': no "
                f"folders, no leading dot, at most {MAX_NAME_CHARS} characters")
    if spec.type is float and not math.isfinite(value):
        return f"{where}={value!r} is not a finite number; " + _allowed_text(spec)
    if spec.choices is not None and value not in spec.choices:
        return f"{where}={value!r} is not allowed; " + _allowed_text(spec)
    if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
        return f"{where}={value!r} is out of range; " + _allowed_text(spec)
    return None


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition between parameters of one processor, declared once on its class::

        rules: ClassVar[tuple[Rule, ...]] = (
            Rule(("low", "high"), lambda p: p.low <= p.high,
                 "{low} must not exceed {high}; lower low or raise high"),
        )

    ``holds`` gets an object with the parameters as attributes (the processor itself, or the
    values the GUI is about to apply). In ``message`` each ``{field}`` becomes
    ``owner.field=value``. ``fields`` are the parameters the GUI marks when the rule is broken.
    """

    fields: tuple[str, ...]
    holds: Callable[[Any], bool]
    message: str


def broken_rules(processor_cls: type, values: Mapping[str, Any],
                 owner: str | None = None) -> list[ParameterError]:
    """The rules of ``processor_cls`` that ``values`` (every parameter, by name) break, each as
    the ParameterError validate() would raise: one line, with ``fields`` set."""
    owner = owner or getattr(processor_cls, "name", processor_cls.__name__)
    view = SimpleNamespace(**values)
    out = []
    for rule in getattr(processor_cls, "rules", ()):
        if not rule.holds(view):
            shown = {f: f"{owner}.{f}={values[f]!r}" for f in rule.fields}
            out.append(ParameterError(rule.message.format(**shown), fields=rule.fields))
    return out


def validate(processor: Any, owner: str | None = None) -> None:
    """Raise ParameterError if any field of ``processor`` (or a training config) is of the wrong
    type, not finite, out of range, not a plain name, or if the values break one of the class's
    ``rules``. Messages name ``owner.field``; ``owner`` defaults to the processor's name."""
    owner = owner or getattr(processor, "name", type(processor).__name__)
    values = {}
    for spec in specs(type(processor)):
        value = getattr(processor, spec.name)
        if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(processor, spec.name, float(value))
            value = float(value)
        problem = field_problem(spec, value, owner)
        if problem is not None:
            raise ParameterError(problem, fields=(spec.name,))
        values[spec.name] = value
    broken = broken_rules(type(processor), values, owner)
    if broken:
        raise broken[0]


class ProcessorBase:
    """Mixin for processor dataclasses: validates every field on construction."""

    def __post_init__(self) -> None:
        validate(self)
