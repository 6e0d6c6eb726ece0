"""``python main.py [-v] [--source SPEC] [-p NAME ...] [--set NAME.PARAM=VALUE] [--chain FILE]``

Opens the window on the given source, else the last one used, else camera 0, else the demo scene
(saying that no camera was found). The frameworks' own log lines and warnings are off unless
``-v``/``--verbose`` asks for them, as in the command line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from visionapp import paths
from visionapp.core.errors import VisionappError


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionapp-gui", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show details and the frameworks' own log lines and warnings")
    parser.add_argument("--source", help="demo:, a camera index, a video, an image or a folder")
    parser.add_argument("-p", "--processor", action="append", default=[], metavar="NAME",
                        help="start with this chain (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME.PARAM=VALUE")
    parser.add_argument("--chain", type=Path, help="start with a saved chain file")
    parser.add_argument("--exit-after-first-frame", action="store_true",
                        help="print the time to the first painted frame and quit (benchmark)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="save a screenshot of the window after 10 frames and quit")
    return parser.parse_args(argv)


NO_CAMERA = "No camera found — showing the demo scene"


def route_qt_messages(verbose: bool) -> None:
    """Qt's own messages ("This plugin does not support propagateSizeHints()") go to the
    ``qt`` logger: warnings shown with ``-v`` only, critical ones always."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    log = logging.getLogger("qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING if verbose else logging.DEBUG,
              QtMsgType.QtCriticalMsg: logging.ERROR, QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handle(kind, _context, message: str) -> None:
        log.log(levels.get(kind, logging.WARNING), "%s", message)

    qInstallMessageHandler(handle)


def default_source(last: str) -> tuple[str, str]:
    """(what to open, a notice for the user or ""): the last source if it is still there,
    else the first camera, else the demo scene with :data:`NO_CAMERA`."""
    from visionapp.core.sources import list_cameras

    if last and (last.startswith("demo") or (not last.isdigit() and Path(last).exists())):
        return last, ""
    cameras = list_cameras()
    if last.isdigit() and any(str(i) == last for i, _ in cameras):
        return last, ""
    return (str(cameras[0][0]), "") if cameras else ("demo:", NO_CAMERA)


def place_first_window(window) -> None:
    """A first launch: 1280×760, or four fifths of a larger screen, centred in the screen's
    free area and never beyond it (40 px kept for a title bar)."""
    screen = window.screen()
    if screen is None:
        window.resize(1280, 760)
        return
    free = screen.availableGeometry()
    w = min(free.width(), max(1280, free.width() * 4 // 5))
    h = min(free.height() - 40, max(760, free.height() * 4 // 5))
    window.resize(w, h)
    window.move(free.x() + (free.width() - w) // 2, free.y() + (free.height() - h - 40) // 2)


def main(argv: Sequence[str] | None = None) -> int:
    t_start = time.perf_counter()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from visionapp.core import logs

    logs.configure(verbose=args.verbose)  # before any framework is imported
    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("visionapp: error: no display found; start it from a desktop session, or run "
              "'xvfb-run .venv/bin/python main.py', or use the headless 'visionapp process'",
              file=sys.stderr)
        return 2
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from visionapp.core.chain import build_chain
    from visionapp.gui.window import MainWindow

    route_qt_messages(args.verbose)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("visionapp")
    app.setWindowIcon(QIcon(str(paths.RESOURCES_DIR / "visionapp.svg")))
    window = MainWindow()
    last_source, _ = window.restore_settings()
    if args.processor or args.chain:
        try:
            processors = build_chain(args.processor, args.set, args.chain)
        except VisionappError as exc:
            print(f"visionapp: error: {exc}", file=sys.stderr)
            return 2
        window.chain.set_processors((processor, True) for processor in processors)
    if args.exit_after_first_frame:
        def report(_packet) -> None:
            print(f"first frame painted after {time.perf_counter() - t_start:.3f} s "
                  "(from main())", flush=True)
            window.close()
            app.quit()

        window.frame_shown.connect(report)
    if args.screenshot:
        shown = []

        def grab(_packet) -> None:
            shown.append(1)
            if len(shown) == 10:
                screen = window.screen()
                picture = screen.grabWindow(window.winId()) if screen else window.grab()
                if picture.isNull() or not picture.save(str(args.screenshot)):
                    window.grab().save(str(args.screenshot))
                window.close()
                app.quit()

        window.frame_shown.connect(grab)
    if window.settings.value("window/geometry") is None:
        place_first_window(window)
    window.show()
    if args.source:
        window.open_source(args.source)
    else:
        spec, window.notice = default_source(last_source)
        window.open_source(spec)
    return int(app.exec())
