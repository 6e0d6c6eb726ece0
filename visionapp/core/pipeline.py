"""Driving processors over frames: one generator for every driver, plus the threaded batch path.

:func:`run` is the generator both the CLI and the GUI worker drive. Sending it a new tuple of
processors swaps the chain before the next frame (the GUI does this when a parameter changes).

:func:`process_batch` drives :func:`run` with the three stages of batch work on separate threads
joined by bounded queues — decode (reader) → process + annotate (processing) → encode (writer) — so
decoding the next frame and encoding the last one run while this one is processed. OpenCV
releases the GIL inside its calls, so the stages really run on different cores. The calling
thread only waits, so it stays free to handle signals (Ctrl-C) at any moment.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from visionapp.core import hardware
from visionapp.core.annotate import Annotator
from visionapp.core.errors import ProcessorFailed
from visionapp.core.stats import RollingStats
from visionapp.core.types import Frame, Processor, Result

Chain = tuple[Processor, ...]


def apply_chain(
    frame: Frame,
    processors: Sequence[Processor],
    on_error: Callable[[int, ProcessorFailed], None] | None = None,
) -> tuple[Result, ...]:
    """Run each processor on the frame as left by the transforms before it.

    Each Result gets ``elapsed_ms``. A processor that raises becomes ProcessorFailed naming it:
    raised, or — with ``on_error`` — passed to ``on_error(position, error)`` and skipped, so the
    rest of the chain still runs (the GUI's policy).
    """
    results = []
    current = frame
    for position, processor in enumerate(processors):
        t0 = time.perf_counter()
        try:
            result = processor(current.with_context(tuple(results)) if results else current)
        except Exception as exc:  # noqa: BLE001 - reported with the processor's name
            failed = exc if isinstance(exc, ProcessorFailed) else ProcessorFailed(
                getattr(processor, "name", type(processor).__name__), exc)
            if on_error is None:
                raise failed from exc
            on_error(position, failed)
            continue
        result = replace(result, elapsed_ms=(time.perf_counter() - t0) * 1000)
        if result.image is not None:
            current = current.with_image(result.image)
        results.append(result)
    return tuple(results)


def input_of(frame: Frame, earlier: Sequence[Result]) -> Frame:
    """The frame as :func:`apply_chain` handed it to the processor after ``earlier``: the last
    image an earlier result carried, with those results as its context."""
    for result in reversed(earlier):
        if result.image is not None:
            frame = frame.with_image(result.image)
            break
    return frame.with_context(tuple(earlier)) if earlier else frame


def run(frames: Iterable[Frame], processors: Chain,
        on_error: Callable[[int, ProcessorFailed], None] | None = None,
        ) -> Generator[tuple[Frame, tuple[Result, ...]], Chain | None, None]:
    """Yield ``(frame, results)`` per frame; ``send(new_chain)`` swaps the chain before the next
    frame. ``on_error`` is :func:`apply_chain`'s policy for a processor that raises."""
    for frame in frames:
        replacement = yield frame, apply_chain(frame, processors, on_error)
        if replacement is not None:
            processors = replacement


@dataclass
class BatchReport:
    frames: int = 0
    seconds: float = 0.0
    stats: RollingStats | None = None
    opencv_threads: int = 0  # what OpenCV's own thread pool was set to after warm-up
    stopped: bool = False  # ended by the caller's ``stop`` before the source ran out
    # CPU seconds each stage's own thread used (reader, process, writer): where the time went,
    # apart from the libraries' worker threads (FFmpeg's decoder, OpenCV's pool)
    stage_cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


WARMUP_FRAMES = 24
STAGES = 3  # reader, processing, writer


def batch_decoder_threads() -> int:
    """FFmpeg decoding threads for a video read by :func:`process_batch`: the cores its other
    two stages leave, at least one. FFmpeg's default (one per core) only competes with them: on
    2 cores it cost 0.78 s of CPU for the 914 frames of a 640×360 video against 0.56 s on one
    thread, for the same frames."""
    return max(1, (hardware.USABLE_CPUS_AT_START or 1) - (STAGES - 1))


def _balance_threads(stats: RollingStats) -> int:
    """Decide OpenCV's thread count once the stage timings are known.

    When processing is no slower than decoding or encoding, the three pipeline stages already keep
    every core busy and OpenCV's own worker threads only compete with them (measured: 25% slower
    with Canny on 2 cores), so OpenCV gets one thread. When processing dominates (Haar, say), its
    internal parallelism is where the speed is, and it keeps them all.
    """
    process, _ = stats.percentiles("process_ms")
    other = max(stats.percentiles("decode_ms")[0], stats.percentiles("write_ms")[0])
    if process <= 1.5 * other:
        cv2.setNumThreads(1)
    return cv2.getNumThreads()


# glibc's malloc hands a freed multi-megabyte heap top back to the kernel (trim) and maps big
# blocks afresh each time, so every new frame buffer page-faults in again: 60,000 faults and
# 0.3 s of kernel time over the 914 frames of a 640×360 video, against 3,000 and 0.07 s when
# up to 32 MB of freed memory is kept for the next frames (a 1080p BGR frame is 6 MB). The
# memory benchmark ends at the same RSS either way (177 MB after 10,000 frames).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 32 << 20
MAP_ABOVE_BYTES = 16 << 20


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep up to :data:`KEEP_FREED_BYTES` of freed memory for reuse and
    to serve blocks below :data:`MAP_ABOVE_BYTES` from it (process-wide; the batch CLI is one
    run per process; set once). False where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
                and mallopt(_M_MMAP_THRESHOLD, MAP_ABOVE_BYTES))


