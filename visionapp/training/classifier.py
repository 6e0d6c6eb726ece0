"""Training an image classifier from folders of images, streamed as Progress values.

:func:`train` runs everything in a child process (TensorFlow's memory goes with it): scan and
split the dataset, build the model, fit with early stopping (best weights restored),
ReduceLROnPlateau and a best-epoch checkpoint, optionally fine-tune the top of a pretrained
backbone at a low learning rate, evaluate on the held-out split, save one ``.keras`` file plus a
JSON card (class names, input size, preprocessing, split, metrics), reload it and check it
predicts exactly what the in-memory model did. The parent places both files in the trained-models
folder (:func:`visionapp.paths.trained_models_dir`) without ever replacing a file of that name,
even one that appeared during training, unless ``force``.

Settings are checked when the config is created, so the CLI, the dialog and the child reject the
same values with the same one-line message; a run whose loss turns NaN stops and says so.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from visionapp import paths
from visionapp.core.errors import ParameterError, VisionappError
from visionapp.core.params import param
from visionapp.training.child import child_channel, child_main, stream_child, work_dir
from visionapp.training.classifier_models import KINDS
from visionapp.training.progress import Progress
from visionapp.training.saving import save_new
from visionapp.training.settings import check_name, check_settings

OWNER = "train-classifier"
MIN_IMAGE_SIZE = 32


@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of a classifier run; numeric ones are checked against their ranges on creation."""

    dataset: str
    kind: str = param("mobilenet_v2", choices=KINDS)  # course | better | backbones
    image_size: int = param(0, min=0, max=1024, help="0: the kind's own (course 64, better 96, "
                                                     "backbones their input)")
    epochs: int = param(15, min=1, max=10000)
    batch: int = param(32, min=1, max=4096)
    learning_rate: float = param(1e-3, min=1e-8, max=10.0)
    # plateau | cosine | auto: cosine for the better CNN and for fine-tuning, plateau otherwise
    schedule: str = param("auto", choices=("auto", "plateau", "cosine"))
    fine_tune_layers: int = param(0, min=0, max=10000,
                                  help="backbones: then unfreeze this many top layers …")
    fine_tune_epochs: int = param(10, min=1, max=10000, help="… train this many more epochs …")
    fine_tune_lr: float = param(1e-4, min=1e-8, max=10.0,
                                help="… from this learning rate (cosine decay, by default)")
    dropout: float = param(0.3, min=0.0, max=0.95)
    l2: float = param(0.0, min=0.0, max=1.0)
    augment: bool = True
    # auto (course → course, else standard) | standard | course
    augmentation: str = param("auto", choices=("auto", "standard", "course"))
    patience: int = param(5, min=1, max=10000, help="early stopping, with the plateau schedule")
    seed: int = param(1337, min=0, max=2**32 - 1)
    mixed_precision: bool = False
    backbone_weights: str = "auto"  # auto: the resolver's ImageNet file, else Keras' download;
    # none: random initialisation; or a path
    name: str = "classifier"  # saved as <trained models dir>/<name>.keras + <name>.json
    force: bool = False

    def __post_init__(self) -> None:
        check_settings(self, OWNER)
        check_name(self.name, OWNER)
        if 0 < self.image_size < MIN_IMAGE_SIZE:
            raise ParameterError(f"{OWNER} image_size={self.image_size} is too small; use 0 (the "
                                 f"model's own) or {MIN_IMAGE_SIZE} to 1024")


def output_paths(config: ClassifierConfig) -> tuple[Path, Path]:
    return (paths.trained_model_file(config.name, ".keras"),
            paths.trained_model_file(config.name, ".json"))


def train(config: ClassifierConfig, stop: threading.Event | None = None) -> Iterator[Progress]:
    model_path, card_path = output_paths(config)
    if (model_path.exists() or card_path.exists()) and not config.force:
        yield Progress("error", f"{model_path} already exists; choose another name or allow "
                       "replacing it")
        return
    for event in stream_child("visionapp.training.classifier", asdict(config),
                              work_dir(config.name), stop):
        if event.kind != "done":
            yield event
            if event.kind == "error":
                return
            continue
        try:
            save_new([(Path(event.model_path), model_path),
                      (Path(event.extra["card"]), card_path)], force=config.force)
        except VisionappError as exc:
            yield Progress("error", str(exc))
            return
        except OSError as exc:
            yield Progress("error", f"could not save the model as {model_path} "
                           f"({exc.strerror or exc}); the trained model stays at "
                           f"{event.model_path}")
            return
        stopped = " (stopped early: best epoch so far)" if stop is not None and stop.is_set() \
            else ""
        yield Progress("done", f"model saved to {model_path}{stopped}", fraction=1.0,
                       model_path=str(model_path),
                       metrics=event.metrics, extra={**event.extra, "card": str(card_path)})


