"""The training dialogs: their forms are generated from the training configs (the same defaults
as the command line and the config, for every field), fields that do not apply are disabled with
the reason, and each typed progress event lands where it belongs."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("PySide6")

from visionapp.cli import make_parser  # noqa: E402
from visionapp.core.params import specs  # noqa: E402
from visionapp.training.classifier import ClassifierConfig  # noqa: E402
from visionapp.training.classifier_models import KIND_TITLES  # noqa: E402
from visionapp.training.detector import DetectorConfig  # noqa: E402
from visionapp.training.progress import (  # noqa: E402
    Batch,
    Device,
    Epoch,
    Evaluation,
    Failed,
    Finished,
    Log,
    Mistake,
    ModelSummary,
)


def dialogs(qtbot):
    from visionapp.gui.classifier_dialog import ClassifierTrainingDialog
    from visionapp.gui.detector_dialog import DetectorTrainingDialog

    out = {"train-classifier": (ClassifierConfig, ClassifierTrainingDialog()),
           "train-detector": (DetectorConfig, DetectorTrainingDialog())}
    for _, dialog in out.values():
        qtbot.addWidget(dialog)
    return out


def test_cli_dialog_and_config_defaults_are_one(qtbot):
    """For every field of both configs: the config's default is the option's default and the
    dialog's starting value (and the dialog has an editor for every field)."""
    parser = make_parser()
    for command, (config_cls, dialog) in dialogs(qtbot).items():
        cli = vars(parser.parse_args([command, "x"]))
        form = dialog.settings.values()
        fields = specs(config_cls)
        assert set(form) == {f.name for f in fields}
        for spec in fields:
            if spec.default is dataclasses.MISSING:
                continue
            assert cli[spec.name] == spec.default, (command, spec.name, cli[spec.name])
            assert form[spec.name] == spec.default, (command, spec.name, form[spec.name])
            assert type(form[spec.name]) is type(spec.default), spec.name
        assert dialog.settings.config() == config_cls(**form)


def test_the_form_shows_the_fields_ranges_choices_and_help(qtbot):
    classifier = dialogs(qtbot)["train-classifier"][1].settings
    kind = classifier.editors["kind"]
    assert [kind.itemData(i) for i in range(kind.count())] == list(KIND_TITLES)
    assert [kind.itemText(i) for i in range(kind.count())] == list(KIND_TITLES.values())
    epochs = classifier.editors["epochs"]
    assert (epochs.minimum(), epochs.maximum()) == (0, 10000)  # 0: the kind's own
    assert classifier.editors["epochs"].toolTip().startswith("passes over the training images")
    lr = classifier.editors["learning_rate"]
    lr.set_value(2e-5)  # far below a fixed number of decimals: kept as written
    assert classifier.value("learning_rate") == pytest.approx(2e-5) and lr.text() == "2e-05"
    lr.stepBy(1)
    assert classifier.value("learning_rate") == pytest.approx(4e-5)
    lr.set_value(0.0)  # 0: the kind's own rate; a step up starts at the declared step
    lr.stepBy(1)
    assert classifier.value("learning_rate") == pytest.approx(1e-5)
    classifier.set_value("name", "  ")
    assert classifier.value("name") == "classifier"  # an emptied field means its default


def test_fields_that_do_not_apply_are_disabled_with_the_reason(qtbot):
    form = dialogs(qtbot)["train-classifier"][1].settings
    assert form.editors["fine_tune_layers"].isEnabled()
    assert not form.editors["image_size"].isEnabled()  # the backbone's own input size
    assert "backbone's own input size" in form.editors["image_size"].toolTip()
    assert form.editors["fine_tune_epochs"].isEnabled()  # -1: the kind's own, all layers
    form.set_value("fine_tune_layers", 0)
    assert not form.editors["fine_tune_epochs"].isEnabled()  # fine-tune layers is 0
    form.set_value("fine_tune_layers", 30)
    assert form.editors["fine_tune_epochs"].isEnabled()
    assert form.editors["fine_tune_epochs"].toolTip().startswith("… train this many")
    form.set_value("kind", "course")
    for name in ("fine_tune_layers", "fine_tune_epochs", "fine_tune_lr", "backbone_weights"):
        assert not form.editors[name].isEnabled() and not form.labels[name].isEnabled()
        assert "pretrained backbone" in form.editors[name].toolTip()
    assert form.editors["image_size"].isEnabled()
    form.set_value("augment", False)
    assert "augmentation is off" in form.editors["augmentation"].toolTip()


def test_each_event_type_lands_in_its_place(qtbot):
    _, dialog = dialogs(qtbot)["train-classifier"]
    dialog.start_button.setEnabled(False)
    events = [
        Device("training on the CPU (TensorFlow sees no GPU)"),
        ModelSummary("course_cnn", (("conv1", "Conv2D", "(None, 62, 62, 32)", 896),
                                    ("dense", "Dense", "(None, 1)", 129)), 1025, 1025),
        Batch(1, 4, 0.125),
        Epoch(1, 4, 0.25, 30.0, {"loss": 0.7, "accuracy": 0.5, "learning_rate": 0.001}),
        Log("self-test: the reloaded model predicts exactly as trained"),
        Evaluation("test", 0.75, 0.5, 1.0, 0.667, ((1, 1), (0, 2)), ("cats", "dogs"),
                   (Mistake("/nowhere/cat.jpg", "cats", "dogs", 0.9),), 4),
        Finished("/models/pets.keras", "model saved to /models/pets.keras"),
    ]
    for event in events:
        dialog._on_event(event)
    assert dialog.device.text() == "training on the CPU (TensorFlow sees no GPU)"
    assert dialog.summary.item(2, 3).text() == "1,025"  # the total row
    assert dialog.curves.series == {"loss": [0.7], "accuracy": [0.5]}  # curve_keys only
    assert dialog.eta.text() == "ETA 30 s" and dialog.progress.value() == 1000
    assert dialog.confusion_table.item(1, 1).text() == "2"
    log = dialog.log.toPlainText()
    assert "held-out test: accuracy 0.750" in log and "epoch 1/4: loss 0.700" in log
    assert "self-test" in log and log.count("\n") == 5  # a Batch adds no line
    assert dialog.use_button.isEnabled() and dialog.model_path == "/models/pets.keras"
    assert dialog.events == events
    dialog._on_event(Failed("out of memory"))
    assert dialog.log.toPlainText().endswith("error: out of memory")
    # The run's end comes from the worker's finished signal, not from an event.
    dialog._on_finished()
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()
    assert dialog.events == [*events, Failed("out of memory")]
