"""Chain files: the processors of a chain and their parameters, as TOML.

The GUI saves what was tuned live; ``visionapp process --chain chain.toml`` runs it in batch::

    [[processors]]
    name = "canny"
    enabled = true
    params = { low = 60, high = 150 }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from visionapp.core import registry
from visionapp.core.errors import BadInput, VisionappError
from visionapp.core.params import specs


@dataclass
class ChainEntry:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def build(self) -> Any:
        return registry.create(self.name, self.params)


def entry_of(processor: Any, enabled: bool = True) -> ChainEntry:
    """The chain entry that rebuilds ``processor`` (only parameters that differ from defaults)."""
    defaults = {s.name: s.default for s in specs(type(processor))}
    params = {k: v for k, v in registry.params_of(processor).items() if defaults.get(k) != v}
    return ChainEntry(processor.name, params, enabled)


def load_chain(path: Path) -> list[ChainEntry]:
    """Read and validate a chain file (every processor is built once to check its params)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"chain file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"chain file {str(path)!r} is not valid TOML: {exc}") from None
    items = data.get("processors", [])
    if not isinstance(items, list):
        raise BadInput(f"chain file {str(path)!r}: 'processors' must be an array of tables")
    entries = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadInput(f"chain file {str(path)!r}: processor #{i + 1} needs a name")
        entry = ChainEntry(item["name"], dict(item.get("params", {})),
                           bool(item.get("enabled", True)))
        try:
            entry.build()
        except VisionappError as exc:
            raise BadInput(f"chain file {str(path)!r}: {exc}") from None
        entries.append(entry)
    return entries


def save_chain(path: Path, entries: list[ChainEntry]) -> None:
    data = {"processors": [{"name": e.name, "enabled": e.enabled, "params": e.params}
                           for e in entries]}
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    tmp.write_text("# visionapp processor chain\n" + tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
