"""What a training run reports, as typed frozen values, and their JSON-lines form.

A run (:func:`visionapp.training.classifier.train`, :func:`visionapp.training.detector.train`)
yields :data:`Event` values: a consumer matches on the type (``case Epoch(metrics=m): ...``) and
never looks inside a dict. Every event has a ``message``: the line a log shows ("" for
:class:`Batch`, which only moves a progress bar). A run ends with exactly one :class:`Finished`
or :class:`Failed`.

The child process that trains writes one event per line as ``{"type": "Epoch", ...fields}``
(:func:`to_json`); the parent reads them back with :func:`from_json`, types and all.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Log:
    """A line for the log: a choice the run made, a warning, a phase that began."""

    message: str


@dataclass(frozen=True)
class Device:
    """Where training runs. ``gpus``: the accelerators' names (empty: the CPU)."""

    description: str
    gpus: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return self.description


@dataclass(frozen=True)
class DatasetSummary:
    """The dataset as scanned: ``images`` per split; ``per_class`` images per split and class
    (empty where the run does not count them, as for detection datasets)."""

    summary: str
    class_names: tuple[str, ...]
    images: dict[str, int]
    per_class: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return f"dataset: {self.summary}"


@dataclass(frozen=True)
class ModelSummary:
    """The model as built: one (layer, type, output shape, parameters) row per layer, and per
    row the course's arithmetic with the numbers in (output-size formula, parameter formula,
    receptive field; empty where a model's layers could not be taken apart)."""

    name: str
    rows: tuple[tuple[str, str, str, int], ...]
    total_params: int
    trainable_params: int
    formulas: tuple[tuple[str, str, str], ...] = ()

    @property
    def message(self) -> str:
        return (f"model {self.name}: {self.total_params:,} parameters "
                f"({self.trainable_params:,} trainable)")


@dataclass(frozen=True)
class Batch:
    """A training step ended. ``fraction``: of the whole run, 0..1."""

    epoch: int  # 1-based, the epoch under way
    epochs: int
    fraction: float

    @property
    def message(self) -> str:
        return ""


@dataclass(frozen=True)
class Epoch:
    """An epoch ended: its ``metrics`` (losses, accuracy or mAP, by name) and the time left."""

    epoch: int  # 1-based
    epochs: int
    fraction: float
    eta_s: float
    metrics: dict[str, float]

    @property
    def message(self) -> str:
        shown = ", ".join(f"{name.split('/')[-1]} {value:.3f}"
                          for name, value in self.metrics.items() if name != "learning_rate")
        return f"epoch {self.epoch}/{self.epochs}: {shown}"


@dataclass(frozen=True)
class Mistake:
    """A held-out image the model got wrong, with its confidence in the wrong class."""

    path: str
    true_class: str
    predicted_class: str
    score: float


@dataclass(frozen=True)
class Evaluation:
    """A classifier on its held-out split. Precision, recall and F1 are of class 1 for two
    classes, macro averages for more; ``confusion`` has a row per true class and a column per
    predicted class; ``worst`` are the most confident mistakes. ``frozen_accuracy``: the
    accuracy before fine-tuning (None without fine-tuning)."""

    split: str
    accuracy: float
    precision: float
    recall: float
    f1: float
    confusion: tuple[tuple[int, ...], ...]
    class_names: tuple[str, ...]
    worst: tuple[Mistake, ...]
    images: int
    frozen_accuracy: float | None = None

    @property
    def message(self) -> str:
        return (f"held-out {self.split}: accuracy {self.accuracy:.3f}, precision "
                f"{self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f}")

    def scores(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "precision": self.precision, "recall": self.recall,
                "f1": self.f1}


@dataclass(frozen=True)
class Finished:
    """The run saved its model. ``stopped``: a stop request ended it early (the best epoch so
    far was kept). ``card_path``: the classifier's JSON card ("" for detectors)."""

    model_path: str
    message: str = ""
    card_path: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    stopped: bool = False


@dataclass(frozen=True)
class Failed:
    """The run ended without a model: one line saying what to do; ``log_path`` the child's log
    with the details, where there is one."""

    message: str
    log_path: str = ""


Event = (Log | Device | DatasetSummary | ModelSummary | Batch | Epoch | Evaluation | Finished
         | Failed)
EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in typing.get_args(Event)}


def to_json(event: Event) -> str:
    """One line: ``{"type": "<class name>", <fields>}``."""
    return json.dumps({"type": type(event).__name__, **dataclasses.asdict(event)})


def from_json(line: str) -> Event:
    """The event :func:`to_json` wrote; ValueError for a line that is not one."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("type") not in EVENT_TYPES:
        raise ValueError(f"not a training event: {line[:80]!r}")
    try:
        return _decode(EVENT_TYPES[data.pop("type")], data)
    except (TypeError, KeyError, StopIteration) as exc:
        raise ValueError(f"not a training event ({exc}): {line[:80]!r}") from None


def _decode(hint: Any, value: Any) -> Any:
    """``value`` (as JSON gave it back) as the type ``hint`` says: lists become tuples, dicts
    become the dataclasses they were."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None:
        return None
    if origin in (Union, types.UnionType):
        return _decode(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in value)
        return tuple(_decode(a, item) for a, item in zip(args, value, strict=True))
    if origin is dict:
        return {key: _decode(args[1], item) for key, item in value.items()}
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        unknown = set(value) - names
        if unknown:
            raise ValueError(f"{hint.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return hint(**{name: _decode(hints[name], item) for name, item in value.items()})
    if hint is float:
        return float(value)
    return value
