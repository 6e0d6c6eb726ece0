"""``visionapp train-classifier`` and ``visionapp train-detector``: training runs printed as
they progress.

The options are made from the training configs' fields (:func:`add_config_options`): a required
field is a positional argument, a boolean a flag (``--no-NAME`` where it defaults to on), any
other field ``--field-name`` with the field's type, default, choices and help. The config then
checks the values, so a bad one is the same one line here as in the dialogs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable, Mapping

from visionapp.core.errors import BadInput
from visionapp.core.params import specs

# Spellings kept from before the options were generated (the first one is shown in --help).
ALIASES = {"learning_rate": ("--lr", "--learning-rate")}


def option_flags(name: str, default: object, aliases: Mapping[str, tuple[str, ...]]
                 ) -> tuple[str, ...]:
    """The option strings of config field ``name``: its aliases, else ``--field-name``
    (``--no-field-name`` for a boolean that is on by default)."""
    if name in aliases:
        return aliases[name]
    flag = name.replace("_", "-")
    return (f"--no-{flag}",) if default is True else (f"--{flag}",)


def add_config_options(parser: argparse.ArgumentParser, config_cls: type,
                       aliases: Mapping[str, tuple[str, ...]] = ALIASES) -> None:
    """One argument per field of ``config_cls``, stored under the field's name."""
    for spec in specs(config_cls):
        text = spec.help.replace("%", "%%")
        if spec.default is dataclasses.MISSING:
            parser.add_argument(spec.name, type=spec.type, help=text)
            continue
        flags = option_flags(spec.name, spec.default, aliases)
        if spec.type is bool:
            parser.add_argument(*flags, dest=spec.name, default=spec.default,
                                help=f"turn off: {text}" if spec.default else text,
                                action="store_false" if spec.default else "store_true")
            continue
        parser.add_argument(*flags, dest=spec.name, type=spec.type, default=spec.default,
                            choices=spec.choices, help=f"{text} (default: %(default)s)")


def config_from(config_cls: type, args: argparse.Namespace):
    """The config made of the parsed options; ParameterError (exit 2) for a value it refuses."""
    return config_cls(**{spec.name: getattr(args, spec.name) for spec in specs(config_cls)})


def _report(events: Iterable) -> dict[type, object]:
    """Print a training run's progress to stderr; a Failed event ends it with exit status 2.
    Returns the last event of each type."""
    from visionapp.training.progress import Batch, Epoch, Failed

    last: dict[type, object] = {}
    for event in events:
        last[type(event)] = event
        match event:
            case Failed(message=message):
                raise BadInput(message.replace("\n", " | "))
            case Batch():
                pass
            case Epoch(eta_s=eta) if eta:
                print(f"{event.message} (ETA {eta:.0f} s)", file=sys.stderr)
            case _:
                print(event.message, file=sys.stderr)
    return last


def cmd_train_detector(args: argparse.Namespace) -> int:
    from visionapp.training.detector import DetectorConfig, train

    _report(train(config_from(DetectorConfig, args)))
    return 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from visionapp.training.classifier import ClassifierConfig, train
    from visionapp.training.progress import Evaluation, Finished

    last = _report(train(config_from(ClassifierConfig, args)))
    done, evaluation = last.get(Finished), last.get(Evaluation)
    if done is not None:
        print(json.dumps({"model": done.model_path,
                          **{k: round(v, 4) for k, v in done.metrics.items()},
                          "confusion": evaluation.confusion if evaluation else None}))
    return 0


def add_parsers(sub) -> None:
    """Register this module's commands on the ``visionapp`` subparsers."""
    from visionapp.training.classifier import ClassifierConfig
    from visionapp.training.detector import DetectorConfig

    p = sub.add_parser("train-detector", help="fine-tune YOLO on a YOLO-format data.yaml")
    add_config_options(p, DetectorConfig)
    p.set_defaults(func=cmd_train_detector)
    p = sub.add_parser("train-classifier", help="train an image classifier on class folders")
    add_config_options(p, ClassifierConfig)
    p.set_defaults(func=cmd_train_classifier)
