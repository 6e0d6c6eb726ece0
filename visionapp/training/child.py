"""Training runs in a child process that streams Progress values as JSON lines.

The child's stdout carries only those lines; everything the frameworks print goes to a log file.
A crash, or the memory (GPU memory included) a run held, ends with the child. A stop request is a
file the child checks after every batch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from visionapp import paths
from visionapp.training.progress import Progress


def work_dir(name: str) -> Path:
    runs = paths.user_cache_dir() / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs))


def stream_child(module: str, config: dict, work: Path,
                 stop: threading.Event | None) -> Iterator[Progress]:
    """Run ``python -m module --child CONFIG WORK`` and yield its Progress events.

    Ends with exactly one ``done`` or ``error`` event (the log's last lines explain a crash).
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
                event = Progress.from_json(line)
            except (ValueError, TypeError):
                continue
            finished = finished or event.kind in ("done", "error")
            yield event
        child.wait()
    if not finished:
        tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
        yield Progress("error", f"training stopped unexpectedly (exit {child.returncode})"
                       + ("; last log lines:\n" + "\n".join(tail) if tail else ""))


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


def child_channel() -> Callable[[Progress], None]:
    """In the child: keep stdout for JSON lines only and send all other output to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(event: Progress) -> None:
        channel.write(event.to_json() + "\n")

    return emit
