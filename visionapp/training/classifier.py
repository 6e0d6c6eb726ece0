"""Training an image classifier from folders of images, streamed as typed progress events.

:func:`train` runs everything in a child process (TensorFlow's memory goes with it; the fitting
itself is :mod:`visionapp.training.classifier_fit`): scan and split the dataset, build the model,
fit with early stopping (best weights restored), ReduceLROnPlateau and a best-epoch checkpoint,
optionally fine-tune the top of a pretrained backbone at a low learning rate, evaluate on the
held-out split, save one ``.keras`` file plus a JSON card (class names, input size,
preprocessing, split, metrics), reload it and check it predicts exactly what the in-memory model
did. The parent places both files in the trained-models folder
(:func:`visionapp.paths.trained_model_file`) without ever replacing a file of that name, even one
that appeared during training, unless ``force``.

Settings are checked when the config is created, so the CLI, the dialog and the child reject the
same values with the same one-line message; a run whose loss turns NaN stops and says so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass
from pathlib import Path
from typing import ClassVar

from visionapp import paths
from visionapp.core.params import Rule, param
from visionapp.training.child import stream_child, work_dir
from visionapp.training.classifier_models import BACKBONES, KINDS
from visionapp.training.progress import Event, Failed, Finished
from visionapp.training.saving import place_trained
from visionapp.training.settings import Applies, TrainingConfig

MIN_IMAGE_SIZE = 32


def main_schedule(kind: str, schedule: str) -> str:
    """The learning-rate schedule of the first (or only) phase: ``auto`` is cosine for the better
    CNN, plateau otherwise. (Fine-tuning under ``auto`` always decays along a cosine.)"""
    if schedule == "auto":
        return "cosine" if kind == "better" else "plateau"
    return schedule


@dataclass(frozen=True)
class ClassifierConfig(TrainingConfig):
    """Settings of a classifier run. ``visionapp train-classifier``'s options and the training
    dialog's form are made from these fields; every value is checked on creation."""

    owner: ClassVar[str] = "train-classifier"
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("image_size",), lambda c: not 0 < c.image_size < MIN_IMAGE_SIZE,
             f"{{image_size}} is too small; use 0 (the model's own) or {MIN_IMAGE_SIZE} to 1024"),
    )
    applies: ClassVar[tuple[Applies, ...]] = (
        Applies(("fine_tune_layers", "fine_tune_epochs", "fine_tune_lr", "backbone_weights"),
                lambda c: c.kind in BACKBONES,
                "only the transfer models have a pretrained backbone to start from and "
                "fine-tune"),
        Applies(("fine_tune_epochs", "fine_tune_lr"), lambda c: c.fine_tune_layers > 0,
                "fine-tune layers is 0: no fine-tuning"),
        Applies(("image_size",), lambda c: c.kind not in BACKBONES,
                "transfer models take their backbone's own input size"),
        Applies(("dropout", "l2"), lambda c: c.kind != "course",
                "the course CNN is built as the notes write it: no dropout, no L2"),
        Applies(("augmentation",), lambda c: c.augment, "augmentation is off"),
        Applies(("patience",), lambda c: main_schedule(c.kind, c.schedule) == "plateau",
                "early stopping runs with the plateau schedule only; a cosine schedule runs "
                "all its epochs"),
    )

    dataset: str = param(MISSING, kind="folder", help="a folder with one subfolder per class")
    kind: str = param("mobilenet_v2", choices=KINDS,
                      help="course: the notes' CNN; better: batch norm, GAP, dropout; the others: "
                           "a frozen ImageNet backbone with a new head")
    image_size: int = param(0, min=0, max=1024, help="input size in px; 0: the kind's own "
                                                     "(course 64, better 96)")
    epochs: int = param(15, min=1, max=10000, help="passes over the training images")
    batch: int = param(32, min=1, max=4096, help="images per training step")
    learning_rate: float = param(1e-3, min=1e-8, max=10.0, help="Adam's learning rate")
    schedule: str = param("auto", choices=("auto", "plateau", "cosine"),
                          help="learning rate: halve on plateaus, or decay along a cosine (auto: "
                               "cosine for the better CNN and for fine-tuning, else plateau)")
    fine_tune_layers: int = param(0, min=0, max=10000,
                                  help="backbones: then unfreeze this many top layers (0: no "
                                       "fine-tuning) …")
    fine_tune_epochs: int = param(10, min=1, max=10000, help="… train this many more epochs …")
    fine_tune_lr: float = param(1e-4, min=1e-8, max=10.0,
                                help="… from this learning rate (cosine decay, by default)")
    dropout: float = param(0.3, min=0.0, max=0.95, help="dropout before the output layer")
    l2: float = param(0.0, min=0.0, max=1.0, help="L2 weight penalty")
    augment: bool = param(True, help="augment the training images (flips, shifts, zooms, …)")
    augmentation: str = param("auto", choices=("auto", "standard", "course"),
                              help="auto: the course's settings for the course CNN, else "
                                   "standard")
    patience: int = param(5, min=1, max=10000,
                          help="early-stopping patience in epochs (plateau schedule; cosine runs "
                               "all its epochs)")
    seed: int = param(1337, min=0, max=2**32 - 1, help="fixes the split, the initial weights and "
                                                       "the augmentation")
    mixed_precision: bool = param(False, help="float16 arithmetic (GPU only)")
    backbone_weights: str = param("auto", kind="path",
                                  help="auto: the ImageNet file from the models folders, else "
                                       "Keras' download; none: random initialisation; or a path")
    name: str = param("classifier", kind="name",
                      help="saved as NAME.keras + NAME.json in the trained-models folder "
                           "(visionapp models where)")
    force: bool = param(False, help="replace an existing NAME.keras")


def output_paths(config: ClassifierConfig) -> tuple[Path, Path]:
    return (paths.trained_model_file(config.name, ".keras"),
            paths.trained_model_file(config.name, ".json"))


def train(config: ClassifierConfig, stop: threading.Event | None = None) -> Iterator[Event]:
    """The run's events; the last is Finished (the saved model and card) or Failed."""
    model_path, card_path = output_paths(config)
    if (model_path.exists() or card_path.exists()) and not config.force:
        yield Failed(f"{model_path} already exists; choose another name or allow replacing it")
        return
    for event in stream_child("visionapp.training.classifier_fit", asdict(config),
                              work_dir(config.name), stop):
        if isinstance(event, Finished):
            # The card first: a live classifier waiting for this model loads it as soon as
            # the model file appears, and must find its card beside it.
            problem = place_trained([(Path(event.card_path), card_path),
                                     (Path(event.model_path), model_path)], force=config.force)
            stopped = stop is not None and stop.is_set()
            early = " (stopped early: best epoch so far)" if stopped else ""
            event = Failed(problem) if problem else Finished(
                str(model_path), f"model saved to {model_path}{early}", str(card_path),
                event.metrics, stopped)
        yield event
