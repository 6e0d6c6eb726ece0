"""Open network stream…: recent URLs (masked in the list, full when chosen), the reconnecting
notice drawn over the last frame, and the window never showing a password."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402

from tests.gui.conftest import TIMEOUT_MS  # noqa: E402
from visionapp.core import playback_messages as playback  # noqa: E402
from visionapp.gui.stream_dialog import (  # noqa: E402
    MAX_RECENT,
    StreamDialog,
    recent_streams,
    remember_stream,
)
from visionapp.gui.view import FrameView  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)


def test_recent_streams_newest_first_once_and_capped(settings):
    for i in range(MAX_RECENT + 3):
        remember_stream(settings, f"rtsp://10.0.0.{i}/live")
    remember_stream(settings, "rtsp://10.0.0.5/live")
    urls = recent_streams(settings)
    assert len(urls) == MAX_RECENT and urls[0] == "rtsp://10.0.0.5/live"
    assert urls.count("rtsp://10.0.0.5/live") == 1


def test_dialog_lists_masked_urls_and_opens_the_full_one(qtbot):
    full = "rtsp://admin:hunter2@10.0.0.9:554/ch1"
    dialog = StreamDialog([full, "http://cam.local/video"])
    qtbot.addWidget(dialog)
    shown = [dialog.combo.itemText(i) for i in range(dialog.combo.count())]
    assert shown == ["rtsp://***@10.0.0.9:554/ch1", "http://cam.local/video"]
    assert dialog.url() == full
    dialog.combo.setEditText("ftp://nope")
    dialog._accept()
    assert "rtsp://" in dialog.problem.text() and dialog.result() == 0


def test_notice_is_drawn_over_the_frame(qtbot):
    view = FrameView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.set_frame(np.full((240, 320, 3), 40, np.uint8))
    view.show()
    plain = view.grab().toImage()
    view.set_notice("reconnecting (attempt 2)")
    noticed = view.grab().toImage()
    top = [noticed.pixelColor(x, 28) != plain.pixelColor(x, 28) for x in range(20, 300, 5)]
    assert any(top)
    view.set_notice(None)
    assert view.grab().toImage() == plain


def test_window_shows_the_stream_status_and_hides_passwords(qtbot, window):
    window.open_source("http://viewer:topsecret@127.0.0.1:9/video")
    assert "topsecret" not in window.message.text()
    qtbot.waitUntil(lambda: "could not connect" in window.message.text(), timeout=TIMEOUT_MS)
    assert "topsecret" not in window.message.text()
    window.live._dispatch(playback.SourceStatus("reconnecting (attempt 3)"))
    assert window.view.notice == "reconnecting (attempt 3)"
    window.live._dispatch(playback.SourceStatus(None))
    assert window.view.notice is None
