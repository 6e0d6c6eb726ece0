"""Shared fixtures: isolated user folders, shared assets (fail in CI, skip locally), tiny videos."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VISIONAPP_SHARED_DIR", REPO.parent / "shared")).resolve()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["VISIONAPP_OFFLINE"] = "1"
if (SHARED / "models").is_dir():
    os.environ.setdefault("VISIONAPP_MODELS_DIR", str(SHARED / "models"))


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the real ~/.cache, ~/.config or ~/.local/share."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VISIONAPP_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("VISIONAPP_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("VISIONAPP_DATA_DIR", str(home / "data"))


def shared_path(relative: str) -> Path:
    """A file under ../shared; missing → fail under CI=true, skip elsewhere."""
    path = SHARED / relative
    if not path.exists():
        message = f"shared asset {path} is missing"
        if IN_CI:
            pytest.fail(message + " (CI=true: asset tests must run)")
        pytest.skip(message)
    return path


@pytest.fixture
def shared():
    return shared_path


def write_test_video(path: Path, frames: int = 30, size_wh=(160, 120), fps: float = 10.0,
                     fourcc: str = "mp4v") -> Path:
    """A video whose frame i shows a white square at x = 4·i on black, plus i written as a
    grey level in the top-left 8×8 block (so a decoded frame tells its own index)."""
    w, h = size_wh
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened()
    for i in range(frames):
        image = np.zeros((h, w, 3), np.uint8)
        x = (4 * i) % (w - 30)
        image[40:70, x + 10 : x + 40] = 255
        image[0:8, 0:8] = (i * 8) % 256
        writer.write(image)
    writer.release()
    return path


@pytest.fixture
def tiny_video(tmp_path) -> Path:
    return write_test_video(tmp_path / "tiny.mp4")


def frame_count(path: Path) -> int:
    """Frames a video really holds (decoded one by one, not the container's count)."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def frame_index_of(image: np.ndarray) -> int:
    """Read back the index that write_test_video encoded (valid for < 32 frames)."""
    return int(round(float(image[2:6, 2:6].mean()) / 8))


def spy_on_pipeline_run(monkeypatch) -> tuple[list, list]:
    """Wrap ``pipeline.run`` (every driver's generator) in a transparent spy; returns the lists
    it fills: the processors of each call, and every chain sent into a running generator."""
    from visionapp.core import pipeline

    calls: list = []
    sent: list = []
    real = pipeline.run

    def spy(frames, processors, on_error=None):
        calls.append(processors)
        inner = real(frames, processors, on_error)
        value = None
        while True:
            try:
                out = inner.send(value)
            except StopIteration:
                return
            value = yield out
            if value is not None:
                sent.append(value)

    monkeypatch.setattr(pipeline, "run", spy)
    return calls, sent
