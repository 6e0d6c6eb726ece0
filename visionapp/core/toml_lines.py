"""Where each key of a TOML document is written: ``tomllib`` gives values, not line numbers.

:func:`key_lines` walks the text of a document ``tomllib`` has already accepted and maps every
key path to its 1-based line: ``("processors", 0, "params", "low") → 5``. Arrays count their
elements (``[[processors]]`` headers and inline ``[{…}, {…}]`` alike), so an error found in the
parsed data can point at the line to fix. The walk is lenient: on anything it does not follow it
stops and returns what it has, and :func:`line_of` falls back to the nearest enclosing key.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Mapping

Path = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Walker:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}  # [[header]] path (without indexes) → last index

    # -- characters
    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + n)
        self.pos += n

    def skip(self, newlines: bool) -> None:
        """Skip spaces, comments and (if ``newlines``) line breaks."""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def string(self) -> str:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            end = self.text.index(quote * 3, self.pos + 3)
            while self.text[end + 3 : end + 4] == quote:  # """a"""" ends one quote later
                end += 1
            value = self.text[self.pos + 3 : end]
            self.advance(end + 3 - self.pos)
            return value
        i = self.pos + 1
        while self.text[i] != quote:
            i += 2 if quote == '"' and self.text[i] == "\\" else 1
        value = self.text[self.pos + 1 : i]
        self.advance(i + 1 - self.pos)
        return value

    # -- structure
    def key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self.skip(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE:
                    self.pos += 1
                if self.pos == start:
                    raise ValueError("no key")
                parts.append(self.text[start : self.pos])
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def header_path(self, parts: tuple[str, ...]) -> Path:
        """A table header's path with the current index of every array of tables on the way."""
        path: Path = ()
        plain: tuple[str, ...] = ()
        for part in parts:
            plain += (part,)
            path += (part,)
            if plain in self.arrays:
                path += (self.arrays[plain],)
        return path

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line
            if self.peek(2) == "[[":
                self.advance(2)
                parts = self.key()
                self.advance(2)  # "]]"
                self.arrays[parts] = self.arrays.get(parts, -1) + 1
                table = self.header_path(parts)
                self.lines.setdefault(table[:-1], line)
                self.lines[table] = line
            elif self.peek() == "[":
                self.advance()
                table = self.header_path(self.key())
                self.advance()  # "]"
                self.lines.setdefault(table, line)
            else:
                self.pair(table)

    def pair(self, table: Path) -> None:
        path = table + self.key()
        self.lines.setdefault(path, self.line)
        self.skip(newlines=False)
        self.advance()  # "="
        self.skip(newlines=False)
        self.value(path)

    def items(self, close: str, item: Callable[[], None]) -> None:
        """From an opening bracket to its ``close``: ``item()`` for each comma-separated item
        (newlines allowed between them)."""
        self.advance()
        while True:
            self.skip(newlines=True)
            if self.peek() == close:
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            item()

    def value(self, path: Path) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            index = itertools.count()

            def element() -> None:
                at = path + (next(index),)
                self.lines.setdefault(at, self.line)
                self.value(at)

            self.items("]", element)
        elif c == "{":
            self.items("}", lambda: self.pair(path))
        else:  # a number, boolean or date: up to the next delimiter
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.pos += 1


def key_lines(text: str) -> dict[Path, int]:
    """Every key path of the TOML ``text`` → the 1-based line where it is written."""
    walker = _Walker(text)
    # Lenient: keep what was found before a part the walk does not follow.
    with contextlib.suppress(ValueError, IndexError):
        walker.document()
    return walker.lines


def line_of(lines: Mapping[Path, int], path: Path) -> int | None:
    """The line of ``path``, else of the nearest enclosing key that has one."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
