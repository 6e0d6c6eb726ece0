"""Progress values streamed by training runs, and their JSON-lines form (child processes)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["log", "epoch", "batch", "done", "error"]


@dataclass(frozen=True)
class Progress:
    """One event of a training run.

    ``epoch`` events carry ``metrics`` (losses, accuracy or mAP, by name); ``done`` carries the
    saved model's path in ``model_path``; ``error`` a message a person can act on.
    """

    kind: Kind
    message: str = ""
    epoch: int = 0
    epochs: int = 0
    fraction: float = 0.0  # of the whole run, 0..1
    eta_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    model_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Progress:
        return cls(**json.loads(line))
