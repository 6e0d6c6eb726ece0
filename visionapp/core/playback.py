"""Playback: what the window does with a source and a chain, without Qt.

A :class:`PlaybackSession` opens sources, plays files at their own frame rate, pauses, steps,
seeks and loops, runs the chain again on the held frame when the chain changes while paused or
on a still, hands every processed frame to a recorder, and measures fps and per-processor times.

A processor new to the chain (added, or edited) is first warmed up on a helper thread
(:class:`~visionapp.core.live_chain.LiveChain`); playback goes on without it meanwhile — with the
version it replaces, if any — and every Packet says what is loading. The time a load took is
reported apart from the per-frame times, which therefore never include it.

:meth:`PlaybackSession.run` is a generator in the shape of superqt's ``GeneratorWorker`` target:
the driver ``send``s typed commands and gets typed events back (the frozen dataclasses of
:mod:`visionapp.core.playback_messages`).
Frames go through :func:`visionapp.core.pipeline.run` — the generator the batch path drives —
and a chain edit reaches it as ``send(new_processors)`` before the next frame.

The driver's side of the protocol: send a command, or None to let playback go on. The answer is
an event, a :class:`Packet`, or None. None in answer to None means "nothing to do now" (paused,
no source, the next file frame not yet due): wait for a command for a moment, then send None
again. ``run(wait=...)`` takes the driver's sleep, which may return True early when a command
arrives, so pacing never delays a command.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator

import psutil

from visionapp.core import pipeline
from visionapp.core.annotate import Annotator
from visionapp.core.errors import ProcessorFailed, VisionappError
from visionapp.core.live_chain import LiveChain, describe
from visionapp.core.playback_messages import (
    ChainSlot,
    Command,
    Ended,
    Event,
    OpenSource,
    Packet,
    Pause,
    Play,
    Problem,
    ProcessorOff,
    RecordingStarted,
    RecordingStopped,
    Seek,
    SetChain,
    SetLoop,
    SourceOpened,
    SourceStatus,
    StartRecording,
    Step,
    StopRecording,
)
from visionapp.core.recorder import Recorder
from visionapp.core.sources import Source, SourceInfo, open_source
from visionapp.core.stats import RollingStats
from visionapp.core.types import Frame, Result

log = logging.getLogger(__name__)

FPS_WINDOW_S = 2.0  # processing fps is counted over the frames of the last 2 s
STATS_WINDOW = 120  # per-processor p50/p95 over the last 120 frames
MAX_PACING_WAIT_S = 1.0
GRACE_S = 0.05  # how long a frame waits for a load that has just started
LIVE_WAIT_S = 0.1  # how long one pass waits for a stalled live source before answering None
LOOPING_KINDS = frozenset({"video", "folder", "demo"})


_open_live = functools.partial(open_source, realtime=True)


class PlaybackSession:
    """One window's playback; drive :meth:`run` from a single thread."""

    def __init__(self, *, opener: Callable[[str], Source] = _open_live,
                 clock: Callable[[], float] = time.perf_counter, live: LiveChain | None = None):
        self._opener = opener
        self._live = live or LiveChain()  # which processors are loaded and may run
        self._applied_version = 0  # the newest chain version whose every processor runs
        self._clock = clock
        self._wait: Callable[[float], bool | None] = time.sleep
        self._source: Source | None = None
        self._next_index = 0  # what the source reads next (for the truncated-video check)
        self._chain: tuple[ChainSlot, ...] = ()
        self._chain_version = 0
        self._failed: dict[int, ChainSlot] = {}  # key → the slot that raised
        self._paused = False
        self._loop = True
        self._steps = 0
        self._reprocess = False
        self._held: Frame | None = None  # the last frame read: run again after a paused edit
        self._status: str | None = None  # the source's status the driver was last told
        self._last_ts = -1
        self._ts_offset = 0
        self._next_due = 0.0
        self._recorder: Recorder | None = None
        self._stats = RollingStats(window=STATS_WINDOW)
        self._frame_times: deque[float] = deque()
        self._outbox: deque[Event] = deque()
        self._annotate = Annotator()
        self._process_info = psutil.Process()
        # pipeline.run and what it holds: the slots of its current processors, the frame fed
        # to it next, the positions that failed on the frame in hand.
        self._pipe: Generator[tuple[Frame, tuple[Result, ...]], tuple | None, None] | None = None
        self._running: tuple[ChainSlot, ...] = ()
        self._feed: Frame | None = None
        self._failed_now: list[int] = []
        self._handlers: dict[type, Callable] = {
            OpenSource: self._open, SetChain: self._set_chain, Pause: self._pause,
            Play: self._play, Step: self._step, Seek: self._seek, SetLoop: self._set_loop,
            StartRecording: self._start_recording, StopRecording: self._stop_recording,
        }

    def run(self, wait: Callable[[float], bool | None] = time.sleep,
            ) -> Generator[Event | None, Command | None, None]:
        """Yield events and packets; see the module docstring for the protocol. Closing the
        generator stops a recording (the file is kept) and closes the source."""
        self._wait = wait
        try:
            command: Command | None = None
            while True:
                if command is not None:
                    handler = self._handlers.get(type(command))
                    if handler is None:
                        raise TypeError(f"not a playback command: {command!r}")
                    handler(command)
                elif not self._outbox:
                    self._advance()
                command = yield self._outbox.popleft() if self._outbox else None
        finally:
            self.close()

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self._close_source()
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None

    # ---------------------------------------------------------------- commands

    def _open(self, command: OpenSource) -> None:
        try:
            source = self._opener(command.spec)
        except (VisionappError, OSError) as exc:
            self._outbox.append(Problem(str(exc)))
            return
        self._close_source()
        self._source, self._held, self._next_index = source, None, 0
        # Timestamps stay strictly increasing across sources (video-mode trackers need it).
        self._ts_offset = self._last_ts + 1
        self._paused, self._steps = False, 0
        self._next_due = self._clock()  # play from now on, not in a burst to catch up
        self._frame_times.clear()
        self._outbox.append(SourceOpened(source.info, command.spec))

    def _set_chain(self, command: SetChain) -> None:
        # A slot that raised stays off when an edit sent before the driver heard of it arrives;
        # a new slot object for the key (ticked again, edited) runs again.
        stale = {s.key for s in command.slots if self._failed.get(s.key) is s}
        self._failed = {key: slot for key, slot in self._failed.items() if key in stale}
        self._chain = tuple(dataclasses.replace(s, enabled=False) if s.key in stale else s
                            for s in command.slots)
        self._chain_version = command.version
        self._live.forget_missing(self._chain)
        # Show the edit at once on a paused or still source: run the chain on the held frame.
        self._reprocess = self._source is not None and (
            self._paused or not self._source.info.is_live)

    def _pause(self, _: Pause) -> None:
        self._paused = True

    def _play(self, _: Play) -> None:
        if self._paused:
            self._next_due = self._clock()
        self._paused = False

    def _step(self, _: Step) -> None:
        self._paused = True
        self._steps += 1

    def _seek(self, command: Seek) -> None:
        if self._source is None or not self._source.seekable:
            return
        self._source.seek(command.index)
        self._next_index = command.index
        self._reprocess = False
        self._steps += 1 if self._paused else 0

    def _set_loop(self, command: SetLoop) -> None:
        self._loop = command.loop

    def _start_recording(self, command: StartRecording) -> None:
        self._stop_recording(StopRecording())
        fps = self._fps()
        if fps <= 0 and self._source is not None:
            fps = self._source.info.fps
        try:
            self._recorder = Recorder(command.path, round(fps, 2) or 30.0)
        except (VisionappError, OSError) as exc:
            self._outbox.append(RecordingStopped(command.path, 0, str(exc)))
            return
        self._outbox.append(RecordingStarted(command.path))

    def _stop_recording(self, _: StopRecording) -> None:
        if self._recorder is None:
            return
        recorder, self._recorder = self._recorder, None
        frames = recorder.close()
        self._outbox.append(RecordingStopped(recorder.path, frames, recorder.error))

    # ---------------------------------------------------------------- frames

    def _advance(self) -> None:
        self._take_loads()
        frame = self._next_frame()
        if frame is not None:
            self._process(frame)

    def _next_frame(self) -> Frame | None:
        if self._reprocess:
            self._reprocess = False
            if self._held is not None:
                # The same picture again, at a new instant: timestamps never repeat.
                self._last_ts += 1
                self._held = dataclasses.replace(self._held, timestamp_ms=self._last_ts)
                return self._held
        source = self._source
        if source is None or (self._paused and not self._steps):
            return None
        if not source.info.is_live and not self._paused and not self._due(source.info.fps):
            return None
        if not source.ready(LIVE_WAIT_S):  # a stream reconnecting: commands must not wait
            self._tell_status(source.status)
            return None
        try:
            frame = source.read()
        except VisionappError as exc:
            self._close_source()
            self._outbox.append(Problem(str(exc)))
            return None
        if frame is None:
            self._ended(source)
            return None
        self._tell_status(None)
        self._steps = max(0, self._steps - 1)
        self._next_index = frame.index + 1
        stamp = max(self._last_ts + 1, frame.timestamp_ms + self._ts_offset)
        self._last_ts = stamp
        self._held = dataclasses.replace(frame, timestamp_ms=stamp)
        return self._held

    def _tell_status(self, text: str | None) -> None:
        if text != self._status:
            self._status = text
            self._outbox.append(SourceStatus(text))

    def _due(self, fps: float) -> bool:
        """Files play at their own frame rate (never faster; slow processing plays slower).
        False when a command arrived during the wait: it goes first."""
        now = self._clock()
        if self._next_due > now and self._wait(min(self._next_due - now, MAX_PACING_WAIT_S)):
            return False
        self._next_due = max(self._next_due, self._clock() - 1.0) + 1.0 / max(fps, 1e-3)
        return True

    def _ended(self, source: Source) -> None:
        expected = source.info.frame_count
        decoded = self._next_index
        if source.info.kind == "video" and expected and decoded < expected - max(
                2, expected // 100):
            self._outbox.append(Problem(f"{source.info.name} stopped decoding after {decoded} "
                                        f"of {expected} frames (truncated or damaged?)"))
        if self._loop and source.info.kind in LOOPING_KINDS:
            source.seek(0)
            self._next_index = 0
            self._ts_offset = self._last_ts + 1
            return
        self._paused, self._steps = True, 0
        self._outbox.append(Ended())

    def _process(self, frame: Frame) -> None:
        if self._live.start(self._chain, frame):
            self._take_loads()
            self._reprocess = False  # this frame is the held one, processed now
        running, applied = self._live.runnable(self._chain)
        if applied:
            self._applied_version = self._chain_version
        results = self._run_chain(frame, running)
        failed = set(self._failed_now)
        ran = [slot for i, slot in enumerate(running) if i not in failed]
        for slot, result in zip(ran, results, strict=True):
            self._stats.add(str(slot.key), result.elapsed_ms)
        if failed:
            off = {running[i].key for i in failed}
            self._chain = tuple(dataclasses.replace(s, enabled=False) if s.key in off else s
                                for s in self._chain)
        self._live.remember(tuple(slot.key for slot in ran), results, frame.image.shape)
        annotated = self._annotate(frame.image, results, stream_id=frame.stream_id)
        now = self._clock()
        # Drop the old times in place: rebuilding the list cost O(frames in 2 s) every frame.
        while self._frame_times and now - self._frame_times[0] >= FPS_WINDOW_S:
            self._frame_times.popleft()
        self._frame_times.append(now)
        if self._recorder is not None:
            self._recorder.write(annotated)
        source = self._source
        self._outbox.append(Packet(
            frame=frame, results=results, keys=tuple(slot.key for slot in ran),
            annotated=annotated,
            source=source.info if source else SourceInfo("none", "", (0, 0), 0, None, False),
            position=frame.index, dropped=source.dropped if source else 0, fps=self._fps(),
            timings_ms={s.key: self._stats.percentiles(str(s.key)) for s in self._chain},
            rss_mb=self._process_info.memory_info().rss / 2**20,
            recording=self._recorder is not None, chain_version=self._applied_version,
            loading=self._live.loading(self._chain), load_s=self._live.load_times(),
        ))

    def _run_chain(self, frame: Frame, slots: tuple[ChainSlot, ...]) -> tuple[Result, ...]:
        """One frame through pipeline.run; a changed chain goes in with ``send``."""
        processors = tuple(slot.processor for slot in slots)
        changed = len(slots) != len(self._running) or any(
            a.processor is not b.processor for a, b in zip(slots, self._running, strict=False))
        self._running, self._feed = slots, frame
        self._failed_now.clear()
        if self._pipe is None:
            self._pipe = pipeline.run(self._frames(), processors, self._on_error)
            _, results = next(self._pipe)
        else:
            _, results = self._pipe.send(processors) if changed else next(self._pipe)
        return results

    def _frames(self) -> Iterator[Frame]:
        while True:
            frame, self._feed = self._feed, None
            if frame is None:
                raise RuntimeError("pipeline.run asked for a frame the session did not feed")
            yield frame

    def _on_error(self, position: int, error: ProcessorFailed) -> None:
        """The window's policy: a processor that raises is turned off and marked, not retried
        on every frame; the rest of the chain goes on."""
        slot = self._running[position]
        self._failed[slot.key] = slot
        self._failed_now.append(position)
        message = describe(error)
        log.warning("processor %s failed: %s", error.name, message)
        self._outbox.append(ProcessorOff(slot.key, f"{error.name} failed and was turned off: "
                                                   f"{message}"))

    # ---------------------------------------------------------------- loading

    def _take_loads(self) -> None:
        """Loads that finished: the processor joins the chain, or is turned off with the
        reason. Paused (a still ends paused), the held frame is processed again with it."""
        changed, failures = self._live.take(self._chain)
        for slot, message in failures:
            self._failed[slot.key] = slot
            self._chain = tuple(dataclasses.replace(s, enabled=False) if s is slot else s
                                for s in self._chain)
            name = slot.processor.name
            log.warning("processor %s failed to load: %s", name, message)
            self._outbox.append(ProcessorOff(slot.key, f"{name} failed and was turned off: "
                                                       f"{message}"))
        if (changed or failures) and self._paused and self._held is not None:
            self._reprocess = True

    def _fps(self) -> float:
        times = self._frame_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def _close_source(self) -> None:
        if self._source is not None:
            source, self._source = self._source, None
            self._status = None
            source.close()
