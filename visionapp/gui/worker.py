"""The processing worker: a thread that reads the source, runs the chain, annotates, records.

The GUI talks to it only through commands (a queue) and gets frozen ``Packet`` values back through
a Qt signal. Display is latest-packet-wins: the worker keeps one slot and signals only when the
GUI has taken the previous packet, so a slow display never builds a backlog (recording, which
runs on the worker side, still gets every processed frame).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psutil
from PySide6.QtCore import QObject, Signal

from visionapp.core.annotate import annotate
from visionapp.core.errors import ProcessorFailed, VisionappError
from visionapp.core.outputs import AtomicVideoWriter
from visionapp.core.pipeline import apply_chain
from visionapp.core.sources import Source, SourceInfo, open_source
from visionapp.core.stats import RollingStats
from visionapp.core.types import Frame, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Packet:
    """One processed frame for the GUI. ``annotated`` is a fresh array the GUI may keep."""

    frame: Frame
    results: tuple[Result, ...]
    annotated: np.ndarray
    source: SourceInfo
    position: int  # index of this frame in a file source
    dropped: int
    fps: float
    timings_ms: dict[str, tuple[float, float]]  # processor → (p50, p95)
    rss_mb: float
    recording: bool
    chain_version: int


@dataclass
class ChainSlot:
    """A processor in the chain as the worker sees it (``key`` is stable across edits)."""

    key: int
    processor: Any
    enabled: bool = True


@dataclass
class _State:
    chain: list[ChainSlot] = field(default_factory=list)
    chain_version: int = 0
    paused: bool = False
    loop: bool = True
    step: int = 0
    reprocess: bool = False


class WorkerSignals(QObject):
    frame_ready = Signal()
    source_opened = Signal(object)  # SourceInfo
    error = Signal(str)  # a message for the user
    processor_failed = Signal(int, str)  # chain key, message
    recording_changed = Signal(bool, str)  # on/off, path or message
    ended = Signal()


class Recorder:
    """Encodes processed frames on its own thread so recording survives a slow display."""

    def __init__(self, path, fps: float):
        self.path = path
        self._writer = AtomicVideoWriter(path, fps)
        self._queue: queue.Queue = queue.Queue(maxsize=256)
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self.error: str | None = None
        self._thread.start()

    def _run(self) -> None:
        while (image := self._queue.get()) is not None:
            try:
                self._writer.write(image)
            except (VisionappError, OSError) as exc:
                self.error = str(exc)

    def write(self, image: np.ndarray) -> None:
        self._queue.put(image)

    def close(self) -> int:
        self._queue.put(None)
        self._thread.join()
        try:
            self._writer.commit()
        except (VisionappError, OSError) as exc:
            self.error = str(exc)
        return self._writer.frames


class Worker:
    """Runs in a daemon thread; control it with the methods below from the GUI thread."""

    def __init__(self, signals: WorkerSignals):
        self.signals = signals
        self._commands: queue.Queue = queue.Queue()
        self._state = _State()
        self._source: Source | None = None
        self._held: Frame | None = None  # last raw frame: reprocessed when paused or at the end
        self._stats = RollingStats(window=120)
        self._frame_times: deque[float] = deque()  # perf_counter() of frames in the last 2 s
        self._last_ts = -1
        self._ts_offset = 0
        self._next_due = 0.0
        self._recorder: Recorder | None = None
        self._packet: Packet | None = None
        self._packet_lock = threading.Lock()
        self._pending = False
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._thread = threading.Thread(target=self._run, name="processing", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- commands (GUI thread)

    def open_source(self, spec: str) -> None:
        self._commands.put(("source", spec))

    def set_chain(self, chain: list[ChainSlot], version: int) -> None:
        self._commands.put(("chain", (list(chain), version)))

    def set_paused(self, paused: bool) -> None:
        self._commands.put(("paused", paused))

    def step(self) -> None:
        self._commands.put(("step", None))

    def seek(self, index: int) -> None:
        self._commands.put(("seek", index))

    def set_loop(self, loop: bool) -> None:
        self._commands.put(("loop", loop))

    def start_recording(self, path) -> None:
        self._commands.put(("record", path))

    def stop_recording(self) -> None:
        self._commands.put(("record", None))

    def take_packet(self) -> Packet | None:
        """The newest packet (called by the GUI on frame_ready)."""
        with self._packet_lock:
            packet, self._packet = self._packet, None
            self._pending = False
            return packet

    def is_alive(self) -> bool:
        """Whether the processing thread still runs (it ends only after ``stop()``)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._commands.put(("quit", None))
        self._thread.join(timeout=5)

    # ---------------------------------------------------------------- worker thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._drain_commands(block=self._idle())
                if self._stop.is_set():
                    break
                frame = self._next_frame()
                if frame is not None:
                    self._process_frame(frame)
        finally:
            self._stop_recording()
            if self._source is not None:
                self._source.close()

    def _idle(self) -> bool:
        s = self._state
        if self._source is None:
            return True
        return s.paused and not s.step and not s.reprocess

    def _drain_commands(self, block: bool) -> None:
        try:
            command = self._commands.get(timeout=0.05) if block else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            self._handle(*command)
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return

    def _handle(self, name: str, value: Any) -> None:
        s = self._state
        if name == "source":
            self._switch_source(value)
        elif name == "chain":
            s.chain, s.chain_version = value
            # Show the edit at once on a paused or still source: run the chain on the held frame.
            s.reprocess = self._source is not None and (s.paused or not self._source.info.is_live)
        elif name == "paused":
            s.paused = value
        elif name == "step":
            s.step += 1
        elif name == "loop":
            s.loop = value
        elif name == "seek" and self._source is not None and self._source.seekable:
            self._source.seek(int(value))
            s.reprocess = False
            s.step += 1 if s.paused else 0
        elif name == "record":
            self._stop_recording() if value is None else self._start_recording(value)
        elif name == "quit":
            self._stop.set()

    def _switch_source(self, spec: str) -> None:
        try:
            source = open_source(spec, realtime=True)
        except VisionappError as exc:
            self.signals.error.emit(str(exc))
            return
        if self._source is not None:
            self._source.close()
        self._source, self._held = source, None
        # Timestamps stay strictly increasing across sources (video-mode trackers need it).
        self._ts_offset = self._last_ts + 1
        self._state.step = 0
        self._frame_times.clear()
        self.signals.source_opened.emit(source.info)

    def _next_frame(self) -> Frame | None:
        s = self._state
        source = self._source
        if s.reprocess:
            s.reprocess = False
            if self._held is not None:
                # The same picture again, at a new instant: timestamps never repeat.
                held = self._held
                self._last_ts += 1
                self._held = Frame(held.image, held.index, self._last_ts, held.captured_s,
                                   held.still)
                return self._held
        if source is None or (s.paused and not s.step):
            return None
        try:
            frame = source.read()
        except VisionappError as exc:
            self.signals.error.emit(str(exc))
            self._source = None
            source.close()
            return None
        if frame is None:  # end of a file source
            expected = source.info.frame_count
            position = getattr(source, "position", 0)
            if source.info.kind == "video" and expected and position < expected - max(
                    2, expected // 100):
                self.signals.error.emit(f"{source.info.name} stopped decoding after {position} "
                                        f"of {expected} frames (truncated or damaged?)")
            if s.loop and source.info.kind in ("video", "folder", "demo"):
                source.seek(0)
                self._ts_offset = self._last_ts + 1
                return None
            s.paused, s.step = True, 0
            self.signals.ended.emit()
            return None
        if s.step:
            s.step -= 1
        stamp = max(self._last_ts + 1, frame.timestamp_ms + self._ts_offset)
        frame = Frame(frame.image, frame.index, stamp, frame.captured_s, frame.still)
        self._last_ts = stamp
        self._held = frame
        if not source.info.is_live and not s.paused:
            self._pace(source.info.fps)
        return frame

    def _pace(self, fps: float) -> None:
        """Files play at their own frame rate (never faster); slow processing just plays slower."""
        now = time.perf_counter()
        if self._next_due > now:
            time.sleep(min(self._next_due - now, 1.0))
        self._next_due = max(self._next_due, time.perf_counter() - 1.0) + 1.0 / max(fps, 1e-3)

    def _process_frame(self, frame: Frame) -> None:
        s = self._state
        active = [slot for slot in s.chain if slot.enabled]
        failed: set[int] = set()

        def on_error(position: int, error: ProcessorFailed) -> None:
            # A processor that raises is turned off and marked, not retried every frame.
            slot = active[position]
            slot.enabled = False
            failed.add(position)
            cause = error.error
            message = str(cause) if isinstance(cause, VisionappError) else (
                f"{type(cause).__name__}: {cause}")
            log.warning("processor %s failed: %s", error.name, message)
            self.signals.processor_failed.emit(slot.key, f"{error.name} failed and was turned "
                                               f"off: {message}")

        results = apply_chain(frame, [slot.processor for slot in active], on_error)
        ran = [slot for i, slot in enumerate(active) if i not in failed]
        for slot, result in zip(ran, results, strict=True):
            self._stats.add(str(slot.key), result.elapsed_ms)
        annotated = annotate(frame.image, results)
        now = time.perf_counter()
        # Drop the old times in place: rebuilding the list cost O(frames in 2 s) on every frame.
        while self._frame_times and now - self._frame_times[0] >= 2.0:
            self._frame_times.popleft()
        self._frame_times.append(now)
        fps = (len(self._frame_times) - 1) / (now - self._frame_times[0]) if len(
            self._frame_times) > 1 else 0.0
        if self._recorder is not None:
            self._recorder.write(annotated)
        source = self._source
        packet = Packet(
            frame=frame, results=results, annotated=annotated,
            source=source.info if source else SourceInfo("none", "", (0, 0), 0, None, False),
            position=getattr(source, "position", frame.index + 1) - 1,
            dropped=source.dropped if source else 0, fps=fps,
            timings_ms={slot.key: self._stats.percentiles(str(slot.key)) for slot in s.chain},
            rss_mb=self._process.memory_info().rss / 2**20,
            recording=self._recorder is not None, chain_version=s.chain_version,
        )
        with self._packet_lock:
            self._packet = packet
            notify = not self._pending
            self._pending = True
        if notify:
            self.signals.frame_ready.emit()

    def _start_recording(self, path) -> None:
        self._stop_recording()
        fps = 0.0
        if len(self._frame_times) > 1:
            fps = (len(self._frame_times) - 1) / (self._frame_times[-1] - self._frame_times[0])
        if fps <= 0 and self._source is not None:
            fps = self._source.info.fps
        self._recorder = Recorder(path, round(fps, 2) or 30.0)
        self.signals.recording_changed.emit(True, str(path))

    def _stop_recording(self) -> None:
        if self._recorder is None:
            return
        recorder, self._recorder = self._recorder, None
        frames = recorder.close()
        if recorder.error:
            self.signals.recording_changed.emit(False, f"recording failed: {recorder.error}")
        else:
            self.signals.recording_changed.emit(False, f"saved {frames} frames to "
                                                       f"{recorder.path}")

