import dataclasses
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.errors import ParameterError, UnknownProcessor
from visionapp.core.params import field_problem, parse_value, specs
from visionapp.core.types import Detections, Frame, Processor, Result


def test_detections_reject_mismatched_arrays():
    with pytest.raises(ValueError, match="disagree"):
        Detections(np.zeros((2, 4), np.float32), np.zeros(3, np.float32),
                   np.zeros(2, np.int32), ("a", "b"))


def test_detections_from_lists_and_empty():
    d = Detections.from_lists([[1, 2, 3, 4]], [0.5], ["cat"], class_id=[15], track_id=[7])
    assert len(d) == 1 and d.xyxy.dtype == np.float32 and d.class_id[0] == 15
    assert d.track_id.tolist() == [7]
    assert len(Detections.empty()) == 0


def test_detections_index_every_array_at_once():
    d = Detections.from_lists([[0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 3, 3]], [0.1, 0.5, 0.9],
                              ["a", "b", "c"], class_id=[0, 1, 2], track_id=[7, 8, 9])
    picks = {"int": d[1], "negative": d[-1], "slice": d[1:], "indices": d[[2, 0]],
             "array": d[np.array([2])], "mask": d[d.confidence > 0.3], "empty": d[[]]}
    expected = {"int": ["b"], "negative": ["c"], "slice": ["b", "c"], "indices": ["c", "a"],
                "array": ["c"], "mask": ["b", "c"], "empty": []}
    for how, sub in picks.items():
        assert list(sub.labels) == expected[how], how
        rows = ["abc".index(label) for label in sub.labels]
        assert sub.xyxy.shape == (len(rows), 4) and sub.xyxy[:, 0].tolist() == rows, how
        assert sub.class_id.tolist() == rows and sub.track_id.tolist() == [7 + r for r in rows]
        assert np.allclose(sub.confidence, d.confidence[rows]), how
    untracked = Detections.from_lists([[0, 0, 1, 1]], [0.5], ["x"])[[0]]
    assert untracked.track_id is None and len(untracked) == 1
    with pytest.raises(IndexError, match="one value per box"):
        d[np.array([True, False])]
    with pytest.raises(IndexError):
        d[3]


def test_frame_is_frozen():
    frame = Frame(np.zeros((4, 6, 3), np.uint8), 3, 100)
    assert frame.resolution_wh == (6, 4)
    with pytest.raises(FrozenInstanceError):
        frame.index = 4  # type: ignore[misc]


def test_unknown_processor_lists_valid_names():
    with pytest.raises(UnknownProcessor) as info:
        registry.load("cany")
    assert "canny" in str(info.value) and "haar.faces" in str(info.value)


def test_out_of_range_value_names_the_range():
    with pytest.raises(ParameterError, match=r"canny.low=5000 is out of range.*\[0, 1000\]"):
        registry.create("canny", {"low": 5000})


def test_wrong_choice_lists_choices():
    with pytest.raises(ParameterError, match="choose one of: 3, 5, 7"):
        registry.create("canny", {"aperture": 4})


def test_unknown_parameter_lists_parameters():
    with pytest.raises(ParameterError, match="no parameter 'lowest'.*low"):
        registry.create("canny", {"lowest": 3})


def test_parse_value_types():
    by_name = {s.name: s for s in specs(registry.load("canny"))}
    assert parse_value(by_name["low"], "60", "canny") == 60
    assert parse_value(by_name["l2_gradient"], "yes", "canny") is True
    with pytest.raises(ParameterError, match="not a valid int"):
        parse_value(by_name["low"], "sixty", "canny")
    with pytest.raises(ParameterError, match="true or false"):
        parse_value(by_name["l2_gradient"], "maybe", "canny")


def test_int_given_for_float_is_accepted():
    proc = registry.create("adjust.rotate", {"angle_deg": 90})
    assert proc.angle_deg == 90.0 and isinstance(proc.angle_deg, float)


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_processor_returns_a_result(name, tmp_path):
    """The registry contract: load(name)() works on a frame and returns a Result."""
    frame = Frame(np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8), 0, 0)
    processor = registry.load(name)()
    assert processor.name == name
    # A frozen dataclass of its settings (DESIGN.md): the GUI builds its form from the fields.
    assert dataclasses.is_dataclass(processor) and type(processor).__dataclass_params__.frozen
    assert isinstance(processor, Processor)
    result = processor(frame)
    assert isinstance(result, Result) and result.processor == name
    for spec in specs(type(processor)):  # every parameter is documented by its metadata
        assert spec.type in (int, float, bool, str)
        where = f"{name}.{spec.name}"
        if spec.type in (int, float) and not spec.choices:  # a number: its range, for a slider
            assert spec.min is not None and spec.max is not None, f"{where} has no range"
        if spec.type is str and not spec.choices:  # a string: choices, or what kind of text
            assert spec.kind in ("path", "text", "layer", "kernel"), f"{where}: no choices, kind"
        assert field_problem(spec, spec.default, name) is None  # the default is allowed
        assert registry.create(name, {spec.name: spec.default}) == processor
