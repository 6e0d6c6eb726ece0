"""``cnn.features``: what one layer of a trained classifier sees in the live frame.

The activations of the chosen layer as a mosaic of its channels (the most active first, or the
first N in order), or — ``view=filters`` — the layer's learned kernels as small images. Works
for every model the training dialog saves: the course and better CNNs layer by layer, and for
transfer models the named blocks of the backbone inside them (MobileNetV2's ``block_3_add``…).

Models load the way the ``classifier`` processor loads them (same loader and cache, Keras safe
mode); a model, a layer name that does not exist or a model with no convolution layers is one
line on the view, and an error before the first frame in batch runs (:meth:`CnnFeatures.prepare`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from visionapp.core.errors import BadInput, ModelNotFound, VisionappError
from visionapp.core.images import resize_square
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Frame, Result
from visionapp.processors.classifier import LoadedClassifier, load_classifier, resolve_model
from visionapp.processors.map_views import Mosaic, fit_to, mosaic, signed_colour

FIRST_CONV, LAST_CONV = "first_conv", "last_conv"
_BLOCK = re.compile(r"^(block_?\d+[a-z]?|expanded_conv)(_|$)")


@dataclass(frozen=True)
class FeatureLayer:
    """A layer whose output is a feature map; ``owner`` is the nested backbone holding it (its
    name), or "" for a top-level layer."""

    name: str
    output_hwc: tuple[int | None, int | None, int]
    owner: str
    is_conv: bool


def _is_conv(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.Conv2D | keras.layers.DepthwiseConv2D)


def _walk(model):
    """(layer, owner name) for every layer, descending into nested models (the backbone)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                yield inner, layer.name
        else:
            yield layer, ""


def _feature(layer, owner: str) -> FeatureLayer | None:
    import keras

    if isinstance(layer, keras.layers.InputLayer):
        return None  # the frame itself
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        return None
    if len(shape) != 4:
        return None
    return FeatureLayer(layer.name, (shape[1], shape[2], int(shape[3])), owner, _is_conv(layer))


def feature_layers(model) -> list[FeatureLayer]:
    """The layers a student can pick, bottom to top, each with its output shape: every
    top-level layer with a feature-map output, and for a nested backbone the last layer of each
    of its named blocks (layers sharing a prefix such as ``block_3_``)."""
    out: list[FeatureLayer] = []
    last_key: tuple[str, str] | None = None
    for layer, owner in _walk(model):
        feature = _feature(layer, owner)
        if feature is None:
            continue
        if owner:
            match = _BLOCK.match(layer.name)
            key = (owner, match.group(1) if match else layer.name)
            if key == last_key:
                out[-1] = feature  # keep the block's last layer
                continue
            last_key = key
        out.append(feature)
    return out


def _listing(model) -> str:
    shown = [f"{f.name} ({'×'.join(str(d) for d in f.output_hwc)})"
             for f in feature_layers(model)]
    return ", ".join(shown[:14]) + (f" … ({len(shown)} in all)" if len(shown) > 14 else "")


def resolve_layer(model, layer: str, model_name: str = "the model") -> FeatureLayer:
    """The layer named ``layer`` (or first_conv / last_conv); BadInput saying what to choose
    when the model has no convolution layers, no such layer, or the layer has no feature map."""
    every = list(_walk(model))
    convs = [(item, owner) for item, owner in every if _is_conv(item)]
    if not convs:
        raise BadInput(f"{model_name} has no convolution layers, so it has no feature maps to "
                       "show; train a CNN (visionapp train-classifier DATASET --kind course)")
    if layer in (FIRST_CONV, LAST_CONV):
        item, owner = convs[0] if layer == FIRST_CONV else convs[-1]
        return _feature(item, owner)
    found = next(((item, owner) for item, owner in every if item.name == layer), None)
    if found is None:
        raise BadInput(f"{model_name} has no layer {layer!r}; choose {FIRST_CONV}, {LAST_CONV} "
                       f"or one of: {_listing(model)}")
    feature = _feature(*found)
    if feature is None:
        raise BadInput(f"layer {layer!r} of {model_name} gives no feature map (its output is "
                       f"{tuple(found[0].output.shape)[1:]}); choose one of: {_listing(model)}")
    return feature


def _layer_object(model, feature: FeatureLayer):
    owner = model.get_layer(feature.owner) if feature.owner else model
    return owner.get_layer(feature.name)


def feature_model(path: str, mtime_ns: int | None, layer: str) -> tuple[Any, FeatureLayer]:
    """(a Keras model from the classifier's input to the layer's output, the layer), built
    once per model file version and layer (kept in the model cache)."""
    return MODELS.load("keras.features", Path(path), layer,
                       functools.partial(_build_feature_model, layer=layer), mtime_ns=mtime_ns)


