"""Ctrl-C and SIGTERM for a command-line run: stop cleanly first, at once when asked twice.

While a command that can stop cleanly runs (``graceful``), the first SIGINT or SIGTERM only sets
:attr:`Interrupts.stop`; the work loop sees it, finishes the frame in hand and keeps what was
written. A second signal, or one that arrives anywhere else (start-up, shutdown), exits at once
with one line and status 128 + signal number, removing this process's temporary files. A command
that cannot stop cleanly gets KeyboardInterrupt, as Python would raise it, for its caller to turn
into one line. No signal ever ends in a traceback.

This module imports nothing heavy, so the handlers are in place within milliseconds of start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def describe(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


def _say(text: str) -> None:
    # os.write, not print: a handler may run while the main thread is inside print itself.
    with contextlib.suppress(OSError):
        os.write(2, (text + "\n").encode("utf-8", "replace"))


class Interrupts:
    """The signal policy of one command-line run (see the module docstring)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum = 0  # the signal that set ``stop``
        self.graceful = False  # the running command checks ``stop``
        self.in_command = False  # KeyboardInterrupt would reach a handler that reports it
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only). A signal already ignored — a run
        started in the background or under nohup — stays ignored."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN:
                continue
            self._previous[signum] = previous
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Give the signals back to what handled them before (when embedded, e.g. in tests)."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def finished(self) -> None:
        """The command is over: from now on a signal exits at once, quietly."""
        self.graceful = self.in_command = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.graceful and not self.stop.is_set():
            self.signum = signum
            self.stop.set()
            lead = "\n" if sys.stderr is not None and sys.stderr.isatty() else ""
            _say(f"{lead}visionapp: {describe(signum)}: stopping after the current frame; "
                 "finished outputs are kept, unfinished ones as .partial files (Ctrl-C again "
                 "quits at once)")
            return
        if self.in_command and not self.graceful:
            self.signum = signum
            raise KeyboardInterrupt
        outputs = sys.modules.get("visionapp.core.outputs")  # no output yet if not imported
        if outputs is not None:
            outputs.discard_live_temporaries()
        if self.stop.is_set():
            _say(f"visionapp: {describe(signum)} again: quit at once; unfinished outputs were "
                 "removed")
        else:
            _say(f"visionapp: interrupted by {describe(signum)}")
        with contextlib.suppress(Exception):  # nothing more can be done on the way out
            sys.stdout.flush()  # what a finished command printed
        os._exit(128 + signum)
