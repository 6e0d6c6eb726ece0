"""Loading in the background (Qt-free): the session keeps delivering frames while a processor
warms up, reports what the load does and how long it took apart from per-frame times, turns off
a processor whose load fails, and a slider dragged through a model setting never piles up
loads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from tests.conftest import write_test_video
from tests.core.test_playback import Driver, chain
from tests.slow_loading import SlowFirstCall, forget_loads
from visionapp.core import registry
from visionapp.core.errors import ModelNotFound
from visionapp.core.params import ProcessorBase, param
from visionapp.core.playback_messages import OpenSource, Packet, ProcessorOff
from visionapp.core.prepare import Loader, loading_note
from visionapp.core.types import Frame, Result


@pytest.fixture(autouse=True)
def _nothing_loaded_yet():
    forget_loads()
LOAD_S = 0.6


@dataclass(frozen=True)
class SlowToLoad(SlowFirstCall, ProcessorBase):
    name: ClassVar[str] = "test.slow_load"
    load_s: ClassVar[float] = LOAD_S
    level: int = param(1, min=0, max=100)


    def loading_note(self, frame: Frame) -> str:
        return f"loading level {self.level} for {frame.image.shape[1]} px"

    def __call__(self, frame: Frame) -> Result:
        self.load()
        return Result(self.name, text=(f"level {self.level}",))


@dataclass(frozen=True)
class MissingModel(ProcessorBase):
    name: ClassVar[str] = "test.missing_model"

    def __call__(self, frame: Frame) -> Result:
        raise ModelNotFound("model 'x.task' not found; run 'visionapp models fetch x.task'")


def packet_within(drive: Driver, predicate, seconds: float = 10.0):
    """The first packet for which ``predicate`` holds, stepping in real time (a load takes
    wall-clock time, which a fixed number of fast steps may not cover)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        answer = drive.idle()
        if answer is None:
            time.sleep(0.005)
        elif isinstance(answer, Packet) and predicate(answer):
            return answer
    raise AssertionError(f"no such packet within {seconds} s; last: {drive.seen[-2:]}")


@pytest.fixture
def video(tmp_path):
    return write_test_video(tmp_path / "v.mp4", frames=30)


def test_frames_keep_coming_while_a_processor_loads_and_it_joins_after(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.send(chain(registry.create("canny"), SlowToLoad(), version=3))
    started = time.perf_counter()
    during = []
    while time.perf_counter() - started < LOAD_S * 0.8:
        during.append(drive.packet())
    assert len(during) >= 5  # no wait for the load: the file plays on (at decode speed here)
    assert all(p.keys == (1,) for p in during)  # canny was ready at once, the slow one not
    assert all(p.loading.keys() == {2} for p in during)
    note, since = during[-1].loading[2]
    assert note == "loading level 1 for 160 px" and since >= started - 0.1
    assert all(p.chain_version == 0 for p in during)  # version 3 is not running yet
    joined = packet_within(drive, lambda p: 2 in p.keys)
    assert joined.chain_version == 3 and not joined.loading
    assert joined.results[1].text == ("level 1",)
    assert joined.load_s[2] >= LOAD_S
    later = [drive.packet() for _ in range(5)][-1]
    assert later.timings_ms[2][1] < LOAD_S * 1000 / 4  # p95 per frame excludes the load


def test_an_edit_keeps_the_old_version_running_until_the_new_one_is_loaded(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    first = SlowToLoad(level=1)
    drive.send(chain(first, version=1))
    packet_within(drive, lambda p: p.chain_version == 1)
    drive.send(chain(SlowToLoad(level=2), version=2))
    meanwhile = drive.packet()
    assert meanwhile.results[0].text == ("level 1",) and 1 in meanwhile.loading
    after = packet_within(drive, lambda p: p.chain_version == 2)
    assert after.results[0].text == ("level 2",)


def test_a_processor_whose_model_is_missing_is_turned_off_with_the_fix(video):
    drive = Driver()
    drive.send(OpenSource(str(video)))
    drive.send(chain(registry.create("canny"), MissingModel()))
    off = drive.event(ProcessorOff)
    assert off.key == 2 and "visionapp models fetch x.task" in off.message
    assert drive.packet().keys == (1,)


def test_a_paused_still_is_processed_again_when_a_load_finishes(tmp_path):
    import cv2

    path = tmp_path / "still.png"
    cv2.imwrite(str(path), np.full((40, 60, 3), 90, np.uint8))
    drive = Driver()
    drive.send(OpenSource(str(path)))
    drive.send(chain(SlowToLoad()))
    first = drive.packet()
    assert first.keys == () and first.frame.still
    again = packet_within(drive, lambda p: 1 in p.keys)  # the held frame, processed again
    assert again.position == first.position


def test_loads_for_one_slot_never_pile_up():
    calls = []
    gate = threading.Event()

    def warm(processor, frame):
        calls.append(processor.level)
        gate.wait(5)

    loader = Loader(warm=warm)
    frame = Frame(np.zeros((8, 8, 3), np.uint8), 0, 0)
    assert loader.request(1, SlowToLoad(level=1), frame) is not None
    for level in range(2, 12):  # a drag: ten edits while the first load runs
        assert loader.request(1, SlowToLoad(level=level), frame) is None
    gate.set()
    deadline = time.perf_counter() + 5
    done = []
    while time.perf_counter() < deadline and len(done) < 2:
        done += loader.finished()
        time.sleep(0.01)
    assert calls == [1, 11]  # the first, then only the newest


def test_loading_note_falls_back_to_loading():
    frame = Frame(np.zeros((8, 8, 3), np.uint8), 0, 0)
    assert loading_note(registry.create("canny"), frame) == "loading…"
    assert loading_note(SlowToLoad(level=4), frame) == "loading level 4 for 8 px"


_CALLS: dict = {}  # what OwnWarmUp was asked to do


@dataclass(frozen=True)
class OwnWarmUp(ProcessorBase):
    name: ClassVar[str] = "test.own_warm_up"

    def warm_up(self, frame: Frame) -> None:
        _CALLS[("warm_up", self)] = frame.image.shape

    def __call__(self, frame: Frame) -> Result:
        _CALLS[("called", self)] = True
        return Result(self.name)


def test_a_processor_with_its_own_warm_up_is_not_run_twice():
    """warm_up() (reading a small model) instead of a discarded full pass: the first result is
    the chain's own pass."""
    from visionapp.core.prepare import warm_up

    _CALLS.clear()
    processor = OwnWarmUp()
    warm_up(processor, Frame(np.zeros((40, 60, 3), np.uint8), 0, 0))
    assert dict(_CALLS) == {("warm_up", processor): (40, 60, 3)}
