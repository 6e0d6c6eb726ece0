"""The live ``classifier``: a model trained by visionapp (one .keras file + its JSON card)
classifying the whole frame, a centre crop, or each box found by an earlier processor (faces,
YOLO objects), with probability bars and an optional Grad-CAM heat map.

Models load with Keras' ``safe_mode=True``: a file whose layers carry Python code (a ``Lambda``
layer's function) is refused, never run. Only visionapp's own registered layers load beyond
Keras' built-ins. In a batch run :meth:`Classifier.prepare` loads the model before the first
frame, so a missing or unusable model is an error there; the window waits for one instead."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from visionapp.core import weights
from visionapp.core.errors import BadInput, ModelNotFound
from visionapp.core.frameworks import before_tensorflow
from visionapp.core.images import resize_square
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, param
from visionapp.core.types import Bars, Detections, Frame, HeatMap, Result


@dataclass(frozen=True)
class LoadedClassifier:
    model: Any
    class_names: tuple[str, ...]
    image_size: int
    flip_tta: bool = False  # average with the mirror image's prediction (the card says so)


def _keras_archive_problem(path: Path) -> str | None:
    """Why ``path`` is not a Keras v3 archive (a zip holding config.json), or None if it is."""
    if path.suffix != ".keras":
        return "classifier models are .keras files"
    try:
        if path.stat().st_size == 0:
            return "the file is empty"
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return "a zip archive without the model's config.json"
    except zipfile.BadZipFile:
        return "not a zip archive, which every .keras model is"
    except OSError as exc:
        return f"it cannot be read: {exc.strerror or exc}"
    return None


def _retrain(path: Path) -> str:
    return f"train one with 'visionapp train-classifier DATASET_FOLDER --name {path.stem}'"


def resolve_model(name: str) -> Path:
    """A classifier model's file (never downloaded); ModelNotFound says how to train one."""
    return weights.resolve(name, download=False)


def load_classifier(path: str, mtime_ns: int | None = None) -> LoadedClassifier:
    """Model + card from the model cache, once per file version (retraining to the same name
    reloads it); ``mtime_ns`` None: the cache reads it."""
    return MODELS.load("keras.classifier", Path(path), (), read_classifier, mtime_ns=mtime_ns)


def read_classifier(model_path: Path) -> LoadedClassifier:
    """Load a .keras model and its JSON card, checking they belong together."""
    path = str(model_path)
    card_path = model_path.with_suffix(".json")
    if not card_path.is_file():
        raise BadInput(f"{model_path.name} has no model card ({card_path.name}) beside it; use "
                       "a model saved by 'visionapp train-classifier' or the training dialog")
    problem = _keras_archive_problem(model_path)
    if problem is not None:
        raise BadInput(f"{model_path} is not a Keras model visionapp can load ({problem}); "
                       f"choose a model saved by visionapp, or {_retrain(model_path)}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        class_names = tuple(card["class_names"])
        image_size = int(card["image_size"])
        flip_tta = card.get("test_time_augmentation", "none") == "flip"
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{card_path} is not a visionapp model card ({type(exc).__name__}); "
                       f"restore the card saved with the model, or {_retrain(model_path)}"
                       ) from None
    before_tensorflow()
    import keras

    from visionapp.processors.keras_inference import custom_layers

    custom_layers()
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure means "not a usable model"
        text = str(exc)
        if "safe_mode" in text or "arbitrary code" in text:
            raise BadInput(f"{model_path}: refused to load: it contains Python code (e.g. a "
                           "Lambda layer), which visionapp never runs (Keras safe mode); "
                           f"{_retrain(model_path)}") from None
        first = text.strip().splitlines()[0][:120] if text.strip() else ""
        raise BadInput(f"{model_path} is not a Keras model visionapp can load "
                       f"({type(exc).__name__}: {first}); {_retrain(model_path)}") from None
    outputs = int(model.output.shape[-1])
    expected = 1 if len(class_names) == 2 else len(class_names)
    if outputs != expected:
        raise BadInput(f"{Path(path).name} outputs {outputs} values but its card lists "
                       f"{len(class_names)} classes; retrain or restore the matching card")
    shape = model.input.shape
    if shape[1] is not None and shape[1] != image_size:
        raise BadInput(f"{Path(path).name} takes {shape[1]}×{shape[2]} images but its card "
                       f"says {image_size}; retrain or restore the matching card")
    return LoadedClassifier(model, class_names, image_size, flip_tta)


def bars(names: tuple[str, ...], probs: np.ndarray, top_k: int) -> Bars:
    """The ``top_k`` most probable classes, best first, for the annotator to draw as bars."""
    order = np.argsort(-probs)[:top_k]
    return Bars(tuple(names[i] for i in order), tuple(float(probs[i]) for i in order))


