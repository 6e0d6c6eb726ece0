"""Training refuses bad settings and names before any work, never replaces a model that appeared
while it ran, and reports a child process's failure as one line with the log's path."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.training_data import shapes_dataset, yolo_dataset
from visionapp import paths
from visionapp.cli import main
from visionapp.core.errors import ParameterError
from visionapp.training.child import stream_child
from visionapp.training.classifier import ClassifierConfig
from visionapp.training.classifier import train as train_classifier
from visionapp.training.detector import DetectorConfig
from visionapp.training.detector import train as train_detector
from visionapp.training.progress import Batch, Epoch, Failed


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "project" / "models"
    folder.mkdir(parents=True)
    monkeypatch.setattr(paths, "PROJECT_MODELS_DIR", folder)
    return folder


def runs_dir() -> Path:
    return paths.training_runs_dir()


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- names


BAD_NAMES = ["../../escape", "sub/model", "..", ".hidden", "", "a\\b", "x..y", " padded"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_classifier_name_must_be_a_plain_file_name(tmp_path, models_dir, capsys, name):
    data = shapes_dataset(tmp_path / "ds", per_class=6)
    code = main(["train-classifier", str(data), "--kind", "course", "--epochs", "1",
                 "--name", name])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1, lines
    assert "plain file name" in lines[0] and "Traceback" not in lines[0]
    assert not runs_dir().exists()  # refused before any training started
    escaped = [p for p in (tmp_path / "project").rglob("*") if p.suffix in (".keras", ".json")]
    assert escaped == [] and not (tmp_path / "escape.keras").exists()


@pytest.mark.parametrize("name", ["../../escape", "a/b", ".."])
def test_detector_name_must_be_a_plain_file_name(tmp_path, models_dir, capsys, name):
    data = yolo_dataset(tmp_path / "ds")
    code = main(["train-detector", str(data), "--epochs", "1", "--imgsz", "160", "--batch", "4",
                 "--device", "cpu", "--name", name])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1 and "plain file name" in lines[0]
    assert not runs_dir().exists() and not (tmp_path / "escape.pt").exists()


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("option", "value", "field", "allowed"), [
    ("--epochs", "-1", "epochs", "use an int in [0, "),  # 0: the kind's own epochs
    ("--batch", "0", "batch", "use an int in [1, "),
    ("--lr", "nan", "learning_rate", "not a finite number"),
    ("--lr", "inf", "learning_rate", "not a finite number"),
    ("--lr", "-0.01", "learning_rate", "out of range"),
    ("--fine-tune-lr", "nan", "fine_tune_lr", "not a finite number"),
    ("--dropout", "1.5", "dropout", "out of range"),
    ("--image-size", "8", "image_size", "too small"),
])
def test_classifier_numbers_are_checked_up_front(tmp_path, models_dir, capsys, option, value,
                                                 field, allowed):
    data = shapes_dataset(tmp_path / "ds", per_class=6)
    code = main(["train-classifier", str(data), "--kind", "course", "--epochs", "1",
                 option, value, "--name", "checked"])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1, lines
    assert f"{field}=" in lines[0] and allowed in lines[0]
    assert "self-test" not in lines[0] and "Traceback" not in lines[0]
    assert not runs_dir().exists() and list(models_dir.iterdir()) == []


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--epochs", "0", "epochs"), ("--batch", "0", "batch"), ("--imgsz", "0", "imgsz"),
    ("--epochs", "-3", "epochs")])
def test_detector_numbers_are_checked_up_front(tmp_path, models_dir, capsys, option, value,
                                               field):
    data = yolo_dataset(tmp_path / "ds")
    code = main(["train-detector", str(data), "--device", "cpu", option, value])
    lines = error_lines(capsys.readouterr().err)
    assert code == 2 and len(lines) == 1 and f"{field}={value}" in lines[0], lines
    assert "use an int in [" in lines[0]
    assert not runs_dir().exists() and list(models_dir.iterdir()) == []


def test_configs_check_themselves_for_every_caller(tmp_path):
    """The Qt-free generators get configs that cannot hold bad values (the dialogs build the
    same configs)."""
    with pytest.raises(ParameterError, match="epochs=-1"):
        ClassifierConfig(str(tmp_path), epochs=-1)
    with pytest.raises(ParameterError, match="learning_rate=nan"):
        ClassifierConfig(str(tmp_path), learning_rate=float("nan"))
    with pytest.raises(ParameterError, match="kind='resnet'"):
        ClassifierConfig(str(tmp_path), kind="resnet")
    with pytest.raises(ParameterError, match="batch=0"):
        DetectorConfig("data.yaml", batch=0)
    with pytest.raises(ParameterError, match="plain file name"):
        DetectorConfig("data.yaml", name="../up")
    assert ClassifierConfig(str(tmp_path), learning_rate=1).learning_rate == 1.0


def test_dialog_shows_a_refused_setting_and_stays_ready(qtbot, tmp_path, models_dir):
    from visionapp.gui.detector_dialog import DetectorTrainingDialog

    dialog = DetectorTrainingDialog()
    qtbot.addWidget(dialog)
    dialog.settings.set_value("data_yaml", str(yolo_dataset(tmp_path / "ds")))
    dialog.settings.set_value("name", "../outside")
    dialog.start()
    assert not dialog.running and dialog.start_button.isEnabled()
    assert "plain file name" in dialog.log.toPlainText()
    assert not runs_dir().exists()


# ----------------------------------------------------------------------------- saving


def _user_file(path: Path) -> bytes:
    content = b"the user's own model, made while training ran"
    path.write_bytes(content)
    return content


def test_detector_never_replaces_a_model_that_appeared_during_training(tmp_path, models_dir,
                                                                      shared, monkeypatch):
    """The kept checkpoint (Ultralytics' best.pt from visionapp's training) also loads
    weights-only, with the dataset's classes."""
    import torch

    from visionapp.processors import ultralytics_safe

    data = yolo_dataset(tmp_path / "ds")
    config = DetectorConfig(str(data), weights=str(shared("models/yolov8n.pt")), epochs=1,
                            imgsz=160, batch=4, device="cpu", name="shapes")
    target = models_dir / "shapes.pt"
    content = None
    events = []
    for event in train_detector(config):
        events.append(event)
        if content is None and isinstance(event, Batch | Epoch):
            content = _user_file(target)  # appears while the child trains
    assert content is not None and target.read_bytes() == content
    last = events[-1]
    assert isinstance(last, Failed) and str(target) in last.message and "\n" not in last.message
    assert "appeared while training" in last.message
    kept = Path(last.message.split("the new model stays at ")[1].split(":")[0])
    assert kept.is_file() and kept.suffix == ".pt"
    assert sorted(p.name for p in models_dir.iterdir()) == ["shapes.pt"]  # no temporary left
    loads = []
    real = torch.load

    def spy(*args, **kwargs):
        loads.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    ultralytics_safe.check_checkpoint.cache_clear()
    stat = kept.stat()
    names = ultralytics_safe.check_checkpoint(str(kept), stat.st_mtime_ns, stat.st_size)
    assert names == ("square", "disc") and loads and all(flag is True for flag in loads)


