"""What every training configuration shares: checked on creation, and fields that apply only to
some choices.

A training config is a frozen dataclass whose every field is a :func:`visionapp.core.params.param`
(range, choices, help), like a processor's parameters: that one declaration makes the command
line's options (:mod:`visionapp.cli.train`) and the dialogs' forms, and
:func:`visionapp.core.params.validate` rejects a bad value for the CLI, the dialogs and the child
process alike, with the same one-line message, before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

from visionapp.core.params import validate


@dataclass(frozen=True)
class Applies:
    """Fields that matter only when ``when`` holds for the settings (an object with every field
    as an attribute); otherwise ``reason`` says why they are ignored (the dialogs disable them
    and show it). E.g. only a pretrained backbone can be fine-tuned."""

    fields: tuple[str, ...]
    when: Callable[[Any], bool]
    reason: str


class TrainingConfig:
    """Mixin for training config dataclasses: ``owner`` names the command in messages;
    ``applies`` declares the conditional fields; every field is checked on creation."""

    owner: ClassVar[str] = "train"
    applies: ClassVar[tuple[Applies, ...]] = ()

    def __post_init__(self) -> None:
        validate(self, owner=self.owner)


def inapplicable(config_cls: type, values: Mapping[str, Any]) -> dict[str, str]:
    """{field: why it is ignored} for ``values`` (every field, by name) of ``config_cls``; where
    several rules leave a field out, the first declared gives the reason."""
    view = SimpleNamespace(**values)
    out: dict[str, str] = {}
    for rule in getattr(config_cls, "applies", ()):
        if not rule.when(view):
            for name in rule.fields:
                out.setdefault(name, rule.reason)  # the first reason declared is given
    return out
