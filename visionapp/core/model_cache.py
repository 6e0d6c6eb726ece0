"""One cache for everything loaded from a model file: networks, MediaPipe tasks, Haar cascades,
template pictures.

An entry is keyed by ``(kind, resolved path, mtime_ns, options)``: changing a threshold never
reloads a model, saving a new version of the file (retraining to the same name, re-saving a
template) loads it again, and the old version is closed at once. Beyond ``max_entries`` of one
kind, the least recently used entry of that kind is closed (so many template pictures never
push out a network); :meth:`ModelCache.close` closes them all (at exit for :data:`MODELS`).
``close`` is the hook a loader gives for what must be released explicitly (MediaPipe's native
tasks), never left to the garbage collector.

Per frame the lookup touches no file system: resolving a name (searching the model folders) and
reading a file's mtime are remembered for ``recheck_s`` seconds, keyed by the name and the
settings that choose the model folders, so a new file version is seen within that time.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from visionapp import paths

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ENTRIES = 8  # per kind
RECHECK_S = 1.0


class ModelKey(NamedTuple):
    kind: str  # what the loader makes: "yolo", "mediapipe", "keras.classifier", …
    path: str  # resolved, absolute
    mtime_ns: int
    options: Hashable  # whatever else the loaded object depends on (backend, input shape, …)


class _Entry:
    def __init__(self, close: Callable[[Any], None] | None) -> None:
        self.lock = threading.Lock()  # held while loading, so a model is never loaded twice
        self.loaded = False
        self.value: Any = None
        self.close = close

    def release(self) -> None:
        if self.loaded and self.close is not None:
            try:
                self.close(self.value)
            except Exception as exc:  # noqa: BLE001 - closing must not stop the others closing
                log.warning("closing a cached model failed: %s", exc)
        self.loaded, self.value = False, None


def _folder_settings() -> tuple:
    """What decides the folders models are searched in (:func:`visionapp.paths.model_search_dirs`)
    besides the file system itself, read on every lookup (a few microseconds). The XDG
    folders behind the user folders are taken to stay put while the program runs."""
    env = os.environ
    return (paths.PROJECT_MODELS_DIR, env.get(paths.MODELS_DIR_ENV),
            env.get(paths.CACHE_DIR_ENV), env.get(paths.DATA_DIR_ENV), env.get("VISIONAPP_OFFLINE"))


class ModelCache:
    """Loaded models by :class:`ModelKey`; per kind, the least recently used is closed first."""

    def __init__(self, max_entries: int = MAX_ENTRIES, recheck_s: float = RECHECK_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.recheck_s = recheck_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[ModelKey, _Entry] = OrderedDict()
        self._remembered: dict[tuple, tuple[float, Any]] = {}  # lookups, with when they ran
        self.loads: Counter[str] = Counter()  # per kind: how many times a file was loaded
        self.hits: Counter[str] = Counter()  # per kind: how many lookups found it loaded

    # ------------------------------------------------------------------ lookups on disk

    def _remember(self, key: tuple, look: Callable[[], Any]) -> Any:
        """``look()``, reused for ``recheck_s`` seconds. Failures are not remembered: a missing
        file is looked for again on the next call."""
        now = self._clock()
        found = self._remembered.get(key)  # one dict read: atomic, no lock needed
        if found is not None and now - found[0] < self.recheck_s:
            return found[1]
        value = look()
        with self._lock:
            if len(self._remembered) > 256:
                self._remembered.clear()
            self._remembered[key] = (now, value)
        return value

    def resolve(self, kind: str, name: str, resolver: Callable[[str], T]) -> T:
        """``resolver(name)`` (a path, or None for "not found"), remembered per kind, name and
        the settings that choose the model folders; each kind always uses the same resolver."""
        return self._remember(("resolve", kind, name, _folder_settings()),
                              lambda: resolver(name))

    def mtime_ns(self, path: Path) -> int:
        return self._remember(("mtime", str(path)), lambda: Path(path).stat().st_mtime_ns)

    # ------------------------------------------------------------------ loading

    def load(self, kind: str, path: Path, options: Hashable, loader: Callable[[Path], T], *,
             close: Callable[[T], None] | None = None, mtime_ns: int | None = None) -> T:
        """The object ``loader(path)`` made for this version of ``path`` and ``options``,
        loaded on first use. ``close(obj)`` runs when it is evicted, replaced by a newer
        version of the file, or the cache is closed."""
        stamp = self.mtime_ns(path) if mtime_ns is None else mtime_ns
        key = ModelKey(kind, str(path), stamp, options)
        entry = self._entries.get(key)
        if entry is not None and entry.loaded:  # the per-frame path: loaded long ago
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            self.hits[kind] += 1
            return entry.value
        stale: list[_Entry] = []
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(close)
                # An older version of the same file with the same options is replaced.
                for other in [k for k in self._entries if k.kind == kind and k.path == key.path
                              and k.options == options]:
                    stale.append(self._entries.pop(other))
                self._entries[key] = entry
            self._entries.move_to_end(key)
        for old in stale:
            with old.lock:
                old.release()
        with entry.lock:
            if entry.loaded:
                self.hits[kind] += 1
                return entry.value
            try:
                entry.value, entry.loaded = loader(path), True
            except BaseException:
                with self._lock:
                    if self._entries.get(key) is entry:
                        del self._entries[key]
                raise
            self.loads[kind] += 1
        self._evict(kind)
        return entry.value

    def get(self, kind: str, name: str, options: Hashable, loader: Callable[[Path], T], *,
            resolver: Callable[[str], Path], close: Callable[[T], None] | None = None) -> T:
        """:meth:`load` of ``resolver(name)`` (resolution remembered, see :meth:`resolve`)."""
        return self.load(kind, self.resolve(kind, name, resolver), options, loader, close=close)

    def _evict(self, kind: str) -> None:
        with self._lock:
            same = [k for k in self._entries if k.kind == kind]  # least recently used first
            victims = [self._entries.pop(k) for k in same[:max(0, len(same) - self.max_entries)]]
        for entry in victims:
            with entry.lock:
                entry.release()

    # ------------------------------------------------------------------ inspection, closing

    def entries(self, kind: str | None = None) -> list[ModelKey]:
        """The loaded entries (of one kind), least recently used first."""
        with self._lock:
            return [k for k, e in self._entries.items()
                    if e.loaded and (kind is None or k.kind == kind)]

    def value(self, key: ModelKey) -> Any:
        with self._lock:
            return self._entries[key].value

    def discard(self, kind: str | None = None) -> None:
        """Close and forget the entries of ``kind`` (None: all) and every remembered lookup, so
        the next use loads from disk."""
        with self._lock:
            keys = [k for k in self._entries if kind is None or k.kind == kind]
            gone = [self._entries.pop(k) for k in keys]
            self._remembered.clear()
        for entry in gone:
            with entry.lock:
                entry.release()

    def close(self) -> None:
        """Close every entry (their ``close`` hooks run); the cache stays usable."""
        self.discard(None)


MODELS = ModelCache()
atexit.register(MODELS.close)
