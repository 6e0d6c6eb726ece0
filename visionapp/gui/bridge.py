"""The one thread bridge of the window: a generator runs on a worker thread, its values come back
on the GUI thread as signals.

Shaped after superqt's ``GeneratorWorker`` (``send()``, cooperative ``quit()``, ``yielded`` /
``returned`` / ``errored`` / ``finished``), with what the window needs beyond it:

- Every value sent is delivered, in order. (superqt keeps only the last one, so a chain edit
  sent just after "open this source" would be lost.)
- Values of the ``latest`` types are latest-wins: a newer one replaces one the GUI has not taken
  yet, and the worker thread posts one wake-up at a time, so a slow display never builds a
  backlog and the per-frame cost on the GUI side is one queued call.
- Each worker has its own thread rather than a slot in ``QThreadPool.globalInstance()``: the
  pool has one thread per core, the live worker holds one for the life of the window, and two
  training dialogs on a two-core machine would wait for ever.
- A generator that yields None has nothing to do: the worker waits for the next sent value (at
  most ``idle_wait_s``) instead of spinning. ``wait_for_input`` gives the generator a sleep that
  ends early when a value is sent.

Every worker's error also goes to :func:`errors` — the one handler the window listens to.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from visionapp.core.errors import VisionappError

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.05
T = TypeVar("T")


def describe(exc: BaseException) -> str:
    """One line for the user: our own errors say what to do; anything else names its type."""
    return str(exc) if isinstance(exc, VisionappError) else f"{type(exc).__name__}: {exc}"


class ErrorHub(QObject):
    """Where every worker's error goes; the window connects its message line to ``message``."""

    message = Signal(str)

    def report(self, exc: BaseException) -> None:
        self.message.emit(describe(exc))


_hub: ErrorHub | None = None


def errors() -> ErrorHub:
    global _hub
    if _hub is None:
        _hub = ErrorHub()
    return _hub


class ThreadWorker(QObject):
    """Runs one generator on its own thread; start it with :meth:`start`."""

    yielded = Signal(object)  # each value (or, for the ``latest`` types, the newest)
    returned = Signal(object)  # the generator's return value
    errored = Signal(object)  # the exception that ended it
    finished = Signal()  # last, after returned / errored, and after quit
    _wake = Signal()

    def __init__(self, name: str, *, latest: tuple[type, ...] = (),
                 idle_wait_s: float = IDLE_WAIT_S, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._latest = latest
        self._idle_wait_s = idle_wait_s
        self._inbox: deque[Any] = deque()
        self._inbox_changed = threading.Condition()
        self._outbox: deque[tuple[str, Any]] = deque()
        self._outbox_lock = threading.Lock()
        self._wake_pending = False
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._emit: dict[str, Callable[[Any], None]] = {
            "yielded": self.yielded.emit, "returned": self.returned.emit,
            "errored": self.errored.emit, "finished": lambda _none: self.finished.emit(),
        }
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self.errored.connect(errors().report)

    # ---------------------------------------------------------------- GUI thread

    def start(self, generator: Generator[Any, Any, Any]) -> None:
        if self._thread is not None:
            raise RuntimeError(f"worker {self.name!r} has already been started")
        self._thread = threading.Thread(target=self._work, args=(generator,), name=self.name,
                                        daemon=True)
        self._thread.start()

    def send(self, value: Any) -> None:
        """Queue ``value`` for the generator; it gets every value, in order, between yields."""
        with self._inbox_changed:
            self._inbox.append(value)
            self._inbox_changed.notify_all()

    def quit(self) -> None:
        """Ask the generator to stop: it is closed at its next yield (its ``finally`` runs)."""
        self._quit.set()
        with self._inbox_changed:
            self._inbox_changed.notify_all()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.is_running

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _drain(self) -> None:
        with self._outbox_lock:
            items = list(self._outbox)
            self._outbox.clear()
            self._wake_pending = False
        for kind, value in items:
            self._emit[kind](value)

    # ---------------------------------------------------------------- worker thread

    def wait_for_input(self, timeout_s: float) -> bool:
        """Sleep up to ``timeout_s``; True as soon as a value was sent or quit was asked."""
        with self._inbox_changed:
            return self._inbox_changed.wait_for(
                lambda: bool(self._inbox) or self._quit.is_set(), timeout_s)

    def _next_input(self, idle: bool) -> Any:
        if idle:
            self.wait_for_input(self._idle_wait_s)
        with self._inbox_changed:
            return self._inbox.popleft() if self._inbox else None

    def _work(self, generator: Generator[Any, Any, Any]) -> None:
        value = None
        try:
            while not self._quit.is_set():
                output = generator.send(value)
                if output is not None:
                    self._post("yielded", output)
                value = self._next_input(idle=output is None and value is None)
            generator.close()
        except StopIteration as stop:
            self._post("returned", stop.value)
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, shown there
            log.warning("worker %s failed", self.name, exc_info=exc)
            self._post("errored", exc)
        finally:
            self._post("finished", None)

    def _post(self, kind: str, value: Any) -> None:
        with self._outbox_lock:
            if kind == "yielded" and isinstance(value, self._latest):
                stale = next((i for i, (k, v) in enumerate(self._outbox)
                              if k == "yielded" and isinstance(v, self._latest)), None)
                if stale is not None:
                    del self._outbox[stale]
            self._outbox.append((kind, value))
            if self._wake_pending:
                return
            self._wake_pending = True
        # RuntimeError: the QObject was deleted (its window closed): nobody left to tell.
        with contextlib.suppress(RuntimeError):
            self._wake.emit()


def call(function: Callable[[], T]) -> Generator[None, None, T]:
    """A generator that calls ``function`` once and returns its value (what superqt's
    FunctionWorker runs), so a plain function runs on a :class:`ThreadWorker` too."""
    yield from ()
    return function()


def run_function(parent: QObject, name: str, function: Callable[[], T],
                 on_returned: Callable[[T], None],
                 on_errored: Callable[[BaseException], None] | None = None) -> ThreadWorker:
    """Run ``function`` off the GUI thread; ``on_returned`` gets its value on the GUI thread.
    The worker deletes itself when done; its error goes to :func:`errors` (and ``on_errored``)."""
    worker = ThreadWorker(name, parent=parent)
    worker.returned.connect(on_returned)
    if on_errored is not None:
        worker.errored.connect(on_errored)
    worker.finished.connect(worker.deleteLater)
    worker.start(call(function))
    return worker
