"""How each kind of classifier is trained by default: the settings that reach its measured
accuracy (benchmarks/classifier_accuracy.py), so ``visionapp train-classifier --kind K`` with no
other option, the dialog and the benchmark all train the same way.

A setting left at its "auto" value in :class:`~visionapp.training.classifier.ClassifierConfig`
(0 for epochs and learning rates, -1 for the others, "auto" for choices) takes the kind's value
from :data:`RECIPES`; a value given explicitly always wins.

- ``course`` trains the notes' model as the notes do — Adam at 1e-3, binary cross-entropy, the
  notes' ImageDataGenerator augmentation — for 50 epochs with the rate decaying along a cosine
  and the best validation epoch kept. Halving the rate on plateaus with early stopping let the
  noise of a 300-image validation split decide when to stop: 70.7% and 76.7% on two seeds
  where the cosine gave 74.3% and 72.7%.
- ``better`` trains as one would today: AdamW (decoupled weight decay), a linear warm-up then a
  cosine decay to zero, label smoothing, and stronger augmentation (flip, rotation, zoom, shift,
  contrast, brightness).
- Backbones train a new head on the frozen ImageNet features, then unfreeze the backbone
  (batch-norm layers keep their ImageNet statistics) and fine-tune it at a tenth of the rate,
  warmed up so the first large gradients of the new head do not wreck the pretrained filters.

Flip test-time augmentation (``flip_tta="flip"``: each prediction the mean of the image's and its
mirror image's) is an option, off by default: over 3 seeds of 500 held-out photos it raised the
frozen backbone by 0.7 points but the fine-tuned model by only 0.2 (−0.2, +1.4, −0.6), and it
doubles the cost of every live prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from visionapp.training.classifier_models import BACKBONES

AUTO_ZERO = ("epochs", "learning_rate", "fine_tune_epochs", "fine_tune_lr", "patience")
AUTO_NEGATIVE = ("weight_decay", "label_smoothing", "warmup_epochs", "mixup", "fine_tune_layers")

_NO_FINE_TUNING = {"fine_tune_layers": 0, "fine_tune_epochs": 1, "fine_tune_lr": 1e-4,
                   "flip_tta": "none"}
_BACKBONE = {"epochs": 10, "patience": 5, "learning_rate": 1e-3, "schedule": "cosine",
             "augmentation": "standard", "weight_decay": 1e-4, "label_smoothing": 0.1,
             "warmup_epochs": 1, "mixup": 0.0, "fine_tune_layers": 10000, "fine_tune_epochs": 10,
             "fine_tune_lr": 1e-4, "flip_tta": "none"}
RECIPES: dict[str, dict[str, Any]] = {
    "course": {"epochs": 50, "learning_rate": 1e-3, "schedule": "cosine", "patience": 10,
               "augmentation": "course", "weight_decay": 0.0, "label_smoothing": 0.0,
               "warmup_epochs": 0, "mixup": 0.0, **_NO_FINE_TUNING},
    "better": {"epochs": 60, "patience": 10, "learning_rate": 2e-3, "schedule": "cosine",
               "augmentation": "standard", "weight_decay": 0.05, "label_smoothing": 0.1,
               "warmup_epochs": 3, "mixup": 0.0, **_NO_FINE_TUNING},
    **{kind: _BACKBONE for kind in BACKBONES},
}


def is_auto(name: str, value: Any) -> bool:
    """Whether ``value`` of setting ``name`` means "the kind's own"."""
    return ((name in AUTO_ZERO and value == 0) or (name in AUTO_NEGATIVE and value < 0)
            or value == "auto")


def effective(settings: Any, name: str) -> Any:
    """The value setting ``name`` takes in training for ``settings`` (a config, or any object
    with the config's fields as attributes, as the dialogs have): the kind's own where the
    setting is left at auto."""
    value = getattr(settings, name)
    recipe = RECIPES.get(settings.kind, {})
    return recipe[name] if name in recipe and is_auto(name, value) else value


def resolve(config):
    """``config`` with every auto setting replaced by its kind's value (a new frozen config)."""
    changes = {field.name: effective(config, field.name) for field in dataclasses.fields(config)
               if field.name in RECIPES[config.kind]}
    changes = {name: value for name, value in changes.items()
               if value != getattr(config, name)}
    return dataclasses.replace(config, **changes) if changes else config


def learning_rate(peak: float, schedule: str, epochs: int, steps: int, warmup_epochs: int = 0):
    """A constant rate (``plateau``: ReduceLROnPlateau halves it when validation loss stalls),
    or a linear warm-up over ``warmup_epochs`` followed by a cosine decay to zero over the rest
    (``cosine``): steady progress for from-scratch models, whose noisy validation loss would make
    plateau halve the rate too early, and a gentle start for fine-tuning."""
    import keras

    if schedule != "cosine":
        return peak
    warmup = min(warmup_epochs, max(0, epochs - 1)) * steps
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(peak, epochs * steps)
    return keras.optimizers.schedules.CosineDecay(0.0, epochs * steps - warmup,
                                                  warmup_target=peak, warmup_steps=warmup)


def optimizer(peak: float, schedule: str, epochs: int, steps: int, warmup_epochs: int = 0,
              weight_decay: float = 0.0):
    """AdamW: Adam with weight decay applied to the weights directly, not through the loss
    (Loshchilov & Hutter, 2019); with ``weight_decay`` 0 it is Adam."""
    import keras

    rate = learning_rate(peak, schedule, epochs, steps, warmup_epochs)
    if weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(rate)


def loss(n_classes: int, label_smoothing: float):
    """Binary cross-entropy for one sigmoid output, categorical (one-hot targets, which mixup
    blends) for a softmax; both with label smoothing."""
    import keras

    if n_classes == 2:
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)


def accuracy(n_classes: int):
    """Accuracy for the targets the pipeline yields: class indices against one sigmoid output,
    one-hot rows against a softmax."""
    import keras

    if n_classes == 2:
        return keras.metrics.BinaryAccuracy(name="accuracy")
    return keras.metrics.CategoricalAccuracy(name="accuracy")


def describe(config, flip_tta: bool = False) -> str:
    """One log line saying how a resolved ``config`` trains."""
    optimizer_name = (f"AdamW (weight decay {config.weight_decay:g})" if config.weight_decay
                      else "Adam")
    if config.schedule == "cosine":
        warmup = f"{config.warmup_epochs} warm-up epoch(s), then " if config.warmup_epochs else ""
        schedule = f"{warmup}a cosine decay over {config.epochs} epochs"
    else:
        schedule = (f"halved on plateaus, {config.epochs} epochs at most (patience "
                    f"{config.patience})")
    parts = [f"recipe: {optimizer_name} at {config.learning_rate:g}, {schedule}",
             f"label smoothing {config.label_smoothing:g}",
             f"{config.augmentation} augmentation" if config.augment else "no augmentation",
             f"mixup α {config.mixup:g}" if config.mixup else "no mixup"]
    if config.kind in BACKBONES and config.fine_tune_layers:
        parts.append(f"then fine-tuning {config.fine_tune_epochs} epochs at "
                     f"{config.fine_tune_lr:g}")
    if flip_tta:
        parts.append("predictions averaged with the mirror image's")
    return "; ".join(parts)
