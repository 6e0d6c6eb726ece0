"""Training-time augmentation of image batches: random parameters drawn apart from their
application (as Kornia does), so a change can be replayed and tested deterministically.

Every geometric change — flip, rotation, zoom, shear, shift — is composed into one 2×3 affine
map per image, so each image is resampled once (one interpolation, one pass over its pixels)
instead of once per change. The resampling is OpenCV's ``warpAffine`` (SIMD, about 30 µs for a
64×64 image on one core: 5× TensorFlow's ``ImageProjectiveTransformV3`` here), and contrast,
brightness and mixup are whole-batch NumPy arithmetic. On a 2-core machine that keeps the input
pipeline to a few percent of one core while the model trains on both (see
``benchmarks/classifier_pipeline.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

BORDERS = {"reflect": cv2.BORDER_REFLECT, "nearest": cv2.BORDER_REPLICATE,
           "constant": cv2.BORDER_CONSTANT}


@dataclass(frozen=True, slots=True)
class AugmentParams:
    """One draw for a batch of ``n`` images.

    ``inverse_maps``: (n, 2, 3) float32, output pixel (x, y, 1) → input pixel, as
    ``cv2.warpAffine(..., WARP_INVERSE_MAP)`` takes it; ``contrast``: (n,) factors about each
    image's mean; ``brightness``: (n,) offsets in 0–255 units."""

    inverse_maps: NDArray[np.float32]
    contrast: NDArray[np.float32]
    brightness: NDArray[np.float32]


@dataclass(frozen=True)
class Augmentation:
    """Random training-time changes to a batch of 0–255 images (N, H, W, 3).

    Ranges follow Keras' preprocessing layers: ``rotation`` a fraction of a full turn, ``zoom``
    and ``shift`` fractions of the image size (zoom > 0 both in and out), ``shear`` in degrees
    (as ImageDataGenerator's ``shear_range``), ``contrast`` a factor range about 1,
    ``brightness`` a fraction of 255. ``fill`` is how pixels from outside the image are made."""

    flip: bool = True
    rotation: float = 0.0
    zoom: float = 0.0
    zoom_aspect: bool = False  # zoom x and y independently (as ImageDataGenerator does)
    shear: float = 0.0
    shift: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0
    fill: str = "reflect"  # reflect | nearest | constant

    def sample(self, n: int, height: int, width: int,
               rng: np.random.Generator) -> AugmentParams:
        def uniform(limit: float) -> NDArray[np.float64]:
            return rng.uniform(-limit, limit, n) if limit else np.zeros(n)

        angle = uniform(self.rotation * 2 * math.pi)
        zoom_x = 1 + uniform(self.zoom)
        zoom_y = 1 + uniform(self.zoom) if self.zoom_aspect else zoom_x
        shear = np.tan(uniform(math.radians(self.shear)))
        flip = np.where(rng.random(n) < 0.5, -1.0, 1.0) if self.flip else np.ones(n)
        cos, sin = np.cos(angle), np.sin(angle)
        # Output pixel p maps to input pixel centre + A·(p − centre) + shift, with
        # A = flip · rotation · shear · zoom.
        a = np.empty((n, 2, 3))
        a[:, 0, 0], a[:, 0, 1] = flip * cos * zoom_x, flip * (cos * shear - sin) * zoom_y
        a[:, 1, 0], a[:, 1, 1] = sin * zoom_x, (sin * shear + cos) * zoom_y
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        shift = np.stack([uniform(self.shift) * width, uniform(self.shift) * height], axis=1)
        a[:, :, 2] = centre + shift - np.einsum("nij,j->ni", a[:, :, :2], centre)
        return AugmentParams(a.astype(np.float32), (1 + uniform(self.contrast)).astype(np.float32),
                             (uniform(self.brightness) * 255).astype(np.float32))

    def apply(self, images: NDArray, params: AugmentParams) -> NDArray[np.float32]:
        """The drawn changes applied: float32 0–255, same shape. uint8 input is resampled as
        uint8 (OpenCV's fixed-point path, ~20% faster) and converted afterwards."""
        n, height, width = images.shape[:3]
        identity = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
        warped = np.empty_like(images)
        border = BORDERS[self.fill]
        for i in range(n):
            if np.array_equal(params.inverse_maps[i], identity):
                warped[i] = images[i]
            else:
                cv2.warpAffine(images[i], params.inverse_maps[i], (width, height), dst=warped[i],
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)
        out = warped.astype(np.float32, copy=False)
        if self.contrast:
            mean = out.mean(axis=(1, 2, 3), keepdims=True)
            out = (out - mean) * params.contrast[:, None, None, None] + mean
        if self.brightness:
            out = out + params.brightness[:, None, None, None]
        if self.contrast or self.brightness:
            np.clip(out, 0, 255, out=out)
        return out

    def __call__(self, images, training: bool = True,
                 rng: np.random.Generator | None = None):
        """Augmented copies of ``images`` (N, H, W, 3), float32 0–255; unchanged (the same
        object) when not ``training``."""
        if not training:
            return images
        images = np.ascontiguousarray(images)
        if images.dtype != np.uint8:
            images = images.astype(np.float32, copy=False)
        rng = rng if rng is not None else np.random.default_rng()
        return self.apply(images, self.sample(len(images), *images.shape[1:3], rng))


def augmentation(style: str = "standard") -> Augmentation:
    """``standard``: flip, rotate, zoom, shift, contrast, brightness. ``course``: the course
    notes' ImageDataGenerator settings — horizontal flip, zoom 0.2 (x and y independently),
    shear 0.2°, edges filled with the nearest pixel (its default)."""
    if style == "course":
        return Augmentation(flip=True, zoom=0.2, zoom_aspect=True, shear=0.2, fill="nearest")
    return Augmentation(flip=True, rotation=0.08, zoom=0.15, shift=0.1, contrast=0.2,
                        brightness=0.15)


def mixup(images: NDArray[np.float32], targets: NDArray[np.float32], alpha: float,
          rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Mixup (Zhang et al., 2018): each image blended with another of the batch, its target
    (a probability, or a one-hot row) blended by the same weight λ ~ Beta(α, α)."""
    n = len(images)
    lam = rng.beta(alpha, alpha, n).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)  # the image keeps the larger share: its own label dominates
    other = rng.permutation(n)
    shape = (n,) + (1,) * (images.ndim - 1)
    mixed = images * lam.reshape(shape) + images[other] * (1 - lam.reshape(shape))
    tshape = (n,) + (1,) * (targets.ndim - 1)
    mixed_t = targets * lam.reshape(tshape) + targets[other] * (1 - lam.reshape(tshape))
    return mixed.astype(np.float32), mixed_t.astype(np.float32)
