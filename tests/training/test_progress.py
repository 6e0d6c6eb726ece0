"""Typed progress events: the JSON-lines form the child process writes comes back as the same
typed values, and the parent passes a child's events through as they were."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from visionapp.processors.keras_inference import class_probabilities
from visionapp.training import progress
from visionapp.training.child import stream_child
from visionapp.training.progress import (
    Batch,
    DatasetSummary,
    Device,
    Epoch,
    Evaluation,
    Failed,
    Finished,
    Log,
    Mistake,
    ModelSummary,
    from_json,
    to_json,
)

ONE_OF_EACH = [
    Log("backbone weights: imagenet"),
    Device("training on GPU /physical_device:GPU:0", ("/physical_device:GPU:0",)),
    DatasetSummary("2 classes (cats, dogs); train 10, val 2, test 2", ("cats", "dogs"),
                   {"train": 10, "val": 2, "test": 2},
                   {"train": {"cats": 5, "dogs": 5}, "val": {"cats": 1, "dogs": 1}}),
    ModelSummary("course_cnn", (("conv1", "Conv2D", "(None, 62, 62, 32)", 896),
                                ("flatten", "Flatten", "(None, 6272)", 0)), 896, 896),
    Batch(2, 5, 0.25),
    Epoch(3, 5, 0.6, 12.5, {"loss": 0.5, "val_accuracy": 1.0, "metrics/mAP50(B)": 0.25}),
    Evaluation("test", 0.75, 0.5, 1.0, 2 / 3, ((1, 1), (0, 2)), ("cats", "dogs"),
               (Mistake("/data/cats/a.jpg", "cats", "dogs", 0.91),), 4, frozen_accuracy=0.5),
    Evaluation("validation (no test split)", 1.0, 1.0, 1.0, 1.0, ((2,),), ("a",), (), 2),
    Finished("/models/pets.keras", "model saved to /models/pets.keras", "/models/pets.json",
             {"accuracy": 0.75}, stopped=True),
    Failed("out of memory at batch size 64; try a smaller batch", "/runs/x/child.log"),
]


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_every_event_survives_the_json_line_typed(event):
    line = to_json(event)
    assert "\n" not in line and json.loads(line)["type"] == type(event).__name__
    back = from_json(line)
    assert type(back) is type(event) and back == event
    # Sequences come back as tuples (hashable, like the originals), floats as floats.
    for name in ("rows", "confusion", "class_names", "worst", "gpus"):
        if hasattr(event, name):
            assert isinstance(getattr(back, name), tuple)
    if isinstance(event, Evaluation) and event.worst:
        assert isinstance(back.worst[0], Mistake)


def test_every_event_type_is_covered_and_has_a_log_line():
    assert {type(e) for e in ONE_OF_EACH} == set(progress.EVENT_TYPES.values())
    assert all(isinstance(e.message, str) for e in ONE_OF_EACH)
    assert Batch(1, 2, 0.5).message == ""  # a progress bar only
    epoch = Epoch(3, 5, 0.6, 1.0, {"train/box_loss": 1.25, "learning_rate": 0.001})
    assert epoch.message == "epoch 3/5: box_loss 1.250"
    assert "12 parameters (5 trainable)" in ModelSummary("m", (), 12, 5).message


@pytest.mark.parametrize("line", [
    '{"kind": "error", "message": "the old untyped form"}',
    '{"type": "Progress", "message": "no such event"}',
    '{"type": "Epoch", "epoch": 1}',  # fields missing
    '{"type": "Log", "message": "x", "extra": {}}',  # a field it does not have
    '[1, 2]',
    'not json at all',
])
def test_lines_that_are_not_events_are_refused(line):
    with pytest.raises(ValueError):
        from_json(line)


def test_the_parent_yields_the_childs_typed_events(tmp_path, monkeypatch):
    """A child writing typed lines between lines of other output: the parent yields exactly
    the events, in order, and the run's last one is the child's Finished."""
    sent = [ONE_OF_EACH[1], ONE_OF_EACH[4], ONE_OF_EACH[5], ONE_OF_EACH[6],
            Finished("/work/model.keras", card_path="/work/model.json")]
    lines = [to_json(e) for e in sent]
    lines.insert(2, "a stray line a framework printed")
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "typed_child.py").write_text(textwrap.dedent(f"""
        for line in {lines!r}:
            print(line)
    """))
    monkeypatch.setenv("PYTHONPATH", str(mods))
    work = tmp_path / "work"
    work.mkdir()
    assert list(stream_child("typed_child", {}, work, None)) == sent


def test_class_probabilities_expand_a_sigmoid_output():
    """One sigmoid output is the probability of class 1: [1 - p, p]; softmax rows stay."""
    np.testing.assert_allclose(class_probabilities(np.array([[0.25], [1.0]], np.float32)),
                               [[0.75, 0.25], [0.0, 1.0]])
    softmax = np.array([[0.2, 0.3, 0.5]])
    out = class_probabilities(softmax)
    assert out.dtype == np.float64 and out.shape == (1, 3)
    np.testing.assert_array_equal(out, softmax)
