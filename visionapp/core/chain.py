"""Chain files: the processors of a chain and their parameters, as TOML.

The GUI saves what was tuned live; ``visionapp process --chain chain.toml`` runs it in batch::

    title = "Edges"                       # optional: the name a preset button shows
    description = "Canny thresholds tuned for the hallway camera"   # optional: one line

    [[processors]]
    name = "canny"
    enabled = true
    params = { low = 60, high = 150 }

A chain is checked against :data:`SCHEMA` (the keys each table may have and their types) and
every processor is built once, so a wrong type, an unknown key, ``enabled = "no"`` or a value out
of range is one error naming the key and its line in the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from visionapp.core import registry
from visionapp.core.errors import BadInput, ParameterError, VisionappError
from visionapp.core.params import specs
from visionapp.core.toml_lines import key_lines, line_of

# Each table of a chain file: key → (TOML type, how to write it, whether it is required).
SCHEMA: dict[str, dict[str, tuple[type, str, bool]]] = {
    "file": {
        "title": (str, 'a string such as "Faces"', False),
        "description": (str, "a string: one line saying what the chain shows", False),
        "processors": (list, "an array of [[processors]] tables", False),
    },
    "processor": {
        "name": (str, 'a string such as "canny"', True),
        "enabled": (bool, "true or false", False),
        "params": (dict, "a table such as params = { low = 60 }", False),
    },
}
_TOML_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
               list: "an array", dict: "a table"}


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


def _toml_type(value: Any) -> str:
    return next((text for kind, text in _TOML_TYPES.items() if type(value) is kind),
                type(value).__name__)


class _Checker:
    """Raises BadInput with "<origin> line N: …" for the first problem in a parsed chain."""

    def __init__(self, text: str, origin: str):
        self.origin = origin
        self.text = text
        self._lines: dict | None = None

    def fail(self, path: tuple, message: str) -> BadInput:
        if self._lines is None:
            self._lines = key_lines(self.text)
        line = line_of(self._lines, path)
        where = f"{self.origin} line {line}" if line else self.origin
        return BadInput(f"{where}: {message}")

    def table(self, data: dict, schema: str, path: tuple, what: str) -> None:
        allowed = SCHEMA[schema]
        for key, value in data.items():
            if key not in allowed:
                raise self.fail(path + (key,), f"{what}unknown key {key!r}; allowed: "
                                + ", ".join(allowed))
            kind, shape, _ = allowed[key]
            if type(value) is not kind:
                raise self.fail(path + (key,), f"{what}{key} must be {shape}, not "
                                f"{_toml_type(value)} ({value!r})")
        for key, (_, shape, required) in allowed.items():
            if required and key not in data:
                raise self.fail(path, f"{what}{key} is missing; give {shape}")


def loads(text: str, origin: str = "chain") -> list[ChainEntry]:
    """Parse and validate the TOML ``text`` of a chain; ``origin`` (a file name) starts every
    error message. Every processor is built once to check its parameters."""
    check = _Checker(text, origin)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{origin} is not valid TOML: {exc}") from None
    check.table(data, "file", (), "")
    entries = []
    for i, item in enumerate(data.get("processors", [])):
        path = ("processors", i)
        if not isinstance(item, dict):
            raise check.fail(path, f"processor {i + 1} must be a table with a name, not "
                             f"{_toml_type(item)}")
        named = f" ({item['name']})" if isinstance(item.get("name"), str) else ""
        check.table(item, "processor", path, f"processor {i + 1}{named}: ")
        entry = ChainEntry(item["name"], dict(item.get("params", {})), item.get("enabled", True))
        try:
            entry.build()
        except ParameterError as exc:
            key = path + ("params", exc.fields[0]) if exc.fields else path + ("params",)
            raise check.fail(key, str(exc)) from None
        except VisionappError as exc:
            raise check.fail(path + ("name",), str(exc)) from None
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class ChainInfo:
    """What a chain file says about itself: its ``title`` (else the file's name) and its
    one-line ``description`` (else empty)."""

    path: Path
    title: str
    description: str


def chain_info(path: Path) -> ChainInfo:
    """The title and description of the chain file at ``path``, read without building its
    processors (fast enough for a list of presets); BadInput as :func:`load_chain`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"chain file {str(path)!r} cannot be read: {exc}") from None
    check = _Checker("", f"chain file {str(path)!r}")
    header = {k: v for k, v in data.items() if k in ("title", "description")}
    check.table(header, "file", (), "")
    fallback = path.stem.replace("_", " ").capitalize()
    return ChainInfo(path, header.get("title", fallback).strip() or fallback,
                     " ".join(header.get("description", "").split()))


