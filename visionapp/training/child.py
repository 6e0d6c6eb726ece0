"""Training runs in a child process that streams progress events as JSON lines.

The child's stdout carries only those lines (:func:`visionapp.training.progress.to_json`);
everything the frameworks print goes to a log file. A crash, or the memory (GPU memory included)
a run held, ends with the child. A stop request is a file the child checks after every batch.
Whatever ends a run without a model, the parent gets one :class:`Failed` event of one line: the
child's own message, or for a crash the exception it died of and the log's path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from visionapp import paths
from visionapp.training.progress import Event, Failed, Finished, from_json, to_json


def work_dir(name: str) -> Path:
    runs = paths.training_runs_dir()
    runs.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs))


def stream_child(module: str, config: dict, work: Path,
                 stop: threading.Event | None) -> Iterator[Event]:
    """Run ``python -m module --child CONFIG WORK`` and yield its events.

    Ends with exactly one Finished or Failed event; a Failed message is one line (a crash names
    the exception the child died of and the log file with the full traceback).
    """
    stop_file = work / "STOP"
    log_file = work / "child.log"
    finished = False
    with open(log_file, "w", encoding="utf-8") as log:
        child = subprocess.Popen([sys.executable, "-m", module, "--child", json.dumps(config),
                                  str(work)], stdout=subprocess.PIPE, stderr=log, text=True,
                                 bufsize=1)
        threading.Thread(target=_watch_stop, args=(stop, stop_file, child), daemon=True).start()
        for line in child.stdout:
            try:
                event = from_json(line)
            except ValueError:
                continue
            finished = finished or isinstance(event, Finished | Failed)
            if isinstance(event, Failed):
                event = Failed(one_line(event.message, log_file), str(log_file))
            yield event
        child.wait()
    if not finished:
        cause = crash_cause(log_file.read_text(encoding="utf-8", errors="replace"))
        yield Failed(f"training stopped unexpectedly (exit {child.returncode}"
                     + (f": {cause}" if cause else "") + f"); details in {log_file}",
                     str(log_file))


def one_line(message: str, log_file: Path) -> str:
    """An error message as one line; a long or multi-line one points to the log as well."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else f"training failed; details in {log_file}"
    return "; ".join(lines[:8]) + ("; …" if len(lines) > 8 else "") + f" (log: {log_file})"


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*)$")


def crash_cause(log_text: str, limit: int = 200) -> str:
    """The last ``SomeError: message`` line of a log (a traceback's summary), shortened."""
    for line in reversed(log_text.strip().splitlines()):
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            text = match.group(1)
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""


def _watch_stop(stop: threading.Event | None, stop_file: Path, child: subprocess.Popen) -> None:
    if stop is None:
        return
    while child.poll() is None:
        if stop.wait(0.2):
            stop_file.touch()
            return


def child_main(config_cls: type, body: Callable[[Any, Path], int]) -> None:
    """The ``__main__`` of a training module: parse ``--child CONFIG WORK`` and run ``body``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True)
    parser.add_argument("work")
    args = parser.parse_args()
    raise SystemExit(body(config_cls(**json.loads(args.child)), Path(args.work)))


def child_channel() -> Callable[[Event], None]:
    """In the child: keep stdout for JSON lines only and send all other output to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(event: Event) -> None:
        channel.write(to_json(event) + "\n")

    return emit
