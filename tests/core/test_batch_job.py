"""The batch job: one frozen, checked, picklable value describing a `visionapp process` run."""

from __future__ import annotations

import pickle

import pytest

from visionapp.core.batch_job import BatchJob
from visionapp.core.chain import ChainEntry, chain_entries
from visionapp.core.errors import BadInput, ParameterError


def test_job_pickles_and_builds_fresh_processors():
    entries = chain_entries(["canny", "haar.faces"], ["canny.low=60"], None)
    job = BatchJob.create(["clip.mp4", "demo:frames=3"], entries, out="o.mp4", every=2,
                          frames_dir="frames", camera_wh=(1280, 720))
    copy = pickle.loads(pickle.dumps(job))
    assert copy == job and hash(copy) == hash(job)
    first, second = job.processors(), copy.processors()
    assert [p.name for p in first] == ["canny", "haar.faces"] and first[0].low == 60
    assert first == second and first[0] is not second[0]
    with pytest.raises(AttributeError):
        job.every = 3  # type: ignore[misc]


def test_disabled_entries_are_left_out():
    job = BatchJob.create(["a.mp4"], [ChainEntry("canny"), ChainEntry("sobel", enabled=False)])
    assert [p.name for p in job.processors()] == ["canny"]


@pytest.mark.parametrize(("options", "message"), [
    ({"every": 0}, "--every must be 1 or more"),
    ({"every": 3}, "give --frames-dir FOLDER too"),
    ({"max_frames": -1}, "--max-frames must be 0"),
    ({"fps": float("nan")}, "--fps nan is not a frame rate"),
    ({"camera_fps": 0.0}, "--camera-fps 0 is not a frame rate"),
    ({"camera_wh": (0, 480)}, "both sides must be 1 or more"),
])
def test_options_are_checked_on_construction(options, message):
    with pytest.raises(ParameterError, match=message):
        BatchJob(("a.mp4",), **options)


def test_a_job_needs_inputs_and_a_chain_that_loads():
    with pytest.raises(BadInput, match="at least one input"):
        BatchJob(())
    with pytest.raises(BadInput, match="batch job's chain"):
        BatchJob(("a.mp4",), chain='[[processors]]\nname = "canny"\nparams = { low = -5 }\n')