def dumps(entries: list[ChainEntry], title: str = "", description: str = "") -> str:
    """The TOML text of a chain (what :func:`loads` reads back), with its title and
    description when given."""
    data: dict[str, Any] = {k: v for k, v in (("title", title), ("description", description))
                            if v}
    data["processors"] = [{"name": e.name, "enabled": e.enabled, "params": e.params}
                          for e in entries]
    return "# visionapp processor chain\n" + tomli_w.dumps(data)


def load_chain(path: Path) -> list[ChainEntry]:
    """Read and validate a chain file; any problem is a BadInput naming the file (and line)."""
    path = Path(path)
    name = repr(str(path))
    if path.is_dir():
        raise BadInput(f"chain file {name} is a folder; give a .toml file saved by the window "
                       "(File > Save chain…)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"chain file {name} does not exist") from None
    except UnicodeDecodeError:
        raise BadInput(f"chain file {name} is not a text file; give a TOML chain file") from None
    except OSError as exc:
        raise BadInput(f"chain file {name} cannot be read ({exc.strerror or exc}); check its "
                       "permissions") from None
    return loads(text, origin=f"chain file {name}")


def save_chain(path: Path, entries: list[ChainEntry]) -> None:
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    tmp.write_text(dumps(entries), encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------- building


def parse_set(items: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """``["canny.low=60"]`` → ``{"canny": [("low", "60")]}``; the processor part may itself
    contain dots (``haar.faces.min_size=40``): the last dot before "=" splits it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        name, dot, field_name = key.strip().rpartition(".")
        if not eq or not dot or not name or not field_name:
            raise ParameterError(f"--set {item!r}: use --set PROCESSOR.PARAM=VALUE, "
                                 "e.g. --set canny.low=60")
        out.setdefault(name, []).append((field_name, value))
    return out


def chain_entries(names: Sequence[str], settings: Sequence[str],
                  chain_file: Path | None) -> list[ChainEntry]:
    """The enabled entries of ``chain_file`` (if any), then one per processor name, with the
    ``--set`` ``settings`` parsed into their parameters. Every entry is checked: an unknown
    processor or parameter, a bad value or a setting for a processor not in the chain is an
    error here."""
    entries: list[ChainEntry] = []
    if chain_file is not None:
        entries.extend(e for e in load_chain(chain_file) if e.enabled)
    entries.extend(ChainEntry(name) for name in names)
    overrides = parse_set(settings)
    in_chain = {e.name for e in entries}
    for name in overrides:
        if name not in in_chain:
            registry.load(name)  # an unknown name gets the list of valid ones
            raise ParameterError(f"--set {name}.…: {name!r} is not in the chain; add it with "
                                 f"-p {name}")
    out = []
    for entry in entries:
        params = dict(entry.params)
        params.update(registry.parse_settings(entry.name, overrides.get(entry.name, [])))
        out.append(ChainEntry(entry.name, params))
        out[-1].build()  # the parameters are checked now
    return out


def build_chain(names: Sequence[str], settings: Sequence[str], chain_file: Path | None) -> tuple:
    """The processors of :func:`chain_entries`."""
    return tuple(entry.build() for entry in chain_entries(names, settings, chain_file))
