"""Getting a processor chain ready before its first frame: models found and loaded, or one error.

A processor may define ``prepare(self) -> None``: resolve and load what it needs now, raising a
VisionappError (ModelNotFound naming the file and the command that fetches or trains it) when it
cannot. Batch runs call :func:`prepare_chain` before the first frame, so a missing model ends the
run with one line instead of being drawn on every frame. Preparing loads models (seconds), so an
interactive caller runs it on a worker thread.

A processor that reads what an earlier one found (joint angles need body landmarks) declares
``needs: ClassVar[tuple[str, ...]]``: processors one of which must come before it in the chain.
:func:`missing_upstream` names what to add; :func:`prepare_chain` raises it as a BadInput.

The window cannot stop its video for a load, so its playback hands every new processor to a
:class:`Loader`: :func:`warm_up` runs it once on the current frame on a helper thread (the first
call is what imports frameworks, exports networks and creates native tasks of the right size and
mode), and the processor joins the chain when that is done. Until then the rest of the chain
keeps playing, and :func:`loading_note` says what the load is doing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from visionapp.core.errors import BadInput, ProcessorFailed, VisionappError
from visionapp.core.logs import native_stderr_filtered
from visionapp.core.types import Frame

log = logging.getLogger(__name__)


def missing_upstream(processors: Sequence[object]) -> str | None:
    """The first processor whose ``needs`` no earlier processor meets, as a message saying which
    processor to add before it; None when every need is met."""
    for position, processor in enumerate(processors):
        needs = tuple(getattr(processor, "needs", ()))
        if not needs:
            continue
        earlier = {getattr(p, "name", "") for p in processors[:position]}
        if earlier.isdisjoint(needs):
            name = getattr(processor, "name", type(processor).__name__)
            others = f" (or {', '.join(needs[1:])})" if len(needs) > 1 else ""
            return (f"{name} reads what {needs[0]}{others} finds: add -p {needs[0]} before "
                    f"-p {name}")
    return None


def prepare_chain(processors: Iterable[object]) -> None:
    """Check every processor's ``needs``, then call ``prepare()`` on every processor that has
    one, in chain order.

    VisionappErrors pass through unchanged; anything else is wrapped in ProcessorFailed, which
    names the processor."""
    processors = list(processors)
    problem = missing_upstream(processors)
    if problem is not None:
        raise BadInput(problem)
    for processor in processors:
        prepare = getattr(processor, "prepare", None)
        if prepare is None:
            continue
        try:
            with native_stderr_filtered():  # frameworks' start-up lines, unless -v
                prepare()
        except VisionappError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the processor's name
            raise ProcessorFailed(getattr(processor, "name", type(processor).__name__),
                                  exc) from exc


# ----------------------------------------------------------------------------- loading live


def loading_note(processor: object, frame: Frame) -> str:
    """What loading ``processor`` for ``frame`` will do, for the user: the processor's own
    ``loading_note(frame)`` when it has one ("exporting YOLO to OpenVINO — first time only"),
    else "loading…"."""
    note = getattr(processor, "loading_note", None)
    if note is not None:
        try:
            return str(note(frame))
        except Exception as exc:  # noqa: BLE001 - a note is a courtesy; the load says what failed
            log.debug("loading_note of %s failed: %s", getattr(processor, "name", "?"), exc)
    return "loading…"


def warm_up(processor: object, frame: Frame) -> None:
    """Run ``processor`` once on ``frame``, so everything its first result needs (imports,
    model files, exports, native tasks for this frame's size and running mode) is loaded.

    A processor whose load is only reading a small model file (a Haar cascade) may define
    ``warm_up(self, frame) -> None`` doing just that instead: then the load ends within the
    frame's grace period and the first result comes from the chain's own pass on that frame,
    not from a second, discarded pass.

    Not ``prepare()``: that is the batch rule "no model, no run", while in the window a
    processor may wait for a model (a classifier shows "no model yet" until one is trained).
    Anything it raises comes back as in :func:`prepare_chain`."""
    name = getattr(processor, "name", type(processor).__name__)
    run = getattr(processor, "warm_up", None) or processor
    with native_stderr_filtered():
        try:
            run(frame)  # type: ignore[operator]
        except VisionappError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the processor's name
            raise ProcessorFailed(name, exc) from exc


@dataclass
class LoadJob:
    """One processor being warmed up on its own thread for chain slot ``key``."""

    key: int
    processor: object
    note: str
    started_s: float  # clock() when asked for
    done: threading.Event = field(default_factory=threading.Event)
    seconds: float = 0.0  # how long the load took, once done
    error: VisionappError | None = None


class Loader:
    """Warms processors up on helper threads while the caller keeps playing frames.

    At most one job runs per slot key; a newer processor asked for meanwhile (a slider dragged
    through a model setting) waits for it and replaces any older one waiting, so a drag never
    starts a pile of loads. Jobs run in parallel across keys: a cheap processor of a chain is
    ready at once while a heavy one still loads.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 warm: Callable[[object, Frame], None] = warm_up):
        self._clock = clock
        self._warm = warm
        self._lock = threading.Lock()
        self._running: dict[int, LoadJob] = {}
        self._queued: dict[int, tuple[object, Frame]] = {}
        self._done: list[LoadJob] = []

    def request(self, key: int, processor: object, frame: Frame) -> LoadJob | None:
        """Load ``processor`` for slot ``key`` on ``frame`` (its input as the chain gives it);
        the job started now, or None when one is already running or queued for it."""
        with self._lock:
            job = self._running.get(key)
            if job is not None:
                if job.processor is not processor:
                    self._queued[key] = (processor, frame)
                return None
            if any(j.key == key and j.processor is processor for j in self._done):
                return None
            return self._start(key, processor, frame)

    def _start(self, key: int, processor: object, frame: Frame) -> LoadJob:
        job = LoadJob(key, processor, "loading…", self._clock())
        self._running[key] = job
        name = getattr(processor, "name", "processor")
        threading.Thread(target=self._work, args=(job, frame), name=f"load-{name}",
                         daemon=True).start()
        return job

    def _work(self, job: LoadJob, frame: Frame) -> None:
        # Here, not in _start: finding out may itself take a moment (hashing weights).
        job.note = loading_note(job.processor, frame)
        try:
            self._warm(job.processor, frame)
        except VisionappError as exc:
            job.error = exc
        except BaseException as exc:  # noqa: BLE001 - told to the caller, never lost
            job.error = ProcessorFailed(getattr(job.processor, "name", "processor"), exc)
        job.seconds = self._clock() - job.started_s
        with self._lock:
            self._running.pop(job.key, None)
            self._done.append(job)
            queued = self._queued.pop(job.key, None)
            if queued is not None:
                self._start(job.key, *queued)
        job.done.set()

    def finished(self) -> list[LoadJob]:
        """The jobs done since the last call, in the order they finished."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def running(self) -> list[LoadJob]:
        with self._lock:
            return list(self._running.values())

    def status(self, key: int) -> tuple[str, float] | None:
        """(note, started_s) of the load running for ``key``, or None."""
        with self._lock:
            job = self._running.get(key)
            return None if job is None else (job.note, job.started_s)

    def forget(self, keys: Iterable[int]) -> None:
        """Drop what is queued for ``keys`` (slots removed from the chain)."""
        with self._lock:
            for key in keys:
                self._queued.pop(key, None)
