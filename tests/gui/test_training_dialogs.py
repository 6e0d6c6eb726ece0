"""The training dialogs: their forms are generated from the training configs (the same defaults
as the command line and the config, for every field), fields that do not apply are disabled with
the reason, and each typed progress event lands where it belongs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
    assert dialog.confusion_grid.cell_text(1, 1) == "2\n100%"
    assert dialog.confusion_grid.cell_text(0, 1) == "1\n50%"
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


# ---------------------------------------------------------------- fitting the screen, teaching


def test_both_dialogs_fit_the_screen_and_1280x800(qtbot):
    for _, dialog in dialogs(qtbot).values():
        dialog.show()
        qtbot.waitExposed(dialog)
        free = dialog.screen().availableGeometry()  # 800×800 offscreen
        assert dialog.frameGeometry().width() <= free.width(), type(dialog).__name__
        assert dialog.frameGeometry().height() <= free.height(), type(dialog).__name__
        least = dialog.minimumSizeHint()
        assert least.width() <= 1280 - 60 and least.height() <= 800 - 60, least


def test_the_confusion_matrix_is_a_coloured_grid_of_counts_and_rates(qtbot):
    from tests.gui.fake_training import CONFUSION, classifier_events

    _, dialog = dialogs(qtbot)["train-classifier"]
    for event in classifier_events():
        dialog._on_event(event)
    dialog.show()
    grid = dialog.confusion_grid
    assert dialog.tabs.currentWidget() is dialog.evaluation_area
    assert grid.cell_text(0, 0) == "18\n90%" and grid.cell_text(1, 2) == "2\n10%"
    assert grid.cell_tip(1, 0) == "3 of 20 'dogs' images taken for 'cats' (15%)"
    qtbot.waitUntil(lambda: grid.width() > 100)
    image = grid.grab().toImage()

    def rgb(i, j):
        center = grid.cell_rect(i, j).center()
        color = image.pixelColor(center.x() + grid.cell_rect(i, j).width() // 3, center.y())
        return color.red(), color.green(), color.blue()

    r, g, b = rgb(2, 2)  # 95% right: strongly green
    assert g > r + 60 and g > b + 60
    r, g, b = rgb(1, 0)  # 15% wrong: reddish
    assert r > g + 20 and r > b + 20
    assert rgb(0, 2) == rgb(2, 0)  # no images there: the same untinted cell
    assert grid.confusion.tolist() == [list(row) for row in CONFUSION]


def test_losses_and_scores_have_their_own_axes_ticked_at_epochs(qtbot):
    from tests.gui.fake_training import classifier_events, detector_events
    from visionapp.gui.curves import epoch_ticks

    shown = dialogs(qtbot)
    _, classifier = shown["train-classifier"]
    for event in classifier_events(epochs_done=6, epochs=15, evaluation=False):
        classifier._on_event(event)
    curves = classifier.curves
    assert set(curves.series) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert {n: curves.axis_of(n) for n in curves.series} == {
        "loss": "loss", "val_loss": "loss", "accuracy": "score", "val_accuracy": "score"}
    assert len(curves.loss_plot.getPlotItem().listDataItems()) == 2
    assert len(curves.score_plot.getPlotItem().listDataItems()) == 2
    x, y = curves.score_plot.getPlotItem().listDataItems()[0].getData()
    assert list(x) == [1, 2, 3, 4, 5, 6] and all(0 <= v <= 1 for v in y)
    ticks = curves.loss_plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [value for value, _ in ticks] == [1, 3, 5, 7, 9, 11, 13, 15]
    assert epoch_ticks(3) == [(1, "1"), (2, "2"), (3, "3")]
    assert epoch_ticks(100)[-1] == (100, "100") and len(epoch_ticks(100)) <= 13
    assert [e for e, _ in epoch_ticks(20)] == [1, 3, 5, 7, 9, 11, 13, 15, 17, 20]
    _, detector = shown["train-detector"]
    for event in detector_events():
        detector._on_event(event)
    assert {detector.curves.axis_of(n) for n in detector.curves.series} == {"loss", "score"}
    assert detector.curves.score_plot.getPlotItem().getAxis("left").labelText == "mAP"


def test_greyed_fields_say_why_in_view(qtbot):
    _, dialog = dialogs(qtbot)["train-classifier"]
    dialog.show()
    dialog.settings.set_value("kind", "course")
    note = dialog.settings.unused_note
    assert note.isVisible() and "pretrained backbone" in note.text()
    assert "fine tune layers" in note.text()


def test_detector_start_without_a_dataset_says_one_thing_to_do(qtbot):
    _, dialog = dialogs(qtbot)["train-detector"]
    dialog.start()
    lines = dialog.log.toPlainText().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: choose data yaml first"), lines
    assert "example dataset" in lines[0]
    assert not dialog.running and dialog.start_button.isEnabled()
    assert dialog.problem.text() == lines[0]
    qtbot.wait(200)  # nothing more arrives later (no second copy from a worker)
    assert dialog.log.toPlainText().splitlines() == lines


def test_detector_dialog_explains_the_layout_and_makes_an_example(qtbot, tmp_path):
    from visionapp.training.yolo_dataset import validate

    _, dialog = dialogs(qtbot)["train-detector"]
    assert dialog.tabs.currentWidget() is dialog.dataset_help  # shown first
    assert "labels/train/" in dialog.dataset_help.findChildren(type(dialog.problem))[1].text()
    dialog.make_example(str(tmp_path))
    qtbot.waitUntil(lambda: dialog.settings.value("data_yaml") != "", timeout=30_000)
    data_yaml = dialog.settings.value("data_yaml")
    assert data_yaml.startswith(str(tmp_path)) and data_yaml.endswith("data.yaml")
    report = validate(Path(data_yaml))
    assert not report.errors and report.names == ["square", "disc"]


def test_a_new_run_starts_with_empty_curves(qtbot):
    from tests.gui.fake_training import detector_events

    _, dialog = dialogs(qtbot)["train-detector"]
    for event in detector_events():
        dialog._on_event(event)
    dialog.curves.clear()
    assert dialog.curves.series == {} and dialog.curves.epochs == []
    assert dialog.curves.loss_plot.getPlotItem().listDataItems() == []
    assert dialog.curves.score_plot.getPlotItem().listDataItems() == []
    dialog.curves.clear()  # twice: still nothing, no warning
    dialog._on_event(detector_events()[-1])
    assert len(dialog.curves.loss_plot.getPlotItem().listDataItems()) == 3
