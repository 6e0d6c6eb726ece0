"""Drives the real window under an X server and photographs the whole screen at each step:
``python -m tests.gui.xvfb_driver OUT_DIR VIDEO DATA_DIR PRESETS`` (DISPLAY set, a fresh
VISIONAPP_CONFIG_DIR; DATA_DIR the shared data folder, PRESETS comma-separated preset stems).

It starts visionapp exactly as ``main.py`` does (:func:`visionapp.gui.app.main`, no arguments:
a first launch), then, from inside its event loop: a processor chain on a shared video, the
parameter panel's inline messages, and both training dialogs mid-training (driven by fake
progress events, :mod:`tests.gui.fake_training`), then the steps of
:mod:`tests.gui.xvfb_presets`: presets, the NMS table, the CNN lab's inspector. Besides the PNGs
it writes ``report.json``: the screen, each dialog's frame, every parameter field narrower than
it asks to be, what each preset produced, for :mod:`tests.gui.test_screenshots` to check.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

STEP_TIMEOUT_S = 90.0  # generous: a busy 2-core machine, a model loading on first use


def main(argv: list[str]) -> int:
    out, video, data = Path(argv[0]), argv[1], Path(argv[2])
    stems = [s for s in argv[3].split(",") if s]
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    report: dict = {"shots": [], "dialogs": {}, "clipped": [], "errors": [], "presets": {}}
    steps = scenario(app, out, video, report, data, stems)

    def advance(value=None) -> None:
        try:
            wait = steps.send(value) if value is not None else next(steps)
        except StopIteration:
            finish()
            return
        except Exception:  # noqa: BLE001 - any failure is reported, then the app quits
            report["errors"].append(traceback.format_exc())
            finish()
            return
        if callable(wait):
            poll(wait, time.monotonic() + STEP_TIMEOUT_S)
        else:
            QTimer.singleShot(int(wait * 1000), advance)

    def poll(predicate, deadline: float) -> None:
        if predicate():
            QTimer.singleShot(0, advance)
        elif time.monotonic() > deadline:
            report["errors"].append(f"timed out waiting for {predicate.__doc__ or predicate}")
            app.primaryScreen().grabWindow(0).save(str(out / "timed_out.png"))
            finish()
        else:
            QTimer.singleShot(50, lambda: poll(predicate, deadline))

    def finish() -> None:
        (out / "report.json").write_text(json.dumps(report, indent=2))
        for widget in QApplication.topLevelWidgets():
            widget.close()
        app.quit()

    QTimer.singleShot(0, advance)
    from visionapp.gui.app import main as app_main

    code = app_main([])
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return code or (1 if report["errors"] else 0)


def shoot(app: QApplication, out: Path, name: str, report: dict) -> None:
    picture = app.primaryScreen().grabWindow(0)  # the whole screen, dialogs included
    path = out / f"{name}.png"
    picture.save(str(path))
    report["shots"].append(path.name)


def clipped_fields(window) -> list[str]:
    panel = window.chain.panel
    if panel is None:
        return []
    viewport = window.chain.params_area.viewport()
    bad = []
    for name, editor in panel.editors.items():
        left = editor.mapTo(viewport, editor.rect().topLeft()).x()
        if editor.width() < editor.sizeHint().width() or left + editor.width() > viewport.width():
            bad.append(f"{panel.processor_name}.{name}: {editor.width()} of "
                       f"{editor.sizeHint().width()} px")
    return bad


def frame_of(dialog) -> dict:
    frame, free = dialog.frameGeometry(), dialog.screen().availableGeometry()
    return {"frame_xywh": [frame.x(), frame.y(), frame.width(), frame.height()],
            "screen_xywh": [free.x(), free.y(), free.width(), free.height()]}


def scenario(app: QApplication, out: Path, video: str, report: dict, data: Path,
             stems: list[str]):
    from types import SimpleNamespace

    from tests.gui import xvfb_presets
    from tests.gui.fake_training import classifier_events, detector_events
    from visionapp.core import registry
    from visionapp.gui.window import MainWindow

    def window_up():
        """the main window"""
        return any(isinstance(w, MainWindow) and w.isVisible() for w in app.topLevelWidgets())

    yield window_up
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    screen = app.primaryScreen().geometry()
    report["screen_wh"] = [screen.width(), screen.height()]

    def first_frame():
        """the first frame painted"""
        return window.packet is not None

    yield first_frame
    yield 1.0
    shoot(app, out, "first_launch", report)
    g = window.frameGeometry()
    report["window_xywh"] = [g.x(), g.y(), g.width(), g.height()]

    window.open_source(video)
    window.chain.set_processors([(registry.create("haar.faces"), True),
                                 (registry.create("canny", {"view": "blend"}), True)])
    window.chain.list.setCurrentRow(1)

    def processed():
        """both processors' results on the shared video"""
        packet = window.packet
        return (packet is not None and packet.source.kind != "demo" and len(packet.results) == 2
                and packet.position >= 5)

    yield processed
    yield 0.5
    report["clipped"] += clipped_fields(window)
    shoot(app, out, "processor_on_video", report)

    panel = window.chain.panel  # the inline messages: a broken rule, a corrected value
    panel.editors["low"].set_value(1200)  # set to 1000, said; then above high (200): red
    yield 0.3
    shoot(app, out, "panel_messages", report)
    for name in ("haar.faces", "mediapipe.face_mesh", "yolo.detect", "template", "ocr"):
        window.chain.add(name, enabled=False)  # off: the panel only, no model loads
        yield 0.2
        report["clipped"] += clipped_fields(window)

    window.training.open_classifier()
    dialog = window.training.classifier_dialog
    dialog.start_button.setEnabled(False)  # as while a run is under way
    dialog.stop_button.setEnabled(True)
    for event in classifier_events(evaluation=False):
        dialog._on_event(event)
    yield 0.8
    shoot(app, out, "classifier_mid_training", report)
    report["dialogs"]["classifier"] = frame_of(dialog)
    for event in classifier_events()[-2:]:
        dialog._on_event(event)
    yield 0.5
    shoot(app, out, "classifier_evaluation", report)
    dialog.settings.set_value("kind", "course")
    dialog.tabs.setCurrentWidget(dialog.curves)
    yield 0.3
    shoot(app, out, "classifier_course_cnn", report)
    dialog.close()

    window.training.open_detector()
    dialog = window.training.detector_dialog
    yield 0.8
    shoot(app, out, "detector_dataset_help", report)
    dialog.start()  # no data.yaml yet: one error
    report["detector_log_errors"] = sum(
        line.startswith("error:") for line in dialog.log.toPlainText().splitlines())
    dialog.settings.set_value("data_yaml", "/home/me/datasets/example_shapes/data.yaml")
    dialog.problem.hide()
    dialog.start_button.setEnabled(False)
    dialog.stop_button.setEnabled(True)
    for event in detector_events():
        dialog._on_event(event)
    dialog.tabs.setCurrentWidget(dialog.curves)
    yield 0.8
    shoot(app, out, "detector_mid_training", report)
    report["dialogs"]["detector"] = frame_of(dialog)
    dialog.close()

    ctx = SimpleNamespace(window=window, data=data, report=report, frame_of=frame_of,
                          clipped=clipped_fields, shoot=lambda name: shoot(app, out, name,
                                                                           report))
    yield from xvfb_presets.presets_step(ctx, stems)
    yield from xvfb_presets.nms_step(ctx)
    yield from xvfb_presets.cnn_lab_step(ctx)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
