"""Which processors of a live chain may run on the next frame, while others load.

The window's playback never waits seconds for a model. Each processor new to the chain (added,
or edited into a new frozen value) is warmed up by a :class:`~visionapp.core.prepare.Loader` on a
helper thread. The frame that asked waits for it at most ``GRACE_S``, so a cheap processor or
edit (a Canny threshold) shows on that very frame; a slow one (MediaPipe, YOLO and its export)
joins a later frame, and until then the version it replaces — if any — stands in, so an overlay
does not blink off while a setting that needs a new model loads.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from visionapp.core.errors import ProcessorFailed, VisionappError
from visionapp.core.playback_messages import ChainSlot
from visionapp.core.prepare import Loader
from visionapp.core.types import Frame, Result

GRACE_S = 0.05  # how long a frame waits for a load that has just started


def describe(error: BaseException) -> str:
    """The message for a processor that failed: our own errors say the fix; anything else
    names its type."""
    cause = error.error if isinstance(error, ProcessorFailed) else error
    return str(cause) if isinstance(cause, VisionappError) else f"{type(cause).__name__}: {cause}"


class LiveChain:
    """Load state of the slots of one chain; drive it from the playback thread only."""

    def __init__(self, loader: Loader | None = None, grace_s: float = GRACE_S):
        self.loader = loader or Loader()
        self.grace_s = grace_s
        self._ready: dict[int, object] = {}  # key → the newest processor warmed up for it
        self._load_s: dict[int, float] = {}  # key → seconds its current processor took to load
        # What the last frame gave: slot keys, results, image shape (a warm-up's input).
        self._previous: tuple[tuple[int, ...], tuple[Result, ...], tuple[int, ...]] = ((), (), ())

    def forget_missing(self, chain: Sequence[ChainSlot]) -> None:
        keys = {s.key for s in chain}
        gone = [key for key in self._ready if key not in keys]
        for key in gone:
            del self._ready[key]
            self._load_s.pop(key, None)
        self.loader.forget(gone)

    def is_ready(self, slot: ChainSlot) -> bool:
        return self._ready.get(slot.key) is slot.processor

    def start(self, chain: Sequence[ChainSlot], frame: Frame) -> bool:
        """Ask for every enabled processor not warmed up yet and wait a moment for those just
        asked for; True when a load was started (call :meth:`take` next)."""
        started = []
        for slot in chain:
            if slot.enabled and not self.is_ready(slot):
                job = self.loader.request(slot.key, slot.processor,
                                          self.input_for(chain, slot, frame))
                if job is not None:
                    started.append(job)
        deadline = time.perf_counter() + self.grace_s
        for job in started:
            job.done.wait(max(0.0, deadline - time.perf_counter()))
        return bool(started)

    def input_for(self, chain: Sequence[ChainSlot], slot: ChainSlot, frame: Frame) -> Frame:
        """``frame`` as ``slot``'s processor gets it in the chain, as far as the last frame
        tells: the picture an earlier transform made, the results of the processors before."""
        keys, results, shape = self._previous
        order = {s.key: i for i, s in enumerate(chain)}
        mine = order.get(slot.key, len(order))
        before = tuple(r for k, r in zip(keys, results, strict=True)
                       if order.get(k, len(order)) < mine)
        images = [r.image for r in before if r.image is not None]
        current = frame
        if images and shape == frame.image.shape:
            current = current.with_image(images[-1])
        return current.with_context(before) if before else current

    def take(self, chain: Sequence[ChainSlot]) -> tuple[bool, list[tuple[ChainSlot, str]]]:
        """Collect finished loads: (whether a processor became ready, the enabled slots whose
        current processor failed to load, each with the message)."""
        changed = False
        failures = []
        for job in self.loader.finished():
            slot = next((s for s in chain if s.key == job.key), None)
            if slot is None:
                continue  # removed meanwhile
            current = slot.processor is job.processor
            if job.error is None:
                self._ready[job.key] = job.processor
                if current:
                    self._load_s[job.key] = job.seconds
                changed = True
            elif current and slot.enabled:
                self._ready.pop(slot.key, None)
                failures.append((slot, describe(job.error)))
        return changed, failures

    def runnable(self, chain: Sequence[ChainSlot]) -> tuple[tuple[ChainSlot, ...], bool]:
        """The enabled slots that can run now — warmed up, or the version before an edit
        standing in while the edited one loads — and whether every enabled one is current."""
        out = []
        applied = True
        for slot in chain:
            if not slot.enabled:
                continue
            ready = self._ready.get(slot.key)
            if ready is slot.processor:
                out.append(slot)
                continue
            applied = False
            if ready is not None:
                out.append(dataclasses.replace(slot, processor=ready))
        return tuple(out), applied

    def remember(self, keys: tuple[int, ...], results: tuple[Result, ...],
                 shape: tuple[int, ...]) -> None:
        self._previous = (keys, results, shape)

    def loading(self, chain: Sequence[ChainSlot]) -> dict[int, tuple[str, float]]:
        """key → (what its load does, perf_counter() when it started) for each enabled slot
        whose current processor is not ready."""
        return {slot.key: self.loader.status(slot.key) or ("loading…", time.perf_counter())
                for slot in chain if slot.enabled and not self.is_ready(slot)}

    def load_times(self) -> dict[int, float]:
        return dict(self._load_s)