def _build_feature_model(model_path: Path, layer: str) -> tuple[Any, FeatureLayer]:
    import keras

    model = load_classifier(str(model_path)).model
    feature = resolve_layer(model, layer, model_path.name)
    target = _layer_object(model, feature)
    if not feature.owner:
        return keras.Model(model.input, target.output), feature
    # A backbone's inner layer: the outer layers up to the backbone, then the backbone cut at
    # the layer (visionapp's models are straight stacks of top-level layers).
    names = [item.name for item in model.layers]
    backbone = model.get_layer(feature.owner)
    x = inputs = keras.Input(tuple(model.inputs[0].shape[1:]))
    for item in model.layers[1 : names.index(feature.owner)]:
        x = item(x)
    cut = keras.Model(backbone.inputs, target.output)
    return keras.Model(inputs, cut(x)), feature


@dataclass(frozen=True)
class FeatureView:
    """What cnn.features computed for one frame (or, for filters, for the model)."""

    layer: FeatureLayer
    view: str
    shape: tuple[int, ...]  # activations (h, w, c) or kernel weights (F, F, C_in, C_out)
    channels: tuple[int, ...]  # channel (or filter) number of each tile, in reading order
    scores: tuple[float, ...]  # mean |activation| (or the kernel's L2 norm) of each tile
    levels: np.ndarray  # N×h×w uint8: each tile's values scaled so its peak is 255
    tiles: Mosaic  # the coloured mosaic
    signed: bool  # True: tiles coloured negative blue / positive red


