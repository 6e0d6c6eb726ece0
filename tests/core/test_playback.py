"""The Qt-free playback session: commands in, events and packets out, frames through pipeline.run.

The session is driven here exactly as the window's worker drives it (send a command or None,
read the answer), on the test's own thread, with a wait that never sleeps.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np
import pytest

from tests.conftest import frame_index_of, spy_on_pipeline_run, write_test_video
from visionapp.core import registry
from visionapp.core.params import ProcessorBase
from visionapp.core.playback import PlaybackSession
from visionapp.core.playback_messages import (
    ChainSlot,
    Ended,
    OpenSource,
    Packet,
    Pause,
    Play,
    Problem,
    ProcessorOff,
    RecordingStarted,
    RecordingStopped,
    Seek,
    SetChain,
    SetLoop,
    SourceOpened,
    StartRecording,
    Step,
    StopRecording,
)
from visionapp.core.types import Result

LIMIT = 400  # answers read before a test gives up waiting for something


class Driver:
    """The worker's side of the protocol, synchronous: every answer is kept in ``seen``."""

    def __init__(self, session: PlaybackSession | None = None, wait=lambda seconds: False):
        self.session = session or PlaybackSession()
        self.gen = self.session.run(wait=wait)
        self.seen: list = []
        self._note(next(self.gen))

    def _note(self, answer):
        if answer is not None:
            self.seen.append(answer)
        return answer

    def send(self, command):
        """Send a command; its answer: an event, or None (what it changes shows in later
        packets)."""
        return self._note(self.gen.send(command))

    def idle(self) -> object:
        """One step of playback with no command: a Packet, an event, or None (nothing to do)."""
        return self._note(self.gen.send(None))

    def packet(self, predicate=lambda p: True) -> Packet:
        for _ in range(LIMIT):
            answer = self.idle()
            if isinstance(answer, Packet) and predicate(answer):
                return answer
        raise AssertionError(f"no such packet in {LIMIT} steps; last: {self.seen[-3:]}")

    def event(self, kind: type):
        for _ in range(LIMIT):
            if isinstance(self.idle(), kind):
                return self.seen[-1]
        raise AssertionError(f"no {kind.__name__} in {LIMIT} steps")


def chain(*processors, version=1, keys=None) -> SetChain:
    keys = keys or range(1, len(processors) + 1)
    return SetChain(tuple(ChainSlot(k, p) for k, p in zip(keys, processors, strict=True)),
                    version)


@dataclass(frozen=True)
class Exploding(ProcessorBase):
    """A plug-in with a bug."""

    name: ClassVar[str] = "exploding"

    def __call__(self, frame):
        raise ZeroDivisionError("division by zero in a user plug-in")


@pytest.fixture
def video(tmp_path):
    return write_test_video(tmp_path / "v.mp4", frames=30)


def test_a_file_plays_every_frame_in_order_through_the_chain(video):
    drive = Driver()
    opened = drive.send(OpenSource(str(video)))
    assert isinstance(opened, SourceOpened) and opened.info.frame_count == 30
    drive.send(chain(registry.create("canny")))
    packets = [drive.packet() for _ in range(10)]
    assert [p.position for p in packets] == list(range(10))
    assert [frame_index_of(p.frame.image) for p in packets] == list(range(10))
    assert all(p.results[0].processor == "canny" and p.keys == (1,) for p in packets)
    assert packets[-1].annotated.shape == (120, 160, 3) and packets[-1].chain_version == 1
    stamps = [p.frame.timestamp_ms for p in packets]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))


