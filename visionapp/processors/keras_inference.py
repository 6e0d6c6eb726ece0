"""Keras pieces that running a trained classifier needs, owned here so that the processors never
import training code (training builds its models from these):

- :func:`custom_layers`: visionapp's own layers, registered so saved models load in Keras' safe
  mode.
- :func:`class_probabilities`: a model's outputs as one probability per class.
- :func:`gradcam`: where a classifier looks. The gradient of the class score with respect to the
  last feature map says how much each channel matters; weighting the channels by their mean
  gradient, summing, and keeping the positive part gives a coarse map of the evidence for that
  class (Selvaraju et al., 2017).
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def custom_layers() -> dict[str, type]:
    """visionapp's own layers, registered with Keras so saved models load without unsafe
    deserialisation; call before ``keras.models.load_model``."""
    import keras

    @keras.saving.register_keras_serializable(package="visionapp")
    class CaffePreprocess(keras.layers.Layer):
        """VGG's preprocess_input as a layer: RGB → BGR, minus the ImageNet channel means."""

        def call(self, x):
            bgr = keras.ops.flip(x, axis=-1)
            return bgr - keras.ops.convert_to_tensor([103.939, 116.779, 123.68], x.dtype)

    return {"CaffePreprocess": CaffePreprocess}


def class_probabilities(outputs) -> np.ndarray:
    """(N, classes) float64 probabilities from a classifier's (N, outputs) outputs: a binary
    model's single sigmoid output p (the probability of class 1) becomes [1 − p, p]."""
    out = np.asarray(outputs, np.float64)
    return np.concatenate([1 - out, out], axis=1) if out.shape[1] == 1 else out


def feature_layer_index(model) -> int:
    """The last top-level layer with a 4-D (batch, h, w, channels) output."""
    for i in range(len(model.layers) - 1, 0, -1):
        shape = getattr(model.layers[i], "output", None)
        if shape is not None and len(shape.shape) == 4:
            return i
    raise ValueError("the model has no convolutional feature map for Grad-CAM")


def gradcam(model, image_rgb: np.ndarray, class_index: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(heat map in [0, 1] at feature-map resolution, class probabilities) for one RGB image.

    The model is run layer by layer (visionapp's classifiers are linear stacks of top-level
    layers) so the tape can watch the feature map between the two halves.
    """
    import tensorflow as tf

    k = feature_layer_index(model)
    x = tf.convert_to_tensor(image_rgb[None].astype(np.float32))
    with tf.GradientTape() as tape:
        h = x
        for layer in model.layers[1 : k + 1]:
            h = layer(h, training=False)
        features = h
        tape.watch(features)
        for layer in model.layers[k + 1 :]:
            h = layer(h, training=False)
        out = tf.cast(h, tf.float32)
        probs = tf.concat([1 - out, out], axis=1) if out.shape[-1] == 1 else out
        target = int(tf.argmax(probs[0])) if class_index is None else class_index
        score = probs[:, target]
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(features * weights[:, None, None, :], axis=-1))[0].numpy()
    peak = cam.max()
    return (cam / peak if peak > 0 else cam), probs[0].numpy()