@dataclass(frozen=True)
class Classifier(ProcessorBase):
    """Classifies the frame, its centre, or each box from an earlier processor."""

    name: ClassVar[str] = "classifier"
    model: str = param("classifier.keras", kind="path", help="a .keras file with its .json card")
    region: str = param("frame", choices=("frame", "center", "boxes"),
                        help="boxes: each box found by the processors before this one")
    center_fraction: float = param(0.6, min=0.1, max=1.0, step=0.05)
    gradcam: bool = param(False, help="overlay where the model looks (frame/center)")
    top_k: int = param(3, min=1, max=20)

    def prepare(self) -> None:
        """Load the model now (batch runs call this before the first frame): a missing model is
        a ModelNotFound naming the file and how to train one, a bad one a BadInput."""
        load_classifier(str(resolve_model(self.model)))

    def loaded(self) -> LoadedClassifier | None:
        """The model, or None while there is none yet (the processor waits for one)."""
        try:
            path = MODELS.resolve("keras", self.model, resolve_model)
        except ModelNotFound:
            return None
        return load_classifier(str(path))

    def predict(self, loaded: LoadedClassifier, crops_rgb: list[np.ndarray]) -> np.ndarray:
        size = loaded.image_size
        batch = np.stack([resize_square(c, size) for c in crops_rgb]).astype(np.float32)
        from visionapp.processors.keras_inference import class_probabilities

        out = np.asarray(loaded.model(batch, training=False), np.float64)
        if loaded.flip_tta:  # as the model was evaluated: the mean with the mirror image's
            mirrored = np.ascontiguousarray(batch[:, :, ::-1])
            out = (out + np.asarray(loaded.model(mirrored, training=False), np.float64)) / 2
        return class_probabilities(out)

    def __call__(self, frame: Frame) -> Result:
        loaded = self.loaded()
        if loaded is None:
            return Result(self.name, text=(f"classifier: no model {self.model!r} yet; train one "
                                           "(Train > Classifier... or visionapp "
                                           "train-classifier)",))
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        if self.region == "boxes":
            return self._boxes(loaded, frame, rgb)
        if self.region == "center":
            cw, ch = int(w * self.center_fraction), int(h * self.center_fraction)
            x0, y0 = (w - cw) // 2, (h - ch) // 2
        else:
            x0, y0, cw, ch = 0, 0, w, h
        crop = rgb[y0 : y0 + ch, x0 : x0 + cw]
        heatmaps = ()
        if self.gradcam:
            from visionapp.processors.keras_inference import gradcam

            small = resize_square(crop, loaded.image_size)
            cam, probs = gradcam(loaded.model, small)
            heatmaps = (HeatMap(np.asarray(cam, np.float32), (x0, y0, x0 + cw, y0 + ch)),)
        else:
            probs = self.predict(loaded, [crop])[0]
        best = int(np.argmax(probs))
        label = loaded.class_names[best]
        dets = Detections.empty()
        if self.region == "center":
            dets = Detections.from_lists([[x0, y0, x0 + cw, y0 + ch]], [probs[best]], [label],
                                         [best])
        order = np.argsort(-probs)[: self.top_k]
        values = {"label": label, "class_id": best, "score": round(float(probs[best]), 4),
                  "top_k": [{"label": loaded.class_names[i], "class_id": int(i),
                             "score": round(float(probs[i]), 4)} for i in order]}
        return Result(self.name, detections=dets, heatmaps=heatmaps,
                      text=(f"classifier: {label} {probs[best]:.2f}",),
                      bars=bars(loaded.class_names, probs, self.top_k), values=values)

    def _boxes(self, loaded: LoadedClassifier, frame: Frame, rgb: np.ndarray) -> Result:
        h, w = rgb.shape[:2]
        boxes = [box for r in frame.context for box in r.detections.xyxy]
        crops, kept = [], []
        for x1, y1, x2, y2 in boxes:
            x1, y1 = max(0, int(x1)), max(0, int(y1))
            x2, y2 = min(w, int(x2)), min(h, int(y2))
            if x2 - x1 >= 4 and y2 - y1 >= 4:
                crops.append(rgb[y1:y2, x1:x2])
                kept.append((x1, y1, x2, y2))
        if not crops:
            return Result(self.name, text=("classifier: no boxes from earlier processors to "
                                           "classify (add e.g. haar.faces before it)",))
        probs = self.predict(loaded, crops)
        best = probs.argmax(axis=1)
        labels = [loaded.class_names[i] for i in best]
        dets = Detections.from_lists(kept, probs[np.arange(len(best)), best], labels, best)
        return Result(self.name, detections=dets,
                      text=(f"classifier: {len(kept)} box(es): " + ", ".join(labels[:6]),),
                      values={"boxes": len(kept)})