def _levels(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(N×h×w uint8 levels of |v| / max |v| per tile, N×h×w×3 BGR tiles, signed?)."""
    signed = bool(planes.min() < 0)
    peaks = np.abs(planes).reshape(len(planes), -1).max(axis=1)
    safe = np.where(peaks > 0, peaks, 1.0)[:, None, None]
    levels = np.round(np.abs(planes) / safe * 255).astype(np.uint8)
    if signed:
        coloured = np.stack([signed_colour(p.astype(np.float32), float(s))
                             for p, s in zip(planes, safe[:, 0, 0], strict=True)])
    else:
        coloured = _viridis()[levels]
    return levels, coloured, signed


@functools.cache
def _viridis() -> np.ndarray:
    """256×3 BGR: the viridis colour of each level (applyColorMap rebuilds it on every call)."""
    return cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_VIRIDIS)[:, 0]


@dataclass(frozen=True)
class CnnFeatures(ProcessorBase):
    """A trained classifier's feature maps (or learned filters) for the chosen layer, live."""

    name: ClassVar[str] = "cnn.features"
    model: str = param("classifier.keras", kind="path", help="a .keras file with its .json card")
    layer: str = param(FIRST_CONV, kind="layer",
                       help=f"a layer name, {FIRST_CONV} or {LAST_CONV}")
    view: str = param("activations", choices=("activations", "filters"),
                      help="activations: the layer's output for this frame; filters: its "
                           "learned kernels")
    pick: str = param("top_k", choices=("top_k", "first"),
                      help="top_k: the most active channels (largest filters); first: in order")
    channels: int = param(16, min=1, max=256, scale="log", help="how many channels to show")
    display: str = param("side_by_side", choices=("side_by_side", "replace", "blend"),
                         help="how the mosaic is shown")

    def prepare(self) -> None:
        """Load the model and find the layer now (batch runs: before the first frame)."""
        path = resolve_model(self.model)
        resolve_layer(load_classifier(str(path)).model, self.layer, path.name)

    def layer_choices(self) -> list[tuple[str, str]]:
        """(name, "output H×W×C") of every layer :func:`feature_layers` offers, first_conv and
        last_conv first; [] while there is no model. Loads the model: call it off the GUI
        thread."""
        try:
            found = self.loaded()
        except VisionappError:
            return []
        if found is None:
            return []
        layers = feature_layers(found[0].model)
        convs = [f for f in layers if f.is_conv]
        ends = [(FIRST_CONV, f"= {convs[0].name}"), (LAST_CONV, f"= {convs[-1].name}")] if convs \
            else []
        return ends + [(f.name, "×".join(str(d) for d in f.output_hwc)
                        + (f"  in {f.owner}" if f.owner else "")) for f in layers]

    def loaded(self) -> tuple[LoadedClassifier, str] | None:
        try:
            path = MODELS.resolve("keras", self.model, resolve_model)
        except ModelNotFound:
            return None
        return load_classifier(str(path)), str(path)

    def features(self, frame: Frame) -> FeatureView | None:
        """The layer's tiles for ``frame``; None while there is no model yet. BadInput when the
        layer cannot be shown (the message says what to choose)."""
        found = self.loaded()
        if found is None:
            return None
        loaded, path = found
        sub, feature = feature_model(path, None, self.layer)
        if self.view == "filters":
            return self._filters(loaded, feature)
        size = loaded.image_size
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        x = resize_square(rgb, size)[None].astype(np.float32)
        # predict_on_batch runs the compiled graph: a quarter of an eager call's time here.
        act = np.asarray(sub.predict_on_batch(x), np.float32)[0]
        scores = np.abs(act).mean(axis=(0, 1))
        chosen = self._choose(scores)
        planes = np.moveaxis(act[..., chosen], -1, 0)
        levels, coloured, signed = _levels(planes)
        return FeatureView(feature, "activations", act.shape, tuple(int(c) for c in chosen),
                           tuple(float(scores[c]) for c in chosen), levels, mosaic(coloured),
                           signed)

    def _choose(self, scores: np.ndarray) -> np.ndarray:
        n = min(self.channels, len(scores))
        if self.pick == "first":
            return np.arange(n)
        return np.argsort(-scores, kind="stable")[:n]

    def _filters(self, loaded: LoadedClassifier, feature: FeatureLayer) -> FeatureView:
        layer = _layer_object(loaded.model, feature)
        if not feature.is_conv:
            raise BadInput(f"layer {feature.name!r} has no kernels (it is not a convolution); "
                           f"choose {FIRST_CONV} or a conv layer for view=filters")
        kernel = np.asarray(layer.get_weights()[0], np.float32)  # F×F×C_in×C_out (or ×mult)
        if isinstance(layer, _depthwise()):  # one F×F kernel per input channel
            planes = kernel[:, :, :, 0]
        elif kernel.shape[2] == 3:  # a first layer sees RGB: each filter as a colour patch
            norms = np.sqrt((kernel**2).sum(axis=(0, 1, 2)))
            chosen = self._choose(norms)
            patches = np.moveaxis(kernel[..., chosen], -1, 0)[..., ::-1]  # RGB → BGR
            lo = patches.min(axis=(1, 2, 3), keepdims=True)
            span = np.maximum(patches.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
            coloured = np.round((patches - lo) / span * 255).astype(np.uint8)
            return FeatureView(feature, "filters", kernel.shape, tuple(int(c) for c in chosen),
                               tuple(float(norms[c]) for c in chosen),
                               coloured.mean(axis=3).astype(np.uint8), mosaic(coloured), False)
        else:  # deeper: each filter averaged over its input channels
            planes = kernel.mean(axis=2)
        norms = np.sqrt((planes**2).sum(axis=(0, 1)))
        chosen = self._choose(norms)
        levels, coloured, signed = _levels(np.moveaxis(planes[..., chosen], -1, 0))
        return FeatureView(feature, "filters", kernel.shape, tuple(int(c) for c in chosen),
                           tuple(float(norms[c]) for c in chosen), levels, mosaic(coloured),
                           signed)

    def __call__(self, frame: Frame) -> Result:
        try:
            found = self.features(frame)
        except BadInput as exc:
            return Result(self.name, text=(f"cnn.features: {exc}",))
        if found is None:
            return Result(self.name, text=(f"cnn.features: no model {self.model!r} yet; train "
                                           "one (Train > Classifier... or visionapp "
                                           "train-classifier DATASET --kind course)",))
        overlay, _ = fit_to(found.tiles.image, frame.resolution_wh)
        dims = "×".join(str(d) for d in found.shape)
        ranked = "most active" if found.view == "activations" else "largest"
        how = f"top {len(found.channels)} {ranked}" if self.pick == "top_k" else (
            f"first {len(found.channels)}")
        what = "kernels" if found.view == "filters" else "channels"
        text = (f"cnn.features {found.layer.name} {dims}: {how} {what}"
                + (" (blue < 0 < red)" if found.signed else ""),
                f"{what}: " + ", ".join(str(c) for c in found.channels[:24])
                + (" …" if len(found.channels) > 24 else ""))
        values = {"layer": found.layer.name, "view": found.view, "shape": list(found.shape),
                  "channels": list(found.channels),
                  "scores": [round(s, 5) for s in found.scores]}
        return Result(self.name, overlay=overlay, overlay_mode=self.display, text=text,
                      values=values)


def _depthwise() -> type:
    import keras

    return keras.layers.DepthwiseConv2D