_END = object()


class _Stage(threading.Thread):
    """A thread that records the first exception it meets instead of dying silently."""

    def __init__(self, name: str, target: Callable[[], None], stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._body = target
        self._abort = stop
        self.error: BaseException | None = None
        self.cpu_s = 0.0  # CPU time this thread used, once it has ended

    def run(self) -> None:
        start = time.thread_time()
        try:
            self._body()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            self.error = exc
            self._abort.set()
        finally:
            self.cpu_s = time.thread_time() - start


def process_batch(
    frames: Iterable[Frame],
    processors: Chain,
    write: Callable[[Frame, tuple[Result, ...], np.ndarray], None],
    *,
    queue_size: int = 8,
    on_frame: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    show_text: bool = True,
    annotator: Annotator | None = None,
) -> BatchReport:
    """Decode, process (+ annotate) and ``write`` every frame on three overlapping threads.

    Frames stay in order; the processing thread drives :func:`run` and draws with
    ``annotator`` (a new :class:`Annotator` by default). ``write(frame, results,
    annotated_bgr)`` runs on the writer thread.
    Stage timings (decode_ms, process_ms, write_ms and one key per processor) land in
    ``report.stats``. An exception in any stage stops all three and is re-raised here.

    Setting ``stop`` (e.g. from a signal handler) ends the run after the frame in hand: every
    frame counted in ``report.frames`` has been written, and ``report.stopped`` is True. The
    event is only read here, never set, so a stage error is not mistaken for a stop request.
    """
    requested = stop or threading.Event()
    stop = threading.Event()  # set by a stage error, by ``requested`` or at the end
    stats = RollingStats(window=100_000)
    inbox: queue.Queue = queue.Queue(maxsize=queue_size)
    outbox: queue.Queue = queue.Queue(maxsize=queue_size)

    def halted() -> bool:
        if requested.is_set():
            stop.set()
        return stop.is_set()

    def put(q: queue.Queue, item) -> bool:
        while not halted():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    exhausted = threading.Event()  # the source ran out (as opposed to being stopped)

    def reader() -> None:
        iterator = iter(frames)
        try:
            while not halted():
                t0 = time.perf_counter()
                frame = next(iterator, None)
                if frame is None:
                    exhausted.set()
                    break
                stats.add("decode_ms", (time.perf_counter() - t0) * 1000)
                if not put(inbox, frame):
                    break
        finally:
            put(inbox, _END)

    def writer() -> None:
        while True:
            item = outbox.get()
            if item is _END:
                return
            t0 = time.perf_counter()
            write(*item)
            stats.add("write_ms", (time.perf_counter() - t0) * 1000)

    completed = threading.Event()  # every frame of the source went through
    annotator = annotator or Annotator()
    taken_s = 0.0  # when the frame being processed left the inbox

    def incoming() -> Iterator[Frame]:
        nonlocal taken_s
        while True:
            try:
                frame = inbox.get(timeout=0.1)
            except queue.Empty:
                if halted():
                    return
                continue
            if frame is _END:
                if exhausted.is_set():
                    completed.set()
                return
            if halted():
                return
            taken_s = time.perf_counter()
            yield frame

    def processing() -> None:
        for frame, results in run(incoming(), processors):
            stats.add("process_ms", (time.perf_counter() - taken_s) * 1000)
            for result in results:
                stats.add(result.processor, result.elapsed_ms)
            annotated = annotator(frame.image, results, show_text=show_text,
                                  stream_id=frame.stream_id)
            if not put(outbox, (frame, results, annotated)):
                return
            report.frames += 1
            if report.frames == WARMUP_FRAMES:
                report.opencv_threads = _balance_threads(stats)
            if on_frame is not None:
                on_frame(report.frames)

    stages = (_Stage("batch-reader", reader, stop), _Stage("batch-process", processing, stop),
              _Stage("batch-writer", writer, stop))
    read_thread, process_thread, write_thread = stages
    report = BatchReport(stats=stats)
    threads_before = cv2.getNumThreads()
    keep_freed_memory()
    t_start = time.perf_counter()
    for stage in stages:
        stage.start()
    try:
        # The calling thread only waits, so a signal handler (Ctrl-C) runs here at once even
        # while a processor spends seconds on one frame.
        while process_thread.is_alive():
            process_thread.join(timeout=0.1)
            halted()
    except BaseException:
        stop.set()
        raise
    finally:
        process_thread.join()  # ends within the frame in hand once stop is set
        # Let the writer drain what it has (the output stays complete up to the last frame).
        while write_thread.is_alive():
            try:
                outbox.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        write_thread.join()
        report.stopped = requested.is_set() and not completed.is_set()
        stop.set()
        read_thread.join(timeout=5)
        report.seconds = time.perf_counter() - t_start
        report.stage_cpu_s = {stage.name.removeprefix("batch-"): stage.cpu_s
                              for stage in stages if not stage.is_alive()}
        cv2.setNumThreads(threads_before)
    for stage in stages:
        if stage.error is not None:
            raise stage.error
    return report
