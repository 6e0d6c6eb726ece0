"""Image-folder datasets for the classifier: scanning (junk reported, never fatal mid-epoch),
a seeded stratified split, and the tf.data input pipeline with Keras augmentation layers.

A dataset is a folder with one subfolder per class (``cats/``, ``dogs/``, …), or the same already
split into ``train/``, ``validation/`` (or ``val/``) and optionally ``test/``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from visionapp.core.errors import BadInput
from visionapp.core.sources import IMAGE_SUFFIXES, natural_key

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
    """None if TensorFlow (the pipeline's decoder) reads the file as an RGB image, else why not."""
    import tensorflow as tf

    if path.stat().st_size == 0:
        return "empty file"
    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3,
                                   expand_animations=False)
        if image.shape[0] < 2 or image.shape[1] < 2:
            return "too small"
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError, ValueError) as exc:
        return f"cannot decode ({str(exc).splitlines()[0][:60]})"
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


@dataclass(frozen=True)
class Augmentation:
    """Random training-time changes to a batch of 0–255 images: every geometric change (flip,
    rotation, zoom, shear, shift) composed into one affine map per image, so each image is
    resampled once (one interpolation, one pass over the pixels) instead of once per change;
    then contrast and brightness. Ranges follow Keras' preprocessing layers: ``rotation`` a
    fraction of a full turn, ``zoom`` and ``shift`` fractions of the image size, ``shear`` in
    degrees."""

    flip: bool = True
    rotation: float = 0.0
    zoom: float = 0.0
    zoom_aspect: bool = False  # zoom x and y independently (as ImageDataGenerator does)
    shear: float = 0.0
    shift: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0  # fraction of 255

    def __call__(self, images, training: bool = True):
        import math

        import keras
        import tensorflow as tf

        if not training:
            return images
        images = tf.convert_to_tensor(images, tf.float32)
        n = tf.shape(images)[0]
        h, w = tf.cast(tf.shape(images)[1], tf.float32), tf.cast(tf.shape(images)[2], tf.float32)

        def uniform(limit):
            return tf.random.uniform((n,), -limit, limit)

        angle = uniform(self.rotation * 2 * math.pi)
        zoom_x = 1 + uniform(self.zoom)
        zoom_y = 1 + uniform(self.zoom) if self.zoom_aspect else zoom_x
        shear = tf.tan(uniform(math.radians(self.shear)))
        flip = tf.where(tf.random.uniform((n,)) < 0.5, -1.0, 1.0) if self.flip else tf.ones(n)
        cos, sin = tf.cos(angle), tf.sin(angle)
        # Output pixel p maps to input pixel centre + A·(p − centre) + shift, with
        # A = flip · rotation · shear · zoom.
        a00, a01 = flip * cos * zoom_x, flip * (cos * shear - sin) * zoom_y
        a10, a11 = sin * zoom_x, (sin * shear + cos) * zoom_y
        cx, cy = (w - 1) / 2, (h - 1) / 2
        tx, ty = uniform(self.shift) * w, uniform(self.shift) * h
        transform = tf.stack([a00, a01, cx + tx - a00 * cx - a01 * cy,
                              a10, a11, cy + ty - a10 * cx - a11 * cy,
                              tf.zeros(n), tf.zeros(n)], axis=1)
        images = keras.ops.image.affine_transform(images, transform, fill_mode="reflect")
        if self.contrast:
            mean = tf.reduce_mean(images, axis=(1, 2, 3), keepdims=True)
            factor = tf.reshape(1 + uniform(self.contrast), (-1, 1, 1, 1))
            images = (images - mean) * factor + mean
        if self.brightness:
            images = images + tf.reshape(uniform(self.brightness * 255), (-1, 1, 1, 1))
        return tf.clip_by_value(images, 0, 255)


def augmentation(style: str = "standard") -> Augmentation:
    """``standard``: flip, rotate, zoom, shift, contrast, brightness. ``course``: the course
    notes' ImageDataGenerator settings — horizontal flip, zoom 0.2 (x and y independently),
    shear 0.2°."""
    if style == "course":
        return Augmentation(flip=True, zoom=0.2, zoom_aspect=True, shear=0.2)
    return Augmentation(flip=True, rotation=0.08, zoom=0.15, shift=0.1, contrast=0.2,
                        brightness=0.15)


def pipeline(items: list[tuple[str, int]], image_size: int, batch: int, *, training: bool,
             augment=None, seed: int = 1337):
    """Decode + resize in parallel, cache the decoded images, shuffle (training), batch,
    augment (training), prefetch. Yields (float32 0–255 images, labels)."""
    import tensorflow as tf

    paths = [p for p, _ in items]
    labels = [label for _, label in items]
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))

    def load(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, (image_size, image_size), antialias=True)
        image.set_shape((image_size, image_size, 3))
        return image, label

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch)
    if training and augment is not None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def augmentation_preview(items: list[tuple[str, int]], image_size: int = 128, images: int = 3,
                         variants: int = 5, seed: int = 0):
    """A grid (uint8 RGB): each row one training image, then ``variants`` augmented versions."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    augment = augmentation()
    rows = []
    for path, _ in items[:images]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, (image_size, image_size))
        batch = tf.repeat(image[None], variants, axis=0)
        augmented = augment(batch, training=True)
        tiles = [image.numpy()] + [a for a in augmented.numpy()]
        rows.append(np.concatenate(tiles, axis=1))
    return np.clip(np.concatenate(rows, axis=0), 0, 255).astype(np.uint8)
