"""What the window and its playback session say to each other: typed, frozen messages.

Commands go in (``send``), events come out (``yield``) of
:meth:`visionapp.core.playback.PlaybackSession.run`; a :class:`ChainSlot` is one processor of
the chain as the window edits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visionapp.core.sources import SourceInfo
from visionapp.core.types import Frame, Processor, Result


@dataclass(frozen=True, slots=True)
class ChainSlot:
    """A processor in the window's chain; ``key`` stays the same across edits of it."""

    key: int
    processor: Processor
    enabled: bool = True


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class OpenSource:
    spec: str  # "demo:[options]", a camera index, a video, an image or a folder


@dataclass(frozen=True, slots=True)
class SetChain:
    slots: tuple[ChainSlot, ...]
    version: int  # echoed by every Packet processed with this chain


@dataclass(frozen=True, slots=True)
class Pause:
    pass


@dataclass(frozen=True, slots=True)
class Play:
    pass


@dataclass(frozen=True, slots=True)
class Step:
    """Pause, then process one more frame."""


@dataclass(frozen=True, slots=True)
class Seek:
    index: int  # frame index in a file source (clamped by the source)


@dataclass(frozen=True, slots=True)
class SetLoop:
    loop: bool  # files, folders and the demo start again at their end


@dataclass(frozen=True, slots=True)
class StartRecording:
    path: Path  # a name that does not exist yet; written at the measured frame rate


@dataclass(frozen=True, slots=True)
class StopRecording:
    pass


Command = (OpenSource | SetChain | Pause | Play | Step | Seek | SetLoop | StartRecording
           | StopRecording)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Packet:
    """One processed frame. ``annotated`` is a fresh array nobody writes to again."""

    frame: Frame
    results: tuple[Result, ...]
    keys: tuple[int, ...]  # the ChainSlot key of each result
    annotated: np.ndarray
    source: SourceInfo
    position: int  # index of this frame in its source
    dropped: int  # frames a live source delivered that nobody took
    fps: float
    timings_ms: dict[int, tuple[float, float]]  # ChainSlot key → (p50, p95)
    rss_mb: float
    recording: bool
    chain_version: int  # the newest SetChain version whose every enabled processor ran here
    # ChainSlot key → (what its load is doing, perf_counter() when it started), for each enabled
    # processor still loading (it is not in ``results``, or its previous version is).
    loading: dict[int, tuple[str, float]] = field(default_factory=dict)
    load_s: dict[int, float] = field(default_factory=dict)  # key → seconds its load took


@dataclass(frozen=True, slots=True)
class SourceOpened:
    info: SourceInfo
    spec: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the user should read; playback goes on (a source that cannot be opened, a
    camera that stopped, a truncated video)."""

    message: str


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A live source is not delivering as usual (a network stream reconnecting): show ``text``
    over the last frame; None when frames flow again."""

    text: str | None


@dataclass(frozen=True, slots=True)
class ProcessorOff:
    """The processor in slot ``key`` raised; it is off until the driver sends it enabled again
    (a new ChainSlot, as an edit or a tick makes)."""

    key: int
    message: str


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    path: Path


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    path: Path
    frames: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """A file source played to its end without looping; playback is paused."""


Event = (Packet | SourceOpened | Problem | ProcessorOff | RecordingStarted | RecordingStopped
         | Ended | SourceStatus)