# ----------------------------------------------------------------------------- the child


def _device(emit, mixed_precision: bool):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        emit(Progress("log", "training on the CPU (TensorFlow sees no GPU)"))
        return tf.distribute.get_strategy()
    if mixed_precision:
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
    names = ", ".join(g.name for g in gpus)
    if len(gpus) > 1:
        emit(Progress("log", f"training on {len(gpus)} GPUs with MirroredStrategy: {names}"))
        return tf.distribute.MirroredStrategy()
    emit(Progress("log", f"training on GPU {names}"
                  + (" with mixed precision" if mixed_precision else "")))
    return tf.distribute.get_strategy()


def _optimizer(learning_rate: float, schedule: str, epochs: int, steps: int):
    """Adam at a constant rate (``plateau``: ReduceLROnPlateau halves it when validation loss
    stalls) or decaying along a cosine to zero over ``epochs`` (``cosine``: steady progress for
    from-scratch models, whose noisy validation loss would make plateau halve it too early)."""
    import keras

    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps)
    return keras.optimizers.Adam(learning_rate)


def _callbacks(emit, work: Path, total_epochs: int, steps: int, offset: int, t0: float,
               best_name: str = "best.weights.h5", beat: float | None = None,
               schedule: str = "plateau", patience: int = 5):
    import keras

    class Stream(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (work / "STOP").exists():
                self.model.stop_training = True
            done = offset + self.epoch + (batch + 1) / steps
            emit(Progress("batch", epoch=offset + self.epoch + 1, epochs=total_epochs,
                          fraction=done / total_epochs))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch - offset if epoch >= offset else epoch

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: round(float(v), 5) for k, v in (logs or {}).items()}
            n = epoch + 1
            eta = (time.perf_counter() - t0) / n * (total_epochs - n)
            emit(Progress("epoch", f"epoch {n}/{total_epochs}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in logs.items() if k != "learning_rate"),
                epoch=n, epochs=total_epochs, fraction=n / total_epochs, eta_s=eta,
                metrics=logs))

    best = work / best_name
    callbacks = [
        Stream(),
        keras.callbacks.TerminateOnNaN(),  # a diverged run stops; the check before saving says so
        # The best epoch by validation accuracy; with ``beat``, only epochs better than that.
        keras.callbacks.ModelCheckpoint(str(best), monitor="val_accuracy", mode="max",
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=beat),
    ]
    if schedule == "plateau":
        # A cosine schedule runs its full length; a constant rate stops when validation
        # accuracy has not improved for ``patience`` epochs.
        callbacks += [
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
                                              min_lr=1e-7),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience),
        ]
    return callbacks, best


def evaluate(model, items, image_size: int, batch: int, class_names: list[str]) -> dict:
    """Accuracy, precision, recall, F1 (binary: of class 1; more classes: macro), confusion
    matrix (rows true, columns predicted) and the most confidently wrong images."""
    import numpy as np

    from visionapp.training.classifier_data import pipeline

    probs = model.predict(pipeline(items, image_size, batch, training=False), verbose=0)
    probs = np.asarray(probs, np.float64)
    n = len(class_names)
    if probs.shape[1] == 1:
        probs = np.concatenate([1 - probs, probs], axis=1)
    truth = np.array([label for _, label in items])
    pred = probs.argmax(axis=1)
    confusion = np.zeros((n, n), int)
    np.add.at(confusion, (truth, pred), 1)
    tp = np.diag(confusion).astype(float)
    precision = np.divide(tp, confusion.sum(axis=0), out=np.zeros(n), where=confusion.sum(0) > 0)
    recall = np.divide(tp, confusion.sum(axis=1), out=np.zeros(n), where=confusion.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n),
                   where=(precision + recall) > 0)
    pick = (lambda a: float(a[1])) if n == 2 else (lambda a: float(a.mean()))
    wrong = np.flatnonzero(pred != truth)
    worst = sorted(wrong, key=lambda i: -probs[i, pred[i]])[:8]
    return {
        "accuracy": float((pred == truth).mean()), "precision": pick(precision),
        "recall": pick(recall), "f1": pick(f1), "confusion": confusion.tolist(),
        "worst": [{"path": items[i][0], "true": class_names[truth[i]],
                   "predicted": class_names[pred[i]], "score": round(float(probs[i, pred[i]]), 4)}
                  for i in worst],
        "images": len(items),
    }