def test_classifier_never_replaces_a_model_that_appeared_during_training(tmp_path,
                                                                        models_dir):
    data = shapes_dataset(tmp_path / "ds", per_class=10)
    config = ClassifierConfig(str(data), kind="course", epochs=1, batch=8, augment=False,
                              name="pets")
    target = models_dir / "pets.keras"
    content = None
    events = []
    for event in train_classifier(config):
        events.append(event)
        if content is None and isinstance(event, Batch | Epoch):
            content = _user_file(target)
    assert content is not None and target.read_bytes() == content
    last = events[-1]
    assert isinstance(last, Failed) and "appeared while training" in last.message
    assert str(target) in last.message and "\n" not in last.message
    # All or nothing: the card of the refused model was not placed beside the user's file.
    assert sorted(p.name for p in models_dir.iterdir()) == ["pets.keras"]
    kept = Path(last.message.split("the new model stays at ")[1].split(":")[0])
    assert kept.is_file() and kept.with_suffix(".json").is_file()


@pytest.mark.parametrize("links", [True, False])
def test_save_new_is_all_or_nothing_and_force_replaces(tmp_path, monkeypatch, links):
    """Two files placed together; a target that exists stops both (the one already placed is
    taken back), with or without hard links (the exclusive-create fallback)."""
    import errno

    from visionapp.core.errors import OutputExists
    from visionapp.training.saving import save_new

    if not links:
        def no_links(src, dst):
            raise OSError(errno.EPERM, "no hard links here")

        monkeypatch.setattr(os, "link", no_links)
    work, models = tmp_path / "work", tmp_path / "models"
    work.mkdir()
    (work / "model.keras").write_bytes(b"new model")
    (work / "model.json").write_bytes(b"new card")
    models.mkdir()
    (models / "m.json").write_bytes(b"user's card")
    pairs = [(work / "model.keras", models / "m.keras"), (work / "model.json", models / "m.json")]
    with pytest.raises(OutputExists, match="m.json appeared while training"):
        save_new(pairs, force=False)
    assert sorted(p.name for p in models.iterdir()) == ["m.json"]
    assert (models / "m.json").read_bytes() == b"user's card"
    assert (work / "model.keras").is_file()  # the new model is kept where it was
    save_new(pairs, force=True)
    assert (models / "m.keras").read_bytes() == b"new model"
    assert (models / "m.json").read_bytes() == b"new card"
    assert sorted(p.name for p in models.iterdir()) == ["m.json", "m.keras"]


# ----------------------------------------------------------------------------- child errors


def _child_module(folder: Path, body: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fake_training_child.py").write_text(textwrap.dedent(body))
    return "fake_training_child"


def test_a_crashing_child_is_one_line_with_the_log_path(tmp_path, monkeypatch):
    module = _child_module(tmp_path / "mods", """
        def deep():
            raise ValueError("batch size 0 cannot be split\\ninto devices")
        deep()
    """)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "mods"))
    work = tmp_path / "work"
    work.mkdir()
    events = list(stream_child(module, {}, work, None))
    assert [type(e) for e in events] == [Failed]
    message = events[0].message
    assert "\n" not in message and "Traceback" not in message
    assert "ValueError: batch size 0 cannot be split" in message
    assert str(work / "child.log") in message and events[0].log_path == str(work / "child.log")
    assert "Traceback" in (work / "child.log").read_text()  # the details are in the log


def test_a_multi_line_child_error_arrives_as_one_line(tmp_path, monkeypatch, capsys):
    module = _child_module(tmp_path / "mods", """
        import json
        print(json.dumps({"type": "Failed", "message": "first problem\\nsecond problem"}))
    """)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "mods"))
    work = tmp_path / "work"
    work.mkdir()
    events = list(stream_child(module, {}, work, None))
    assert isinstance(events[-1], Failed) and "\n" not in events[-1].message
    assert "first problem" in events[-1].message and "second problem" in events[-1].message
