"""The window's fixtures: a real MainWindow (offscreen), and a wait for the next painted frame."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from visionapp.gui.window import MainWindow  # noqa: E402

# Generous: a model loads on the first frame that needs it, slowly on a busy 2-core machine.
TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONAPP_DATA_DIR", str(tmp_path / "data"))
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    yield win
    win.close()


def next_packet(qtbot, window, predicate=lambda p: True):
    """Wait for a painted frame for which ``predicate`` holds; return its Packet."""
    seen = []

    def check(packet):
        if predicate(packet):
            seen.append(packet)

    window.frame_shown.connect(check)
    try:
        qtbot.waitUntil(lambda: bool(seen), timeout=TIMEOUT_MS)
    finally:
        window.frame_shown.disconnect(check)
    return seen[0]
