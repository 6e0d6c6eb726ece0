"""Training an image classifier from folders of images, streamed as typed progress events.

:func:`train` runs everything in a child process (TensorFlow's memory goes with it; the fitting
itself is :mod:`visionapp.training.classifier_fit`): scan and split the dataset, build the model,
fit it with the kind's recipe (:mod:`visionapp.training.classifier_recipe`: optimizer, learning
rate schedule, label smoothing, augmentation, epochs) and a best-epoch checkpoint, fine-tune a
pretrained backbone at a low learning rate, evaluate on the held-out split, save one ``.keras``
file plus a JSON card (class names, input size, preprocessing, split, metrics), reload it and
check it predicts exactly what the in-memory model did. The parent places both files in the
trained-models folder (:func:`visionapp.paths.trained_model_file`) without ever replacing a file
of that name, even one that appeared during training, unless ``force``.

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
from visionapp.training import classifier_recipe as recipe
from visionapp.training.child import stream_child, work_dir
from visionapp.training.classifier_models import BACKBONES, KINDS
from visionapp.training.progress import Event, Failed, Finished
from visionapp.training.saving import place_trained
from visionapp.training.settings import Applies, TrainingConfig

MIN_IMAGE_SIZE = 32


@dataclass(frozen=True)
class ClassifierConfig(TrainingConfig):
    """Settings of a classifier run. ``visionapp train-classifier``'s options and the training
    dialog's form are made from these fields; every value is checked on creation. A setting
    left at its auto value (0 or -1 for numbers, "auto" for choices) takes the kind's own from
    :mod:`visionapp.training.classifier_recipe`, which the child resolves before training."""

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
        Applies(("fine_tune_epochs", "fine_tune_lr"), lambda c: c.fine_tune_layers != 0,
                "fine-tune layers is 0: no fine-tuning"),
        Applies(("image_size",), lambda c: c.kind not in BACKBONES,
                "transfer models take their backbone's own input size"),
        Applies(("dropout", "l2"), lambda c: c.kind != "course",
                "the course CNN is built as the notes write it: no dropout, no L2"),
        Applies(("augmentation", "flip_tta"), lambda c: c.augment, "augmentation is off"),
        Applies(("patience",), lambda c: recipe.effective(c, "schedule") == "plateau",
                "early stopping runs with the plateau schedule only; a cosine schedule runs "
                "all its epochs"),
        Applies(("warmup_epochs",), lambda c: recipe.effective(c, "schedule") == "cosine",
                "warm-up comes before a cosine decay; the plateau schedule starts at full rate"),
    )

    dataset: str = param(MISSING, kind="folder", help="a folder with one subfolder per class")
    kind: str = param("mobilenet_v2", choices=KINDS,
                      help="course: the notes' CNN; better: a from-scratch CNN as one would "
                           "write it today; the others: an ImageNet backbone with a new head")
    image_size: int = param(0, min=0, max=1024, help="input size in px; 0: the kind's own "
                                                     "(course 64, better 96)")
    epochs: int = param(0, min=0, max=10000,
                        help="passes over the training images; 0: the kind's own (course 50, "
                             "better 60, backbones 10 frozen)")
    batch: int = param(32, min=1, max=4096, help="images per training step")
    learning_rate: float = param(0.0, min=0.0, max=10.0, step=1e-5,
                                 help="peak learning rate; 0: the kind's own (course 1e-3, "
                                      "better 2e-3, backbones 1e-3)")
    schedule: str = param("auto", choices=("auto", "plateau", "cosine"),
                          help="learning rate: halve on plateaus with early stopping, or warm "
                               "up and decay along a cosine (auto: the kind's own: cosine)")
    warmup_epochs: int = param(-1, min=-1, max=1000,
                               help="cosine: epochs of linear warm-up first; -1: the kind's own "
                                    "(course 0, better 3, backbones 1)")
    weight_decay: float = param(-1.0, min=-1.0, max=1.0,
                                help="AdamW's decoupled weight decay (0: Adam); -1: the kind's "
                                     "own (course 0, better 0.05, backbones 1e-4)")
    label_smoothing: float = param(-1.0, min=-1.0, max=0.5,
                                   help="-1: the kind's own (course 0, others 0.1)")
    mixup: float = param(-1.0, min=-1.0, max=10.0,
                         help="mixup's Beta(α, α) (0: off); -1: the kind's own (off)")
    flip_tta: str = param("auto", choices=("auto", "flip", "none"),
                          help="predict the mean of the image's and its mirror image's "
                               "predictions, in evaluation and live (models trained with "
                               "flips); auto: the kind's own (none)")
    fine_tune_layers: int = param(-1, min=-1, max=10000,
                                  help="backbones: then unfreeze this many top layers (0: no "
                                       "fine-tuning; -1: the kind's own: all) …")
    fine_tune_epochs: int = param(0, min=0, max=10000,
                                  help="… train this many more epochs (0: the kind's own: 10) …")
    fine_tune_lr: float = param(0.0, min=0.0, max=10.0, step=1e-5,
                                help="… from this learning rate (0: the kind's own: 1e-4)")
    dropout: float = param(0.3, min=0.0, max=0.95, help="dropout before the output layer")
    l2: float = param(0.0, min=0.0, max=1.0, help="L2 weight penalty")
    augment: bool = param(True, help="augment the training images (flips, shifts, zooms, …)")
    augmentation: str = param("auto", choices=("auto", "standard", "course"),
                              help="auto: the kind's own: the course's settings for the course "
                                   "CNN, else standard")
    patience: int = param(0, min=0, max=10000,
                          help="early-stopping patience in epochs (plateau schedule; cosine runs "
                               "all its epochs); 0: the kind's own")
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
