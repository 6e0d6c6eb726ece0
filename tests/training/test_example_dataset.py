"""The example detection dataset: YOLO layout that the dataset check accepts, label lines in
range, always in a new folder, and one clear error for a folder that is not there."""

from __future__ import annotations

import pytest

from visionapp.core.errors import BadInput
from visionapp.training.example_dataset import CLASS_NAMES, write_example_dataset
from visionapp.training.yolo_dataset import validate


def test_the_example_is_a_valid_yolo_dataset_in_a_new_folder(tmp_path):
    (tmp_path / "example_shapes").mkdir()
    (tmp_path / "example_shapes" / "mine.txt").write_text("keep me")
    data_yaml = write_example_dataset(tmp_path, n_train=6, n_val=2, size=128)
    assert data_yaml.parent.name == "example_shapes_1"  # the existing folder is left alone
    assert (tmp_path / "example_shapes" / "mine.txt").read_text() == "keep me"
    report = validate(data_yaml)
    assert not report.errors and report.names == list(CLASS_NAMES)
    assert report.images == {"train": 6, "val": 2} and report.boxes >= 8
    for label in (data_yaml.parent / "labels" / "train").glob("*.txt"):
        for line in label.read_text().splitlines():
            cls, *xywh = line.split()
            assert cls in ("0", "1") and all(0 < float(v) <= 1 for v in xywh)
    assert "x_center y_center width height" in (data_yaml.parent / "README.txt").read_text()


def test_a_missing_parent_folder_is_one_clear_error(tmp_path):
    with pytest.raises(BadInput, match="is not a folder; choose an existing folder"):
        write_example_dataset(tmp_path / "nowhere")
