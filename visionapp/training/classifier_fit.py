"""The child-process side of classifier training: device, model, fitting, fine-tuning,
evaluation, the saved model and its card, streamed to the parent as JSON lines.

Run as ``python -m visionapp.training.classifier_fit --child CONFIG WORK`` by
:func:`visionapp.training.classifier.train`, which places the files this writes to ``WORK``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from visionapp.training import classifier_recipe as recipe
from visionapp.training.child import child_channel, child_main
from visionapp.training.classifier import ClassifierConfig
from visionapp.training.progress import (
    Batch,
    DatasetSummary,
    Device,
    Epoch,
    Evaluation,
    Failed,
    Finished,
    Log,
    Mistake,
    ModelSummary,
)


def _device(emit, mixed_precision: bool):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        emit(Device("training on the CPU (TensorFlow sees no GPU)"))
        return tf.distribute.get_strategy()
    if mixed_precision:
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
    gpu_names = tuple(g.name for g in gpus)
    names = ", ".join(gpu_names)
    if len(gpus) > 1:
        emit(Device(f"training on {len(gpus)} GPUs with MirroredStrategy: {names}", gpu_names))
        return tf.distribute.MirroredStrategy()
    emit(Device(f"training on GPU {names}" + (" with mixed precision" if mixed_precision else ""),
                gpu_names))
    return tf.distribute.get_strategy()


def _callbacks(emit, work: Path, total_epochs: int, steps: int, offset: int, t0: float,
               best_name: str = "best.weights.h5", beat: float | None = None,
               schedule: str = "plateau", patience: int = 5):
    import keras

    class Stream(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (work / "STOP").exists():
                self.model.stop_training = True
            done = offset + self.epoch + (batch + 1) / steps
            emit(Batch(offset + self.epoch + 1, total_epochs, done / total_epochs))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch - offset if epoch >= offset else epoch

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: round(float(v), 5) for k, v in (logs or {}).items()}
            n = epoch + 1
            eta = (time.perf_counter() - t0) / n * (total_epochs - n)
            emit(Epoch(n, total_epochs, n / total_epochs, eta, logs))

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


def evaluate(model, items, image_size: int, batch: int, class_names: list[str],
             split: str = "test", flip_tta: bool = False) -> Evaluation:
    """Accuracy, precision, recall, F1 (binary: of class 1; more classes: macro), confusion
    matrix (rows true, columns predicted) and the most confidently wrong images. With
    ``flip_tta`` each prediction is the mean of the image's and its mirror image's, as the live
    processor predicts for such a model."""
    import numpy as np

    from visionapp.processors.keras_inference import class_probabilities
    from visionapp.training.classifier_data import pipeline

    ds = pipeline(items, image_size, batch, training=False)
    out = np.asarray(model.predict(ds, verbose=0), np.float64)
    if flip_tta:
        mirrored = ds.map(lambda x, y: (x[:, :, ::-1], y))
        out = (out + np.asarray(model.predict(mirrored, verbose=0), np.float64)) / 2
    probs = class_probabilities(out)
    n = len(class_names)
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
    return Evaluation(
        split, float((pred == truth).mean()), pick(precision), pick(recall), pick(f1),
        tuple(tuple(int(v) for v in row) for row in confusion), tuple(class_names),
        tuple(Mistake(items[i][0], class_names[truth[i]], class_names[pred[i]],
                      round(float(probs[i, pred[i]]), 4)) for i in worst),
        len(items))


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

    config = recipe.resolve(config)  # every auto setting becomes the kind's own
    t0 = time.perf_counter()
    try:
        dataset = data.scan(Path(config.dataset), seed=config.seed)
    except VisionappError as exc:
        emit(Failed(str(exc)))
        return 1
    emit(DatasetSummary(dataset.summary(), tuple(dataset.class_names),
                        {split: len(items) for split, items in dataset.files.items()},
                        dataset.counts()))
    keras.utils.set_random_seed(config.seed)
    strategy = _device(emit, config.mixed_precision)
    n_classes = len(dataset.class_names)
    backbone = None
    if config.kind in cm.BACKBONES:
        backbone = _backbone_weights(config, cm, weights)
        emit(Log(f"backbone weights: {backbone}"))
    schedule = config.schedule
    steps = max(1, -(-len(dataset.files["train"]) // config.batch))
    try:
        with strategy.scope():
            built = cm.build(config.kind, n_classes, image_size=config.image_size or None,
                             backbone_weights=backbone, dropout=config.dropout, l2=config.l2)
            model = built.model
            loss = recipe.loss(n_classes, config.label_smoothing)
            model.compile(recipe.optimizer(config.learning_rate, schedule, config.epochs, steps,
                                           config.warmup_epochs, config.weight_decay),
                          loss=loss, metrics=[recipe.accuracy(n_classes)])
    except (OSError, ValueError) as exc:
        emit(Failed(f"could not build the {config.kind} model: {exc}"))
        return 1
    rows = tuple(cm.summary_rows(model))
    emit(ModelSummary(model.name, rows, sum(r[3] for r in rows),
                      sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                      cm.summary_formulas(model)))
    size = built.image_size
    augment = data.augmentation(config.augmentation) if config.augment else None
    # Mirror-image averaging only for a model trained to see a mirrored image as the same class.
    flip_tta = config.flip_tta == "flip" and augment is not None and augment.flip
    emit(Log(recipe.describe(config, flip_tta)))
    train_ds = data.pipeline(dataset.files["train"], size, config.batch, training=True,
                             augment=augment, seed=config.seed, n_classes=n_classes,
                             mixup_alpha=config.mixup)
    val_ds = data.pipeline(dataset.files["val"], size, config.batch, training=False,
                           n_classes=n_classes)
    fine = config.fine_tune_layers if config.kind in cm.BACKBONES else 0
    total = config.epochs + (config.fine_tune_epochs if fine else 0)
    callbacks, best = _callbacks(emit, work, total, steps, 0, t0, schedule=schedule,
                                 patience=config.patience)
    held_out = dataset.files.get("test") or dataset.files["val"]
    which = "test" if dataset.files.get("test") else "validation (no test split)"
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                            callbacks=callbacks, verbose=0)
        done_epochs = len(history.history.get("loss", []))
        stopped = (work / "STOP").exists()
        if best.exists():
            model.load_weights(str(best))  # the best epoch, whether stopped or not
        best_val = max(history.history.get("val_accuracy", [0.0]))
        frozen_accuracy = None
        if fine and not stopped:
            frozen_accuracy = evaluate(model, held_out, size, config.batch,
                                       dataset.class_names, flip_tta=flip_tta).accuracy
            emit(Log(f"frozen backbone: held-out accuracy {frozen_accuracy:.3f}"))
            unfrozen = cm.unfreeze_top(model, fine)
            with strategy.scope():
                model.compile(recipe.optimizer(config.fine_tune_lr, schedule,
                                               config.fine_tune_epochs, steps,
                                               config.warmup_epochs, config.weight_decay),
                              loss=loss, metrics=[recipe.accuracy(n_classes)])
            emit(Log(f"fine-tuning: {unfrozen} backbone layers unfrozen (batch norm kept "
                     f"frozen), learning rate {config.fine_tune_lr:g}"))
            frozen_weights = model.get_weights()
            callbacks, best = _callbacks(emit, work, total, steps, done_epochs, t0,
                                         "best_fine_tuned.weights.h5", beat=best_val,
                                         schedule=schedule, patience=config.patience)
            model.fit(train_ds, validation_data=val_ds, initial_epoch=done_epochs,
                      epochs=done_epochs + config.fine_tune_epochs, callbacks=callbacks,
                      verbose=0)
            # Model selection on the validation split: keep fine-tuning only if it beat the
            # frozen backbone's best epoch there.
            if best.exists():
                model.load_weights(str(best))
                emit(Log("fine-tuning improved validation accuracy: kept"))
            else:
                model.set_weights(frozen_weights)
                emit(Log(f"fine-tuning did not beat the frozen backbone's validation accuracy "
                         f"({best_val:.3f}): kept the frozen model"))
    except (tf.errors.ResourceExhaustedError, MemoryError):
        emit(Failed(f"out of memory at batch size {config.batch}; try a smaller "
                    f"batch (e.g. {max(1, config.batch // 2)}) or a smaller image size"))
        return 1
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        emit(Failed(f"training diverged: the model's weights became NaN or infinite "
                    f"at learning rate {config.learning_rate:g}; try a lower one (e.g. --lr "
                    f"{config.learning_rate / 10:g}); nothing was saved"))
        return 1
    evaluation = evaluate(model, held_out, size, config.batch, dataset.class_names, which,
                          flip_tta)
    evaluation = replace(evaluation, frozen_accuracy=frozen_accuracy)
    emit(evaluation)
    model_file, card_file = work / "model.keras", work / "model.json"
    model.save(str(model_file))
    card = {
        "format": "visionapp-classifier-1", "kind": config.kind,
        "class_names": dataset.class_names, "image_size": size,
        "input": "RGB, 0-255, any size (resizing and rescaling are inside the model)",
        "preprocessing": built.preprocessing, "binary": n_classes == 2,
        "metrics": {**evaluation.scores(), "confusion": evaluation.confusion,
                    "images": evaluation.images},
        "evaluated_on": which, "config": asdict(config),
        "test_time_augmentation": "flip" if flip_tta else "none",
        "frozen_backbone_accuracy": frozen_accuracy,
        "split": {split: [os.path.relpath(p, config.dataset) for p, _ in items]
                  for split, items in dataset.files.items()},
        "skipped": dataset.skipped, "seconds": round(time.perf_counter() - t0, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version()},
    }
    card_file.write_text(json.dumps(card, indent=1), encoding="utf-8")
    same = _self_test(model, model_file, held_out[:32], size)
    emit(Log("self-test: the reloaded model predicts exactly as trained"
             if same else "self-test FAILED: the reloaded model predicts differently"))
    if not same:
        emit(Failed("the saved model does not reproduce the trained one; not saved"))
        return 1
    emit(Finished(str(model_file), card_path=str(card_file), metrics=evaluation.scores()))
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
