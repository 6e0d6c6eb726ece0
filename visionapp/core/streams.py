"""State a processor keeps between the frames of one stream (see ``Frame.stream_id``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from visionapp.core.types import Frame

T = TypeVar("T")


class PerStream(Generic[T]):
    """One value per stream: ``start()`` makes it afresh for the first frame of each stream (a
    new video, a seek, a loop) and for every still image, which stands on its own.

    A field of a processor (``field(default_factory=PerStream, init=False, compare=False)``),
    so a new setting — a new processor — starts afresh too. Thread-safe: the value is used
    under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stream: int | None = None
        self._value: T | None = None

    @contextmanager
    def state(self, frame: Frame, start: Callable[[], T]) -> Iterator[T]:
        with self._lock:
            if self._value is None or frame.still or frame.stream_id != self._stream:
                self._value, self._stream = start(), frame.stream_id
            yield self._value