def _child(config: ClassifierConfig, work: Path) -> int:
    emit = child_channel()
    from visionapp.core.frameworks import before_tensorflow

    before_tensorflow()
    import keras
    import numpy as np
    import tensorflow as tf

    from visionapp.core import weights
    from visionapp.core.errors import VisionappError
    from visionapp.training import classifier_data as data
    from visionapp.training import classifier_models as cm

    t0 = time.perf_counter()
    try:
        dataset = data.scan(Path(config.dataset), seed=config.seed)
    except VisionappError as exc:
        emit(Progress("error", str(exc)))
        return 1
    emit(Progress("log", f"dataset: {dataset.summary()}", extra={"counts": dataset.counts()}))
    keras.utils.set_random_seed(config.seed)
    strategy = _device(emit, config.mixed_precision)
    n_classes = len(dataset.class_names)
    backbone = None
    if config.kind in cm.BACKBONES:
        backbone = _backbone_weights(config, cm, weights)
        emit(Progress("log", f"backbone weights: {backbone}"))
    schedule = config.schedule
    if schedule == "auto":
        schedule = "cosine" if config.kind == "better" else "plateau"
    steps = max(1, -(-len(dataset.files["train"]) // config.batch))
    try:
        with strategy.scope():
            built = cm.build(config.kind, n_classes, image_size=config.image_size or None,
                             backbone_weights=backbone, dropout=config.dropout, l2=config.l2)
            model = built.model
            loss = "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"
            model.compile(_optimizer(config.learning_rate, schedule, config.epochs, steps),
                          loss=loss, metrics=["accuracy"])
    except (OSError, ValueError) as exc:
        emit(Progress("error", f"could not build the {config.kind} model: {exc}"))
        return 1
    rows = cm.summary_rows(model)
    emit(Progress("log", f"model {model.name}: {sum(r[3] for r in rows):,} parameters "
                  f"({sum(int(np.prod(w.shape)) for w in model.trainable_weights):,} trainable)",
                  extra={"summary": rows}))
    size = built.image_size
    style = config.augmentation
    if style == "auto":
        style = "course" if config.kind == "course" else "standard"
    augment = data.augmentation(style) if config.augment else None
    train_ds = data.pipeline(dataset.files["train"], size, config.batch, training=True,
                             augment=augment, seed=config.seed)
    val_ds = data.pipeline(dataset.files["val"], size, config.batch, training=False)
    fine = config.fine_tune_layers if config.kind in cm.BACKBONES else 0
    total = config.epochs + (config.fine_tune_epochs if fine else 0)
    callbacks, best = _callbacks(emit, work, total, steps, 0, t0, schedule=schedule,
                                 patience=config.patience)
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                            callbacks=callbacks, verbose=0)
        done_epochs = len(history.history.get("loss", []))
        stopped = (work / "STOP").exists()
        if best.exists():
            model.load_weights(str(best))  # the best epoch, whether stopped or not
        best_val = max(history.history.get("val_accuracy", [0.0]))
        frozen_metrics = None
        if fine and not stopped:
            held = dataset.files.get("test") or dataset.files["val"]
            frozen_metrics = evaluate(model, held, built.image_size, config.batch,
                                      dataset.class_names)
            emit(Progress("log", f"frozen backbone: held-out accuracy "
                          f"{frozen_metrics['accuracy']:.3f}"))
            unfrozen = cm.unfreeze_top(model, fine)
            with strategy.scope():
                fine_schedule = "cosine" if config.schedule == "auto" else schedule
                model.compile(_optimizer(config.fine_tune_lr, fine_schedule,
                                         config.fine_tune_epochs, steps),
                              loss=loss, metrics=["accuracy"])
            emit(Progress("log", f"fine-tuning: {unfrozen} backbone layers unfrozen (batch norm "
                          f"kept frozen), learning rate {config.fine_tune_lr:g}"))
            frozen_weights = model.get_weights()
            callbacks, best = _callbacks(emit, work, total, steps, done_epochs, t0,
                                         "best_fine_tuned.weights.h5", beat=best_val,
                                         schedule=fine_schedule, patience=config.patience)
            model.fit(train_ds, validation_data=val_ds, initial_epoch=done_epochs,
                      epochs=done_epochs + config.fine_tune_epochs, callbacks=callbacks,
                      verbose=0)
            # Model selection on the validation split: keep fine-tuning only if it beat the
            # frozen backbone's best epoch there.
            if best.exists():
                model.load_weights(str(best))
                emit(Progress("log", "fine-tuning improved validation accuracy: kept"))
            else:
                model.set_weights(frozen_weights)
                emit(Progress("log", f"fine-tuning did not beat the frozen backbone's "
                              f"validation accuracy ({best_val:.3f}): kept the frozen model"))
    except (tf.errors.ResourceExhaustedError, MemoryError):
        emit(Progress("error", f"out of memory at batch size {config.batch}; try a smaller "
                      f"batch (e.g. {max(1, config.batch // 2)}) or a smaller image size"))
        return 1
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        emit(Progress("error", f"training diverged: the model's weights became NaN or infinite "
                      f"at learning rate {config.learning_rate:g}; try a lower one (e.g. --lr "
                      f"{config.learning_rate / 10:g}); nothing was saved"))
        return 1
    held_out = dataset.files.get("test") or dataset.files["val"]
    which = "test" if dataset.files.get("test") else "validation (no test split)"
    metrics = evaluate(model, held_out, size, config.batch, dataset.class_names)
    emit(Progress("log", f"held-out {which}: accuracy {metrics['accuracy']:.3f}, precision "
                  f"{metrics['precision']:.3f}, recall {metrics['recall']:.3f}, F1 "
                  f"{metrics['f1']:.3f}"))
    model_file, card_file = work / "model.keras", work / "model.json"
    model.save(str(model_file))
    card = {
        "format": "visionapp-classifier-1", "kind": config.kind,
        "class_names": dataset.class_names, "image_size": size,
        "input": "RGB, 0-255, any size (resizing and rescaling are inside the model)",
        "preprocessing": built.preprocessing, "binary": n_classes == 2,
        "metrics": {k: v for k, v in metrics.items() if k != "worst"},
        "evaluated_on": which, "config": asdict(config),
        "frozen_backbone_accuracy": frozen_metrics["accuracy"] if frozen_metrics else None,
        "split": {split: [os.path.relpath(p, config.dataset) for p, _ in items]
                  for split, items in dataset.files.items()},
        "skipped": dataset.skipped, "seconds": round(time.perf_counter() - t0, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version()},
    }
    card_file.write_text(json.dumps(card, indent=1), encoding="utf-8")
    same = _self_test(model, model_file, held_out[:32], size)
    emit(Progress("log", "self-test: the reloaded model predicts exactly as trained"
                  if same else "self-test FAILED: the reloaded model predicts differently"))
    if not same:
        emit(Progress("error", "the saved model does not reproduce the trained one; not saved"))
        return 1
    emit(Progress("done", model_path=str(model_file), metrics={
        k: metrics[k] for k in ("accuracy", "precision", "recall", "f1")},
        extra={"card": str(card_file), "confusion": metrics["confusion"],
               "frozen_accuracy": frozen_metrics["accuracy"] if frozen_metrics else None,
               "worst": metrics["worst"], "class_names": dataset.class_names,
               "seconds": card["seconds"]}))
    return 0


def _backbone_weights(config: ClassifierConfig, cm, weights) -> str | None:
    from visionapp.core.errors import ModelNotFound

    if config.backbone_weights == "none":
        return None  # random initialisation (for comparison)
    if config.backbone_weights not in ("auto", ""):
        return config.backbone_weights
    name = cm.BACKBONES[config.kind][2]
    try:
        return str(weights.resolve(name, download=False))
    except ModelNotFound:
        return "imagenet"  # Keras downloads the ImageNet weights itself


def _self_test(model, model_file: Path, items, size: int) -> bool:
    import keras
    import numpy as np

    from visionapp.processors.keras_inference import custom_layers
    from visionapp.training.classifier_data import pipeline

    custom_layers()
    reloaded = keras.models.load_model(str(model_file), safe_mode=True)
    ds = pipeline(items, size, 32, training=False)
    a = np.asarray(model.predict(ds, verbose=0))
    b = np.asarray(reloaded.predict(ds, verbose=0))
    return bool(np.allclose(a, b, atol=1e-6))


if __name__ == "__main__":
    child_main(ClassifierConfig, _child)