def test_pause_step_and_seek(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.packet(lambda p: p.position == 4)
    drive.send(Pause())
    assert [drive.idle() for _ in range(20)] == [None] * 20  # paused: nothing to do
    assert drive.send(Step()) is None
    stepped = drive.packet()
    assert stepped.position == 5 and frame_index_of(stepped.frame.image) == 5
    assert drive.idle() is None
    drive.send(Seek(12))
    sought = drive.packet()
    assert sought.position == 12 and frame_index_of(sought.frame.image) == 12
    assert drive.idle() is None
    drive.send(Play())
    assert drive.packet().position == 13


def test_loop_restarts_a_file_and_without_loop_it_ends_paused(tmp_path):
    drive = Driver()
    drive.send(OpenSource(str(write_test_video(tmp_path / "short.mp4", frames=5))))
    positions = [drive.packet().position for _ in range(8)]
    assert positions == [0, 1, 2, 3, 4, 0, 1, 2]  # looping is on by default
    drive.send(SetLoop(False))
    drive.event(Ended)
    assert drive.seen[-2].position == 4  # the last frame, then the end
    assert [drive.idle() for _ in range(10)] == [None] * 10
    stamps = [a.frame.timestamp_ms for a in drive.seen if isinstance(a, Packet)]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))  # also across the loop


def test_a_chain_edit_goes_into_pipeline_run_through_send(video, monkeypatch):
    calls, sent = spy_on_pipeline_run(monkeypatch)
    drive = Driver()
    drive.send(OpenSource(str(video)))
    brighten = registry.create("adjust.brightness_contrast")
    drive.send(chain(brighten, version=1))
    before = drive.packet(lambda p: p.chain_version == 1 and p.position >= 3)
    edited = registry.replace(brighten, beta=80)
    drive.send(chain(edited, version=2))
    after = drive.packet(lambda p: p.chain_version == 2)
    assert len(calls) == 1  # one generator for the whole session: edits do not restart it
    assert sent == [(edited,)]  # the edit went in with send(), once
    assert after.results[0].image.mean() > before.results[0].image.mean() + 60
    drive.packet()
    assert sent == [(edited,)]  # an unchanged chain is not sent again


