"""Per-stream processor state and calls with a time limit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from visionapp.core.streams import PerStream
from visionapp.core.timeout import call_with_timeout
from visionapp.core.types import Frame


def frame(stream_id: int, index: int = 0, still: bool = False) -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), index, index, still=still, stream_id=stream_id)


def test_state_lives_as_long_as_its_stream():
    memory: PerStream[list] = PerStream()
    for i in range(3):
        with memory.state(frame(7, i), list) as seen:
            seen.append(i)
    assert seen == [0, 1, 2]
    with memory.state(frame(7, 0), list) as same:  # timestamps going back: still one stream
        pass
    assert same is seen
    with memory.state(frame(8), list) as fresh:
        pass
    assert fresh == [] and fresh is not seen
    with memory.state(frame(8, still=True), list) as still:
        pass
    with memory.state(frame(8, still=True), list) as next_still:
        pass
    assert still is not fresh and next_still is not still  # each still stands on its own


def test_call_with_timeout_returns_raises_or_gives_up():
    assert call_with_timeout(lambda: 42, 1.0, "answer") == 42
    with pytest.raises(ValueError, match="bad"):
        call_with_timeout(lambda: (_ for _ in ()).throw(ValueError("bad")), 1.0, "thrower")
    release = threading.Event()
    with pytest.raises(TimeoutError, match="stuck did not finish within 0.05 s"):
        call_with_timeout(lambda: release.wait(5), 0.05, "stuck")
    release.set()
