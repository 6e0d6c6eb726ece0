"""Detector training: dataset validation and a one-epoch run whose weights the processor loads."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training_data import yolo_dataset
from visionapp import paths
from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.types import Frame
from visionapp.training.detector import DetectorConfig, train
from visionapp.training.progress import Device, Epoch, Failed, Finished
from visionapp.training.yolo_dataset import validate


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch, tmp_path):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/yolov8n.pt").parent))
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", tmp_path / "project_models")
    (tmp_path / "project_models").mkdir()


def test_valid_dataset_summary(tmp_path):
    report = validate(yolo_dataset(tmp_path / "ds"))
    assert report.errors == [] and report.images == {"train": 8, "val": 4}
    assert report.boxes == 24 and report.names == ["square", "disc"]


def test_dataset_problems_are_reported(tmp_path):
    data = yolo_dataset(tmp_path / "ds")
    labels = tmp_path / "ds" / "labels" / "train"
    (labels / "img_0.txt").write_text("0 1.4 0.5 0.2 0.2\n")  # outside [0, 1]
    (labels / "img_1.txt").write_text("7 0.5 0.5 0.2 0.2\n")  # class beyond nc
    (labels / "img_2.txt").unlink()  # missing label file
    (tmp_path / "ds" / "images" / "train" / "img_3.jpg").write_bytes(b"")  # empty image
    report = validate(data)
    text = "\n".join(report.errors)
    assert "outside [0, 1]" in text and "img_0.txt" in text
    assert "beyond nc=2" in text and "class 7" in text
    assert "empty or unreadable images: 1 (img_3.jpg)" in text
    assert any("without a label file" in w and "img_2.jpg" in w for w in report.warnings)


def test_wrong_paths_in_data_yaml(tmp_path, capsys):
    data = yolo_dataset(tmp_path / "ds")
    data.write_text("path: /nowhere\ntrain: images/train\nval: images/val\nnames: [a, b]\n")
    assert main(["train-detector", str(data), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "train path /nowhere/images/train does not exist" in err and "Traceback" not in err


def test_one_epoch_end_to_end_and_the_processor_loads_it(tmp_path):
    data = yolo_dataset(tmp_path / "ds")
    config = DetectorConfig(str(data), weights="yolov8n.pt", epochs=1, imgsz=160, batch=4,
                            device="cpu", name="shapes")
    events = list(train(config))
    failed = [e.message for e in events if isinstance(e, Failed)]
    assert failed == [], failed
    epoch = next(e for e in events if isinstance(e, Epoch))
    assert {"train/box_loss", "metrics/mAP50"} <= set(epoch.metrics)
    assert any(isinstance(e, Device) and "training on the CPU" in e.description
               for e in events)
    done = events[-1]
    assert isinstance(done, Finished) and done.model_path.endswith("shapes.pt")
    processor = registry.create("yolo.detect", {"weights": "shapes.pt", "backend": "pytorch",
                                                "imgsz": 160})
    result = processor(Frame(np.zeros((160, 160, 3), np.uint8), 0, 0))
    assert processor.runtime((160, 160)).model.names == {0: "square", 1: "disc"}
    assert result.text[0].startswith("YOLO pytorch")
    again = list(train(config))  # the saved model is not overwritten without force
    assert isinstance(again[-1], Failed) and "already exists" in again[-1].message