def test_an_edit_while_paused_runs_the_chain_again_on_the_held_frame(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    held = drive.packet(lambda p: p.position == 2)
    drive.send(Pause())
    drive.send(chain(registry.create("sobel"), version=7))
    again = drive.packet()
    assert again.position == 2 and again.chain_version == 7
    assert again.results[0].processor == "sobel"
    assert again.frame.timestamp_ms > held.frame.timestamp_ms  # a new instant, same picture
    assert np.array_equal(again.frame.image, held.frame.image)
    assert drive.idle() is None


def test_a_failing_processor_is_turned_off_and_the_rest_keeps_running(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    canny, bad = registry.create("canny"), Exploding()
    command = chain(canny, bad)
    drive.send(command)
    off = drive.event(ProcessorOff)
    assert off.key == 2 and "exploding failed and was turned off" in off.message
    assert "ZeroDivisionError" in off.message
    packet = drive.packet()
    assert [r.processor for r in packet.results] == ["canny"] and packet.keys == (1,)
    # The same slots sent again (an edit made before the window heard): it stays off.
    drive.send(dataclasses.replace(command, version=2))
    assert all(p.keys == (1,) for p in (drive.packet() for _ in range(5)))
    assert sum(isinstance(a, ProcessorOff) for a in drive.seen) == 1
    # Ticked again by the user (a new slot object): it runs, and fails, again.
    retry = SetChain((command.slots[0], ChainSlot(2, bad)), 3)
    drive.send(retry)
    drive.event(ProcessorOff)
    assert sum(isinstance(a, ProcessorOff) for a in drive.seen) == 2


def test_a_source_that_cannot_open_is_a_problem_and_playback_goes_on(video, tmp_path):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.packet()
    problem = drive.send(OpenSource(str(tmp_path / "missing.mp4")))
    assert isinstance(problem, Problem) and "does not exist" in problem.message
    assert drive.packet().source.name == "v.mp4"


def test_recording_gets_every_processed_frame(video, tmp_path):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.send(chain(registry.create("canny")))
    drive.packet()
    path = tmp_path / "rec.mp4"
    started = drive.send(StartRecording(path))
    assert started == RecordingStarted(path)
    recorded = [drive.packet() for _ in range(12)]
    assert all(p.recording for p in recorded)
    stopped = drive.send(StopRecording())
    assert isinstance(stopped, RecordingStopped) and stopped.error is None
    assert stopped.frames == 12 and stopped.path == path
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 12


def test_closing_the_session_keeps_the_recording_and_closes_the_source(video, tmp_path):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.send(StartRecording(tmp_path / "rec.mp4"))
    for _ in range(5):
        drive.packet()
    drive.gen.close()
    assert (tmp_path / "rec.mp4").is_file()
    assert drive.session._source is None


def test_files_are_paced_at_their_frame_rate_and_a_command_cuts_the_wait_short(video):
    now = [100.0]
    waits = []

    def wait(seconds):
        waits.append(seconds)
        now[0] += seconds
        return False

    drive = Driver(PlaybackSession(clock=lambda: now[0]), wait=wait)
    drive.send(OpenSource(str(video)))  # 10 fps
    drive.packet()
    start = now[0]
    for _ in range(10):
        drive.packet()
    assert now[0] - start == pytest.approx(1.0, abs=0.02)  # ten frames at 10 fps
    assert all(w <= 0.1 + 1e-9 for w in waits)

    interrupted = Driver(PlaybackSession(clock=lambda: now[0]), wait=lambda seconds: True)
    interrupted.send(OpenSource(str(video)))
    interrupted.packet()
    # Each wait ends with "a command arrived": no frame is read, the command goes first.
    assert [interrupted.idle() for _ in range(5)] == [None] * 5
    interrupted.send(Step())
    assert interrupted.idle().position == 1  # stepping is not paced


def test_a_live_source_is_latest_frame_wins():
    drive = Driver()
    drive.send(OpenSource("demo:size=160x120,fps=1000"))
    first = drive.packet()
    assert first.source.is_live

    def slow_reader(packet: Packet) -> bool:
        time.sleep(0.005)  # a consumer slower than the 1000 fps camera: frames must be dropped
        return packet.dropped > 0

    later = drive.packet(slow_reader)
    assert later.frame.index > first.frame.index


def test_timings_fps_and_memory_are_measured(video):
    drive = Driver(PlaybackSession())
    drive.send(OpenSource(str(video)))
    drive.send(chain(registry.create("canny"), registry.create("sobel"), keys=(5, 9)))
    packet = [drive.packet() for _ in range(6)][-1]
    assert set(packet.timings_ms) == {5, 9}
    p50, p95 = packet.timings_ms[5]
    assert 0 < p50 <= p95
    assert packet.fps > 0 and packet.rss_mb > 10


def test_something_else_sent_is_refused():
    drive = Driver()
    with pytest.raises(TypeError, match="not a playback command"):
        drive.send("pause")


def test_results_keep_their_slot_keys_when_a_processor_is_off(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    slots = (ChainSlot(3, registry.create("canny"), enabled=False),
             ChainSlot(4, registry.create("sobel")))
    drive.send(SetChain(slots, 1))
    packet = drive.packet(lambda p: p.chain_version == 1)
    assert packet.keys == (4,) and isinstance(packet.results[0], Result)
    assert packet.results[0].processor == "sobel"


def test_the_batch_path_and_the_window_drive_the_same_generator(video, tmp_path, monkeypatch):
    """One code path from source to result: `visionapp process` and the window's playback both
    run their frames through pipeline.run."""
    from visionapp.cli import main as cli_main

    calls, _ = spy_on_pipeline_run(monkeypatch)
    assert cli_main(["process", str(video), "-p", "canny", "--detections",
                     str(tmp_path / "out.jsonl"), "-q"]) == 0
    assert [tuple(p.name for p in chain) for chain in calls] == [("canny",)]
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.send(chain(registry.create("canny")))
    assert drive.packet().results[0].processor == "canny"
    assert [tuple(p.name for p in chain) for chain in calls] == [("canny",), ("canny",)]
