"""The window for a newcomer: the first-run preset panel, a preset that runs, a video that keeps
playing while a model loads, the REC badge, shortcuts that need the view's focus, honest readouts
for stills, the source box and recent sources, the Help menu, and ``-v``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from tests.conftest import REPO, write_test_video
from tests.gui.conftest import TIMEOUT_MS, next_packet
from tests.slow_loading import SlowFirstCall, forget_loads
from visionapp.core.params import ProcessorBase
from visionapp.core.types import Result
from visionapp.gui import app as gui_app
from visionapp.gui.start_panel import FEATURED
from visionapp.gui.window import MainWindow


@pytest.fixture(autouse=True)
def _nothing_loaded_yet():
    forget_loads()
LOAD_S = 2.0


@dataclass(frozen=True)
class SlowToLoad(SlowFirstCall, ProcessorBase):
    """Stands in for a network that takes seconds to load: ``prepare`` sleeps, frames are fast."""

    name: ClassVar[str] = "test.slow_load"
    load_s: ClassVar[float] = LOAD_S


    def loading_note(self, frame) -> str:
        return "loading the test network — first time only"

    def __call__(self, frame) -> Result:
        self.load()
        return Result(self.name, text=("slow model ready",))


def test_first_run_shows_what_to_do_and_a_preset_button_loads_a_chain_that_runs(qtbot, window):
    window.open_source("demo:size=320x240")
    assert window.start.isVisible() and not window.chain.slots
    assert "Pick a preset" in window.start.heading.text()
    assert set(FEATURED) <= set(window.start.buttons)
    assert window.start.buttons["faces"].text() == "Faces"
    assert "BlazeFace" in window.start.buttons["faces"].toolTip()
    qtbot.mouseClick(window.start.buttons["edges"], Qt.MouseButton.LeftButton)
    assert [s.processor.name for s in window.chain.slots] == ["canny", "sobel"]
    assert not window.start.isVisible()
    assert window.message.text().startswith("Edges — Canny edges")
    packet = next_packet(qtbot, window, lambda p: len(p.results) == 2)
    assert [r.processor for r in packet.results] == ["canny", "sobel"]
    assert packet.annotated.shape[1] == 2 * 320  # Canny | Sobel side by side
    window.chain.list.setCurrentRow(0)
    window.chain.remove_current()
    window.chain.remove_current()
    assert window.start.isVisible()  # an empty chain offers the presets again


def test_the_view_keeps_playing_while_a_slow_processor_loads(qtbot, window):
    window.open_source("demo:size=320x240")
    next_packet(qtbot, window)
    shown = []
    window.frame_shown.connect(lambda p: shown.append((time.perf_counter(), p)))
    added = time.perf_counter()
    window.chain.add_processor(SlowToLoad())
    key = window.chain.slots[0].key
    qtbot.waitUntil(lambda: bool(shown) and key in shown[-1][1].loading, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "first time only" in window.chain.list.item(0).text(),
                    timeout=TIMEOUT_MS)
    assert any("test.slow_load: loading the test network" in n for n in window.view.notes)
    ready = next_packet(qtbot, window, lambda p: key in p.keys)
    waited = time.perf_counter() - added
    during = [p for at, p in shown if at < added + LOAD_S - 0.2]
    assert waited >= LOAD_S - 0.1
    # The video went on: frames kept coming (a 30 fps demo; generous for a busy 2-core box).
    assert len(during) >= 10, f"only {len(during)} frames shown in {LOAD_S} s of loading"
    assert len({p.frame.index for p in during}) == len(during)
    assert all(key not in p.keys for p in during)
    assert ready.results[0].text == ("slow model ready",)
    assert ready.load_s[key] >= LOAD_S - 0.1  # the load, reported on its own …
    assert ready.timings_ms[key][1] < 200  # … and not in the per-frame p95
    qtbot.waitUntil(lambda: "loading" not in window.chain.list.item(0).text())
    qtbot.waitUntil(lambda: not window.view.notes)
    window.readouts.update_stats()
    stats = window.readouts.stats.text()
    assert "load + warm-up" in stats and "test.slow_load" in stats.split("load + warm-up")[1]


def test_rec_badge_shows_the_time_recorded(qtbot, window):
    window.open_source("demo:size=320x240")
    next_packet(qtbot, window)
    assert window.view.badge == ""
    window.capture.toggle_record()
    qtbot.waitUntil(lambda: window.view.badge.startswith("● REC 00:0"), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.view.badge == "● REC 00:01", timeout=5000)
    window.capture.toggle_record()
    qtbot.waitUntil(lambda: not window.capture.recording, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.view.badge == "")


def _snapshots() -> list[Path]:
    return list((Path(os.environ["VISIONAPP_DATA_DIR"]) / "snapshots").glob("*.png"))


def test_single_key_shortcuts_work_only_while_the_view_has_focus(qtbot, window):
    window.open_source("demo:size=320x240")
    next_packet(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.view.hasFocus())  # the view takes the focus at start
    window.chain.picker.setFocus()
    qtbot.waitUntil(lambda: window.chain.picker.hasFocus())
    qtbot.keyClick(window.chain.picker, Qt.Key.Key_S)
    assert _snapshots() == []
    qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton)  # a click gives the view focus
    qtbot.waitUntil(lambda: window.view.hasFocus())
    qtbot.keyClick(window.view, Qt.Key.Key_S)
    assert len(_snapshots()) == 1
    qtbot.keyClick(window.view, Qt.Key.Key_Space)
    assert window.bar.play.isChecked()  # paused


def test_a_still_shows_no_frame_rate_or_age_and_original_shows_the_frame(qtbot, window,
                                                                          tmp_path):
    image = np.full((90, 120, 3), 60, np.uint8)
    cv2.circle(image, (60, 45), 20, (255, 255, 255), -1)
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), image)
    window.chain.add("canny")
    window.open_source(str(path))
    packet = next_packet(qtbot, window, lambda p: p.results)
    assert packet.frame.still
    window.readouts.update_stats()
    stats = window.readouts.stats.text()
    assert "fps" not in stats and "frame age" not in stats and "still image" in stats
    assert window.original._array is None
    window.bar.side_by_side.setChecked(True)  # no new frame comes: the still is shown anyway
    assert np.array_equal(window.original._array, image)


def test_source_box_shows_what_is_open_and_remembers_recent_files(qtbot, tmp_path):
    video = write_test_video(tmp_path / "clip.mp4", frames=20)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.open_source(str(video))
    qtbot.waitUntil(lambda: first.bar.source_box.currentText() == "clip.mp4",
                    timeout=TIMEOUT_MS)
    first.open_source("demo:size=320x240")
    qtbot.waitUntil(lambda: first.bar.source_box.currentText().startswith("demo"),
                    timeout=TIMEOUT_MS)
    first.close()
    second = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    second.open_source("demo:")
    qtbot.waitUntil(lambda: second.source_info is not None, timeout=TIMEOUT_MS)
    box = second.bar.source_box
    assert box.findData(str(video)) >= 0  # recent, across sessions
    assert box.currentText() == "Demo scene"
    second.close()


def test_no_camera_means_the_demo_scene_and_a_message(monkeypatch):
    monkeypatch.setattr("visionapp.core.sources.list_cameras", lambda: [])
    assert gui_app.default_source("") == ("demo:", gui_app.NO_CAMERA)
    assert gui_app.default_source("demo:size=320x240") == ("demo:size=320x240", "")
    monkeypatch.setattr("visionapp.core.sources.list_cameras", lambda: [(2, "cam")])
    assert gui_app.default_source("") == ("2", "")


def test_help_menu_lists_shortcuts_folders_and_about(window):
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    entries = [a.text() for a in menus["Help"].actions()]
    assert entries == ["Keyboard shortcuts", "Open the snapshots folder",
                       "Open the recordings folder", "About visionapp"]
    from visionapp import paths
    from visionapp.gui.help_menu import about_html

    about = about_html()
    assert "PySide6" in about and "logical CPUs" in about
    assert all(str(folder) in about for folder, _ in paths.model_search_dirs())


@pytest.mark.parametrize("flag", [[], ["-v"], ["--verbose"]])
def test_verbose_flag_of_the_window(flag, tmp_path):
    """In a child process: the window's event loop runs and quits there, not in this one."""
    code = """
import logging, os, sys
from visionapp.gui.app import main
code = main([*sys.argv[1:], "--source", "demo:size=160x120", "--exit-after-first-frame"])
print(code, os.environ.get("YOLO_VERBOSE"), os.environ.get("TF_CPP_MIN_LOG_LEVEL", "unset"),
      logging.getLevelName(logging.getLogger().level))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "VISIONAPP_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    run = subprocess.run([sys.executable, "-c", code, *flag], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    expected = ["0", "true", "unset", "INFO"] if flag else ["0", "false", "3", "WARNING"]
    assert run.stdout.split()[-4:] == expected
