"""Image-folder datasets for the classifier: scanning (junk reported, never fatal mid-epoch),
a seeded stratified split, and the tf.data input pipeline (augmentation: classifier_augment).

A dataset is a folder with one subfolder per class (``cats/``, ``dogs/``, …), or the same already
split into ``train/``, ``validation/`` (or ``val/``) and optionally ``test/``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from visionapp.core import hardware
from visionapp.core.errors import BadInput
from visionapp.core.images import read_image, resize_square
from visionapp.core.sources import IMAGE_SUFFIXES, natural_key
from visionapp.training.classifier_augment import Augmentation, augmentation, mixup

SPLIT_NAMES = {"train": "train", "validation": "val", "val": "val", "test": "test"}
SHOW = 5


@dataclass
class Dataset:
    class_names: list[str]
    files: dict[str, list[tuple[str, int]]]  # split → [(path, label)]
    skipped: list[str] = field(default_factory=list)  # "name: reason"

    def counts(self) -> dict[str, dict[str, int]]:
        return {split: dict(Counter(self.class_names[label] for _, label in items))
                for split, items in self.files.items()}

    def summary(self) -> str:
        parts = [f"{split} {len(items)}" for split, items in self.files.items()]
        text = f"{len(self.class_names)} classes ({', '.join(self.class_names)}); " + ", ".join(
            parts)
        if self.skipped:
            more = " …" if len(self.skipped) > SHOW else ""
            text += (f"; skipped {len(self.skipped)} unusable files: "
                     + "; ".join(self.skipped[:SHOW]) + more)
        return text


def _decodes(path: Path) -> str | None:
    """None if the pipeline's decoder (:func:`read_image`, OpenCV) reads the file as an image,
    else why not."""
    if path.stat().st_size == 0:
        return "empty file"
    try:
        image = read_image(path, cv2.IMREAD_COLOR)
    except BadInput as exc:  # "'x.jpg' is a damaged image: it is truncated (…)" → the cause
        cause = str(exc).split(": ", 1)[1] if ": " in str(exc) else "not an image OpenCV reads"
        return f"cannot decode ({cause[:60]})"
    if image.shape[0] < 2 or image.shape[1] < 2:
        return "too small"
    return None


def _class_files(folder: Path, class_names: list[str], skipped: list[str]
                 ) -> list[tuple[str, int]]:
    items = []
    for label, name in enumerate(class_names):
        class_dir = folder / name
        if not class_dir.is_dir():
            continue
        for path in sorted(class_dir.iterdir(), key=natural_key):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(f"{name}/{path.name}: not an image")
                continue
            reason = _decodes(path)
            if reason:
                skipped.append(f"{name}/{path.name}: {reason}")
                continue
            items.append((str(path), label))
    return items


def scan(root: Path, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
         seed: int = 1337) -> Dataset:
    """Find classes and usable images; split if the folder is not split already."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise BadInput(f"dataset folder {str(root)!r} does not exist")
    subdirs = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    splits = {SPLIT_NAMES[d]: root / d for d in subdirs if d in SPLIT_NAMES}
    skipped: list[str] = []
    if "train" in splits:
        class_names = sorted(p.name for p in splits["train"].iterdir() if p.is_dir())
        _check_classes(class_names, root / "train")
        files = {split: _class_files(folder, class_names, skipped)
                 for split, folder in splits.items()}
        if not files.get("val"):
            raise BadInput(f"{root} has train/ but no validation/ (or val/) folder with images")
        if not files["train"]:
            raise BadInput(f"{root}/train contains no usable images")
        return Dataset(class_names, files, skipped)
    class_names = subdirs
    _check_classes(class_names, root)
    items = _class_files(root, class_names, skipped)
    per_class = Counter(label for _, label in items)
    empty = [class_names[i] for i in range(len(class_names)) if per_class[i] == 0]
    if empty:
        raise BadInput(f"class folder(s) {', '.join(empty)} in {root} contain no usable images"
                       + (f" ({len(skipped)} files skipped)" if skipped else ""))
    if min(per_class.values()) < 3:
        raise BadInput("each class needs at least 3 images to split into train, validation "
                       "and test")
    return Dataset(class_names, split(items, len(class_names), val_fraction, test_fraction,
                                      seed), skipped)


def _check_classes(class_names: list[str], folder: Path) -> None:
    if not class_names:
        raise BadInput(f"{folder} has no class subfolders; put the images of each class in a "
                       "folder of its own (e.g. cats/, dogs/)")
    if len(class_names) < 2:
        raise BadInput(f"{folder} has only one class ({class_names[0]}); a classifier needs at "
                       "least two")


