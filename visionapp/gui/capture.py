"""Snapshots (the processed frame, optionally the raw one, as PNG) and recordings of the view.

Both go to the user's data folder (``snapshots/``, ``recordings/``) under names that do not exist
yet. Recording runs on the playback worker, so it gets every processed frame even when the
display skips some; this side asks for it and shows what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from visionapp import paths
from visionapp.core.outputs import write_image
from visionapp.core.playback_messages import (
    Packet,
    RecordingStarted,
    RecordingStopped,
    StartRecording,
    StopRecording,
)
from visionapp.gui.controls import PlaybackBar
from visionapp.gui.live import LiveWorker
from visionapp.gui.status_line import StatusLine


def output_dir(kind: str) -> Path:
    """Where snapshots and recordings go (created on first use)."""
    folder = paths.user_data_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Capture:
    def __init__(self, live: LiveWorker, bar: PlaybackBar, status: StatusLine,
                 packet: Callable[[], Packet | None]):
        self._live = live
        self._bar = bar
        self._status = status
        self._packet = packet
        self.recording = False  # as last reported by the worker
        self.started_s = 0.0  # perf_counter() when the recording started
        live.on(RecordingStarted, self._started)
        live.on(RecordingStopped, self._stopped)

    def snapshot(self) -> list[Path]:
        """Save the processed frame (and with "+ raw" the frame as captured); the paths used."""
        packet = self._packet()
        if packet is None:
            self._status.error("nothing to snapshot yet")
            return []
        folder = output_dir("snapshots")
        stem = datetime.now().strftime("snapshot_%Y%m%d_%H%M%S")
        saved = [write_image(paths.unique_path(folder, stem, ".png"), packet.annotated)]
        if self._bar.snap_raw.isChecked():
            saved.append(write_image(paths.unique_path(folder, stem + "_raw", ".png"),
                                     packet.frame.image))
        self._status.info("saved " + ", ".join(str(p) for p in saved))
        return saved

    def toggle_record(self) -> None:
        if self.recording:
            self._live.send(StopRecording())
        else:
            stem = datetime.now().strftime("recording_%Y%m%d_%H%M%S")
            self._live.send(StartRecording(paths.unique_path(output_dir("recordings"), stem,
                                                             ".mp4")))

    def _started(self, event: RecordingStarted) -> None:
        self.recording = True
        self.started_s = time.perf_counter()
        self._bar.set_recording(True)
        self._status.info(f"recording to {event.path}")

    def badge(self) -> str:
        """"● REC 01:23" while recording (the time since it started), else ""."""
        if not self.recording:
            return ""
        seconds = int(time.perf_counter() - self.started_s)
        return f"● REC {seconds // 60:02d}:{seconds % 60:02d}"

    def _stopped(self, event: RecordingStopped) -> None:
        self.recording = False
        self._bar.set_recording(False)
        if event.error:
            self._status.error(f"recording failed: {event.error}")
        else:
            self._status.info(f"saved {event.frames} frames to {event.path}")
