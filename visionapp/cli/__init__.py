"""The headless command line: process videos in batch, list processors, build videos, models.

Bad input ends with one line on stderr saying what to do, and exit status 2 — never a traceback.
Ctrl-C (or SIGTERM) stops a batch cleanly: finished outputs are kept, unfinished ones are kept as
``.partial`` files, and nothing that existed is replaced (see :mod:`visionapp.core.interrupts`).
Heavy modules (OpenCV, NumPy, the processors) are imported inside the commands, so the signal
handlers are in place within milliseconds of start.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from visionapp import __version__
from visionapp.core.errors import VisionappError
from visionapp.core.interrupts import Interrupts, describe


def make_parser() -> argparse.ArgumentParser:
    from visionapp.cli import models, process, train

    parser = argparse.ArgumentParser(prog="visionapp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"visionapp {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    parser.set_defaults(graceful=False)  # batch commands set it: they stop cleanly
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (process, models, train):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Called without ``argv`` (the console script), it owns the process: its
    signal handlers stay in place until exit. With ``argv`` (tests, embedding), they are handed
    back on return."""
    interrupts = Interrupts()
    interrupts.install()
    try:
        return _run(argv, interrupts)
    finally:
        interrupts.finished()
        if argv is not None:
            interrupts.restore()


def _run(argv: Sequence[str] | None, interrupts: Interrupts) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from visionapp.core import logs

    logs.configure(verbose=args.verbose)  # native libraries' own lines only with -v
    if args.command == "models" and args.action == "fetch" and not args.name:
        parser.error(f"models {args.action} needs a model name")
    args.interrupts, args.stop = interrupts, interrupts.stop
    interrupts.graceful = args.graceful
    interrupts.in_command = True
    try:
        return int(args.func(args) or 0)
    except VisionappError as exc:
        print(f"visionapp: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`visionapp processors | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second complaint when Python flushes at exit
        return 0
    except OSError as exc:  # not anticipated where it happened: still one line, never a trace
        where = f" {exc.filename!r}:" if exc.filename else ""
        print(f"visionapp: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"visionapp: interrupted by {describe(interrupts.signum or 2)}", file=sys.stderr)
        return 128 + (interrupts.signum or 2)