def split(items: list[tuple[str, int]], n_classes: int, val_fraction: float,
          test_fraction: float, seed: int) -> dict[str, list[tuple[str, int]]]:
    """Stratified: every class is split in the same proportions; the seed fixes the split."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for label in range(n_classes):
        group = [item for item in items if item[1] == label]
        rng.shuffle(group)
        n_val = max(1, round(len(group) * val_fraction))
        n_test = max(1, round(len(group) * test_fraction)) if test_fraction > 0 else 0
        out["val"] += group[:n_val]
        out["test"] += group[n_val : n_val + n_test]
        out["train"] += group[n_val + n_test :]
    for key in out:
        rng.shuffle(out[key])
    return out


# ----------------------------------------------------------------------------- tf.data


DECODE_CHUNK = 128  # files per decoding call
PREFETCH_BATCHES = 2  # batches ready ahead of the model


def decode_image_rgb(path: str, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """One training image as the live classifier sees a crop: decoded by OpenCV, resized to
    ``size``×``size`` as the processor resizes (:func:`resize_square`), RGB (into ``out`` if
    given).
    The file was checked by :func:`scan`; one that changed since is named in the error."""
    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(f"{path!r} no longer decodes as an image; remove it or run again")
    small = resize_square(image, size)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB, dst=out)


def decode_batch(paths: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 RGB images of the files ``paths`` (bytes, as tf.data passes
    them)."""
    out = np.empty((len(paths), size, size, 3), np.uint8)
    for i, path in enumerate(paths):
        decode_image_rgb(path.decode() if isinstance(path, bytes) else str(path), size, out[i])
    return out


def pipeline(items: list[tuple[str, int]], image_size: int, batch: int, *, training: bool,
             augment: Augmentation | None = None, seed: int = 1337, n_classes: int = 2,
             mixup_alpha: float = 0.0):
    """Decode + resize in parallel (:func:`decode_batch`), cache the decoded images (uint8: a
    quarter of float32's memory), shuffle (training), batch, augment and mix up (training),
    prefetch. Yields (float32 0–255 images, labels): labels are
    class indices for two classes (one sigmoid output), one-hot rows for more (softmax), and
    blended when mixed up.

    Training batches are augmented by one NumPy/OpenCV call per batch on a single tf.data
    thread, so on a small CPU the input pipeline takes a sliver of one core beside the model's
    threads instead of competing with them (measured in benchmarks/classifier_pipeline.py)."""
    import numpy as np
    import tensorflow as tf

    paths = [p for p, _ in items]
    labels = np.array([label for _, label in items], np.int32)
    targets = (labels.astype(np.float32) if n_classes == 2
               else np.eye(n_classes, dtype=np.float32)[labels])

    def load(batch_paths, batch_targets):
        images = tf.numpy_function(lambda p: decode_batch(p, image_size), [batch_paths],
                                   tf.uint8, stateful=False)
        images.set_shape((None, image_size, image_size, 3))
        return images, batch_targets

    # Decoded DECODE_CHUNK files per call, several calls in parallel (OpenCV releases the GIL):
    # per-file TensorFlow ops cost more than decoding a small photo (measured in
    # benchmarks/classifier_pipeline.py), so files are decoded in chunks, then cached one by one.
    ds = tf.data.Dataset.from_tensor_slices((paths, targets)).batch(DECODE_CHUNK)
    ds = ds.map(load, num_parallel_calls=hardware.USABLE_CPUS_AT_START or 1).unbatch().cache()
    if training:
        ds = ds.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch)
    if training and (augment is not None or mixup_alpha > 0):
        rng = np.random.default_rng(seed)

        def work(images, batch_targets):
            out = (augment(images, rng=rng) if augment is not None
                   else images.astype(np.float32))
            if mixup_alpha > 0:
                out, batch_targets = mixup(out, batch_targets, mixup_alpha, rng)
            return out, batch_targets

        def augmented(images, batch_targets):
            out, mixed = tf.numpy_function(work, [images, batch_targets],
                                           (tf.float32, tf.float32), stateful=True)
            out.set_shape(images.shape)
            mixed.set_shape(batch_targets.shape)
            return out, mixed

        ds = ds.map(augmented, num_parallel_calls=1)
    else:
        ds = ds.map(lambda images, t: (tf.cast(images, tf.float32), t))
    options = tf.data.Options()
    # One thread per op inside the pipeline: its work is small and runs beside the model's
    # own intra-op threads, which should keep the cores.
    options.threading.max_intra_op_parallelism = 1
    # Fixed parallelism and prefetch instead of tf.data's autotuner: on 2 cores the autotuner
    # stalled training for 1-2.4 s with the CPU idle, a few times every 30 epochs, and slowed
    # the median epoch by a sixth; without it no stall in 60 epochs
    # (benchmarks/classifier_pipeline.py).
    options.autotune.enabled = False
    return ds.with_options(options).prefetch(PREFETCH_BATCHES)


def augmentation_preview(items: list[tuple[str, int]], image_size: int = 128, images: int = 3,
                         variants: int = 5, seed: int = 0):
    """A grid (uint8 RGB): each row one training image, then ``variants`` augmented versions."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    augment = augmentation()
    rows = []
    for path, _ in items[:images]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, (image_size, image_size))
        batch = np.repeat(image.numpy()[None], variants, axis=0)
        augmented = augment(batch, training=True, rng=rng)
        tiles = [image.numpy()] + list(augmented)
        rows.append(np.concatenate(tiles, axis=1))
    return np.clip(np.concatenate(rows, axis=0), 0, 255).astype(np.uint8)
