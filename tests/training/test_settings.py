"""Training settings are declared once: the config's param() fields make the command line's
options, one validator checks them (as it checks processors), and conditional fields say why
they do not apply."""

from __future__ import annotations

import argparse
import dataclasses
import math

import pytest

from visionapp.cli import make_parser
from visionapp.cli.train import add_config_options, config_from
from visionapp.core.errors import ParameterError
from visionapp.core.params import specs
from visionapp.training.classifier import ClassifierConfig
from visionapp.training.classifier_models import BACKBONES, KIND_TITLES, KINDS
from visionapp.training.detector import DetectorConfig
from visionapp.training.settings import inapplicable

CONFIGS = {"train-classifier": ClassifierConfig, "train-detector": DetectorConfig}


def parse(*argv: str) -> argparse.Namespace:
    return make_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", CONFIGS)
def test_every_field_is_an_option_with_the_configs_default(command):
    config_cls = CONFIGS[command]
    args = parse(command, "somewhere")
    config = config_from(config_cls, args)
    for spec in specs(config_cls):
        if spec.default is dataclasses.MISSING:
            assert getattr(config, spec.name) == "somewhere"
        else:
            assert getattr(args, spec.name) == spec.default, spec.name
    assert config == config_cls("somewhere")


def test_todays_option_spellings_reach_their_fields():
    args = parse("train-classifier", "data", "--lr", "0.01", "--no-augment",
                 "--fine-tune-layers", "30", "--fine-tune-epochs", "4", "--fine-tune-lr", "2e-5",
                 "--image-size", "96", "--mixed-precision", "--kind", "course", "--force",
                 "--backbone-weights", "none")
    config = config_from(ClassifierConfig, args)
    assert (config.learning_rate, config.augment, config.fine_tune_layers) == (0.01, False, 30)
    assert (config.fine_tune_epochs, config.fine_tune_lr, config.image_size) == (4, 2e-5, 96)
    assert config.mixed_precision and config.force and config.kind == "course"
    assert config.backbone_weights == "none"
    assert parse("train-classifier", "d", "--learning-rate", "0.5").learning_rate == 0.5
    detector = config_from(DetectorConfig, parse("train-detector", "d.yaml", "--imgsz", "320",
                                                 "--device", "cpu", "--weights", "y.pt"))
    assert (detector.imgsz, detector.device, detector.weights) == (320, "cpu", "y.pt")


def test_choices_and_types_come_from_the_fields(capsys):
    with pytest.raises(SystemExit):
        parse("train-classifier", "d", "--kind", "resnet")
    assert "invalid choice: 'resnet'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse("train-detector", "d.yaml", "--epochs", "ten")
    assert "invalid int value: 'ten'" in capsys.readouterr().err


def test_model_kinds_are_listed_once():
    parser = argparse.ArgumentParser()
    add_config_options(parser, ClassifierConfig)
    (kind,) = [a for a in parser._actions if a.dest == "kind"]
    assert tuple(kind.choices) == KINDS == tuple(KIND_TITLES)
    assert set(BACKBONES) < set(KINDS)


@pytest.mark.parametrize(("changes", "match"), [
    ({"epochs": -1}, r"train-classifier\.epochs=-1 is out of range; use an int in \[0, 10000\]"),
    ({"label_smoothing": 0.7}, r"label_smoothing=0\.7 is out of range"),
    ({"flip_tta": "yes"}, "flip_tta='yes' is not allowed; choose one of: auto, flip, none"),
    ({"learning_rate": math.inf}, "learning_rate=inf is not a finite number"),
    ({"fine_tune_lr": math.nan}, "fine_tune_lr=nan is not a finite number"),
    ({"kind": "resnet"}, "kind='resnet' is not allowed; choose one of: course, better"),
    ({"augment": "yes"}, "augment='yes' has type str; use true or false"),
    ({"batch": 2.5}, "batch=2.5 has type float; use an int"),
    ({"image_size": 16}, "image_size=16 is too small; use 0 .* or 32 to 1024"),
    ({"name": "../up"}, "name='../up' contains a folder separator; use a plain file name"),
    ({"name": ".hidden"}, "starts with a dot"),
    ({"name": ""}, "name='' is empty"),
    ({"name": "x" * 101}, "is longer than 100 characters"),
])
def test_one_validator_for_every_setting(changes, match):
    with pytest.raises(ParameterError, match=match):
        ClassifierConfig("data", **changes)


def test_detector_messages_name_its_command():
    with pytest.raises(ParameterError, match=r"^train-detector\.imgsz=8 is out of range"):
        DetectorConfig("d.yaml", imgsz=8)
    with pytest.raises(ParameterError, match=r"^train-detector\.name='a/b'"):
        DetectorConfig("d.yaml", name="a/b")


def test_fields_that_do_not_apply_say_why():
    defaults = {s.name: s.default for s in specs(ClassifierConfig)}
    course = inapplicable(ClassifierConfig, {**defaults, "kind": "course"})
    assert "pretrained backbone" in course["fine_tune_layers"]
    # The first reason declared wins: no backbone, rather than no fine-tune layers.
    assert "pretrained backbone" in course["fine_tune_epochs"]
    assert set(course) >= {"backbone_weights", "dropout", "l2"}
    assert "image_size" not in course and "epochs" not in course
    transfer = inapplicable(ClassifierConfig, {**defaults, "fine_tune_layers": 20})
    assert set(transfer) == {"image_size", "patience"}  # the kind's own schedule: cosine
    # -1 (the kind's own: all layers) fine-tunes; only 0 turns fine-tuning off.
    assert "fine_tune_epochs" not in inapplicable(ClassifierConfig, defaults)
    off = inapplicable(ClassifierConfig, {**defaults, "fine_tune_layers": 0})
    assert "fine-tune layers is 0" in off["fine_tune_epochs"]
    better = inapplicable(ClassifierConfig, {**defaults, "kind": "better", "augment": False})
    assert {"augmentation", "flip_tta", "patience"} <= set(better)  # better: cosine by default
    assert "warmup_epochs" not in better
    plateau = inapplicable(ClassifierConfig, {**defaults, "kind": "better",
                                              "schedule": "plateau"})
    assert "patience" not in plateau and "warm-up" in plateau["warmup_epochs"]
    assert inapplicable(DetectorConfig, {s.name: s.default for s in specs(DetectorConfig)}) == {}
