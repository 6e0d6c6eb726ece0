"""The window under pytest-qt (offscreen): live edits, playback, snapshot/record, errors, chains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6")

from tests.conftest import (  # noqa: E402
    REPO,
    frame_index_of,
    spy_on_pipeline_run,
    write_test_video,
)
from tests.gui.conftest import TIMEOUT_MS, next_packet  # noqa: E402
from visionapp.cli import main as cli_main  # noqa: E402
from visionapp.core.params import ProcessorBase  # noqa: E402
from visionapp.gui.view import qimage_from_bgr  # noqa: E402
from visionapp.gui.window import MainWindow  # noqa: E402


def test_qimage_shares_the_numpy_buffer():
    image = np.zeros((4, 5, 3), np.uint8)
    image[1, 2] = (10, 20, 30)  # BGR
    qimg = qimage_from_bgr(image)
    assert (qimg.width(), qimg.height(), qimg.bytesPerLine()) == (5, 4, 15)
    color = qimg.pixelColor(2, 1)
    assert (color.red(), color.green(), color.blue()) == (30, 20, 10)
    padded = np.zeros((4, 8, 3), np.uint8)[:, :5]  # rows longer than the image
    assert qimage_from_bgr(padded).bytesPerLine() == 15  # made contiguous first


def test_canny_threshold_edit_changes_the_next_frame(qtbot, window):
    window.open_source("demo:")
    window.chain.add("canny")
    first = next_packet(qtbot, window, lambda p: p.results and p.results[0].processor == "canny")
    edges_before = int(np.count_nonzero(first.results[0].overlay))
    version = first.chain_version
    low = window.chain.panel.editors["low"]
    high = window.chain.panel.editors["high"]
    high.set_value(900)  # through the widgets, as a user would
    low.set_value(800)
    after = next_packet(qtbot, window, lambda p: p.chain_version > version + 0 and
                        p.results and window.chain.slots[0].processor.low == 800 and
                        p.chain_version == window.live.chain_version)
    edges_after = int(np.count_nonzero(after.results[0].overlay))
    assert window.chain.slots[0].processor.low == 800
    assert edges_after < edges_before / 3
    assert "loading" not in window.chain.list.item(0).text()


def test_a_chain_edit_in_the_window_reaches_pipeline_run_through_send(qtbot, monkeypatch,
                                                                      window):
    calls, sent = spy_on_pipeline_run(monkeypatch)
    window.open_source("demo:size=320x240")
    window.chain.add("canny")
    next_packet(qtbot, window, lambda p: p.results and p.results[0].processor == "canny")
    window.chain.panel.editors["high"].set_value(900)  # through the widgets, as a user would
    window.chain.panel.editors["low"].set_value(800)
    qtbot.waitUntil(lambda: not window.chain._debounce.isActive())
    after = next_packet(qtbot, window, lambda p: p.chain_version == window.live.chain_version)
    assert after.results[0].processor == "canny"
    assert len(calls) == 1  # one generator for the window's life: the edit did not restart it
    edited = [chain for chain in sent if chain and chain[0].name == "canny"
              and (chain[0].low, chain[0].high) == (800, 900)]
    assert edited, f"the edit never went in through send(): {sent}"


def test_pause_step_and_seek_land_on_the_right_frame(qtbot, window, tmp_path):
    video = write_test_video(tmp_path / "v.mp4", frames=30)
    window.open_source(str(video))
    next_packet(qtbot, window)
    window.set_paused(True)
    qtbot.wait(200)
    window.seek_to(12)
    packet = next_packet(qtbot, window, lambda p: p.position == 12)
    assert packet.frame.index == 12 and frame_index_of(packet.frame.image) == 12
    window.step()
    packet = next_packet(qtbot, window, lambda p: p.position == 13)
    assert frame_index_of(packet.frame.image) == 13
    qtbot.wait(300)  # paused: no further frames arrive
    assert window.packet.position == 13


def test_snapshot_and_record_write_decodable_files(qtbot, window, tmp_path):
    window.open_source("demo:size=320x240")
    window.chain.add("canny")
    next_packet(qtbot, window)
    window.bar.snap_raw.setChecked(True)
    saved = window.capture.snapshot()
    assert len(saved) == 2
    assert cv2.imread(str(saved[0])).shape[:2] == (240, 320)
    assert cv2.imread(str(saved[1])).shape[:2] == (240, 320)
    window.capture.toggle_record()
    qtbot.waitUntil(lambda: window.capture.recording, timeout=TIMEOUT_MS)
    start = window.packet.frame.index
    qtbot.waitUntil(lambda: window.packet.frame.index > start + 20, timeout=TIMEOUT_MS)
    window.capture.toggle_record()
    qtbot.waitUntil(lambda: not window.capture.recording, timeout=TIMEOUT_MS)
    (path,) = (Path(os.environ["VISIONAPP_DATA_DIR"]) / "recordings").glob("*.mp4")
    cap = cv2.VideoCapture(str(path))
    n = 0
    while (ok_frame := cap.read())[0]:
        n += 1
        assert ok_frame[1].shape[:2] == (240, 320)
    assert n >= 20 and "saved" in window.message.text()


@dataclass(frozen=True)
class Exploding(ProcessorBase):
    """A plug-in with a bug."""

    name: ClassVar[str] = "exploding"

    def __call__(self, frame):
        raise ZeroDivisionError("division by zero in a user plug-in")


def test_a_failing_processor_is_turned_off_and_the_app_keeps_running(qtbot, window):
    window.open_source("demo:size=320x240")
    window.chain.add("canny")
    window.chain.add_processor(Exploding())
    qtbot.waitUntil(lambda: "exploding failed" in window.message.last_error,
                    timeout=TIMEOUT_MS)
    assert not window.chain.slots[1].enabled and "failed" in window.chain.list.item(1).text()
    assert "ZeroDivisionError" in window.message.text()
    first = next_packet(qtbot, window)
    packet = next_packet(qtbot, window, lambda p: p.frame.index > first.frame.index + 3)
    assert [r.processor for r in packet.results] == ["canny"]


def test_bad_source_shows_a_message_and_keeps_running(qtbot, window, tmp_path):
    window.open_source("demo:size=320x240")
    next_packet(qtbot, window)
    window.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: "does not exist" in window.message.text(), timeout=TIMEOUT_MS)
    first = next_packet(qtbot, window)
    next_packet(qtbot, window, lambda p: p.frame.index > first.frame.index)  # still playing


def test_template_drawn_on_the_view(qtbot, window):
    window.open_source("demo:size=320x240")
    next_packet(qtbot, window)
    window.set_paused(True)
    window.gestures.on_rect(100, 60, 40, 30)
    (slot,) = window.chain.slots
    assert slot.processor.name == "template" and Path(slot.processor.template_path).is_file()
    packet = next_packet(qtbot, window, lambda p: p.results and
                         p.results[0].processor == "template")
    assert len(packet.results[0].detections) >= 1


def test_chain_saved_from_gui_runs_identically_in_cli(qtbot, window, tmp_path, capsys):
    video = write_test_video(tmp_path / "v.mp4", frames=6)
    window.chain.add("adjust.brightness_contrast")
    window.chain.add("canny")
    window.chain.set_param(0, "beta", 40)
    window.chain.set_param(1, "low", 20)
    window.chain.set_param(1, "view", "blend")
    qtbot.waitUntil(lambda: not window.chain._debounce.isActive())  # edits sent to the worker
    chain_file = tmp_path / "chain.toml"
    window.chain_files.save(chain_file)
    window.open_source(str(video))
    window.set_paused(True)
    window.seek_to(0)
    gui_packet = next_packet(qtbot, window, lambda p: p.position == 0 and len(p.results) == 2
                             and p.chain_version == window.live.chain_version)
    out = tmp_path / "cli.jsonl"
    frames = tmp_path / "frames"
    assert cli_main(["process", str(video), "--chain", str(chain_file), "--detections",
                     str(out), "--frames-dir", str(frames), "-q"]) == 0
    cli_frame = cv2.imread(str(frames / "v_000000.png"))
    assert np.array_equal(cli_frame, gui_packet.annotated)
    assert json.loads(out.read_text().splitlines()[0])["frame"] == 0


def test_settings_persist_chain_and_source(qtbot, tmp_path):
    first = MainWindow()
    qtbot.addWidget(first)
    first.chain.add("sobel", {"ksize": 5})
    first.source_spec = "demo:size=320x240"
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    source, restored = second.restore_settings()
    assert restored and source == "demo:size=320x240"
    assert [s.processor.name for s in second.chain.slots] == ["sobel"]
    assert second.chain.slots[0].processor.ksize == 5
    second.close()


def test_real_window_under_xvfb_saves_a_screenshot(tmp_path):
    """A real X server, the real main.py, a processed frame on screen, a PNG artifact."""
    xvfb = subprocess.run(["which", "Xvfb"], capture_output=True, text=True).stdout.strip()
    if not xvfb:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing: setup.sh installs it (apt-get install xvfb)")
        pytest.skip("Xvfb not installed")
    display = f":{90 + os.getpid() % 9}"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "main_window_xvfb.png"
    shot.unlink(missing_ok=True)
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "VISIONAPP_CONFIG_DIR": str(tmp_path / "cfg")}
        result = subprocess.run(
            [sys.executable, str(REPO / "main.py"), "--source", "demo:", "-p", "haar.faces",
             "-p", "canny", "--set", "canny.view=blend", "--screenshot", str(shot)],
            env=env, capture_output=True, text=True, timeout=90)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] >= 400 and image.shape[1] >= 800
    assert image.std() > 20  # a real picture, not a blank window


def test_mediapipe_processor_live_in_the_chain(qtbot, window, shared, monkeypatch, tmp_path):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/face_landmarker.task").parent))
    video = write_test_video(tmp_path / "v.mp4", frames=20)
    window.open_source(str(video))
    window.chain.add("mediapipe.face_detection")
    assert "mediapipe.face_detection" in [window.chain.picker.itemText(i)
                                          for i in range(window.chain.picker.count())]
    stamps = []
    window.frame_shown.connect(lambda p: stamps.append(p.frame.timestamp_ms))
    next_packet(qtbot, window, lambda p: p.position >= 3)
    window.open_source("demo:")  # a source switch: timestamps must keep increasing
    packet = next_packet(qtbot, window, lambda p: p.source.kind == "demo" and p.results
                         and len(p.results[0].detections) >= 1)
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    assert packet.results[0].detections.labels[0] == "face"
    window.chain.panel.editors["min_detection_confidence"].set_value(1.0)
    qtbot.waitUntil(lambda: not window.chain._debounce.isActive())
    after = next_packet(qtbot, window, lambda p: p.chain_version == window.live.chain_version
                        and p.results)
    assert len(after.results[0].detections) == 0


def test_detector_dialog_trains_stops_and_hands_over_the_model(qtbot, window, shared,
                                                               monkeypatch, tmp_path):
    from tests.training_data import yolo_dataset
    from visionapp import paths
    from visionapp.training.progress import Epoch

    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/yolov8n.pt").parent))
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "models")
    (tmp_path / "models").mkdir()
    data = yolo_dataset(tmp_path / "ds")
    window.training.open_detector()
    dialog = window.training.detector_dialog
    for name, value in (("data_yaml", str(data)), ("weights", "yolov8n.pt"), ("epochs", 30),
                        ("imgsz", 160), ("batch", 4), ("device", "cpu"),
                        ("name", "gui_shapes")):
        dialog.settings.set_value(name, value)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: any(isinstance(e, Epoch) for e in dialog.events), timeout=120_000)
    assert dialog.progress.value() > 0 and dialog.curves.series
    dialog.stop_button.click()  # stop: ends after the current batch, keeps the best so far
    qtbot.waitUntil(lambda: dialog.use_button.isEnabled(), timeout=120_000)
    epochs = [e.epoch for e in dialog.events if isinstance(e, Epoch)]
    assert max(epochs) < 30 and "stopped early" in dialog.log.toPlainText()
    dialog.use_button.click()
    (slot,) = window.chain.slots
    assert slot.processor.name == "yolo.detect" and slot.processor.weights.endswith(
        "gui_shapes.pt")
    dialog.close()


def test_clicking_a_yolo_box_explains_its_nms(qtbot, window, shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/yolov8n.pt").parent))
    window.open_source(str(shared("data/videos/slow_traffic_small.mp4")))
    window.chain.add("yolo.detect", {"backend": "pytorch", "imgsz": 320, "conf": 0.1})
    packet = next_packet(qtbot, window, lambda p: p.results and len(p.results[0].detections))
    window.set_paused(True)
    x1, y1, x2, y2 = packet.results[0].detections.xyxy[0]
    window.gestures.on_click(int((x1 + x2) / 2), int((y1 + y2) / 2))
    assert window.chain.slots[0].processor.show_candidates
    qtbot.waitUntil(lambda: not window.chain._debounce.isActive())
    shown = next_packet(qtbot, window, lambda p: p.chain_version == window.live.chain_version
                        and p.results and p.results[0].candidates is not None)
    assert "candidates ->" in shown.results[0].text[1]


def test_classifier_dialog_trains_stops_and_hot_swaps_the_model(qtbot, window, monkeypatch,
                                                                tmp_path):
    from tests.training_data import shapes_dataset
    from visionapp import paths
    from visionapp.training.progress import Epoch

    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "models")
    data = shapes_dataset(tmp_path / "shapes", per_class=20)
    window.open_source("demo:size=320x240")
    window.chain.add("classifier", {"model": "dialog_model.keras"})
    waiting = next_packet(qtbot, window, lambda p: p.results)
    assert "no model" in waiting.results[0].text[0]
    window.training.open_classifier()
    dialog = window.training.classifier_dialog
    for name, value in (("dataset", str(data)), ("kind", "course"),  # the course CNN: quick
                        ("epochs", 200), ("batch", 8), ("name", "dialog_model")):
        dialog.settings.set_value(name, value)
    dialog.summary_button.click()
    qtbot.waitUntil(lambda: dialog.summary.rowCount() > 5, timeout=60_000)
    total = dialog.summary.item(dialog.summary.rowCount() - 1, 3).text()
    assert total == "813,217"  # the course CNN's parameter arithmetic
    dialog.start_button.click()
    qtbot.waitUntil(lambda: sum(isinstance(e, Epoch) for e in dialog.events) >= 2,
                    timeout=120_000)
    assert dialog.progress.value() > 0 and "accuracy" in dialog.curves.series
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: dialog.use_button.isEnabled(), timeout=120_000)
    assert max(e.epoch for e in dialog.events if isinstance(e, Epoch)) < 200
    assert dialog.confusion_grid.confusion.shape == (2, 2)
    dialog.use_button.click()
    swapped = next_packet(qtbot, window, lambda p: p.results and
                          p.results[0].text[0].startswith("classifier: ")
                          and "no model" not in p.results[0].text[0])
    assert swapped.results[0].text[0].split()[1] in ("circles", "squares")
    path = window.training.add_frame_to_class(str(tmp_path / "collected"), "cats")
    assert path is not None and path.parent.name == "cats" and cv2.imread(str(path)) is not None
    dialog.close()
