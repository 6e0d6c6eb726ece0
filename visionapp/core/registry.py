"""One registry of processors: built-ins and third-party plug-ins go the same way.

Entries are lazy ``"module:Class"`` strings, so listing names imports nothing heavy. A third-party
package adds processors with an entry point in the group ``visionapp.processors``::

    [project.entry-points."visionapp.processors"]
    "acme.blur" = "acme_vision.blur:Blur"
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from visionapp.core.errors import ParameterError, UnknownProcessor, VisionappError
from visionapp.core.params import parse_value, specs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "visionapp.processors"

BUILTINS: dict[str, str] = {
    "adjust.grayscale": "visionapp.processors.adjust:Grayscale",
    "adjust.brightness_contrast": "visionapp.processors.adjust:BrightnessContrast",
    "adjust.resize": "visionapp.processors.adjust:Resize",
    "adjust.rotate": "visionapp.processors.adjust:Rotate",
    "adjust.flip": "visionapp.processors.adjust:Flip",
    "adjust.crop": "visionapp.processors.adjust:Crop",
    "canny": "visionapp.processors.edges:Canny",
    "sobel": "visionapp.processors.edges:Sobel",
    "haar.faces": "visionapp.processors.haar:HaarFaces",
    "template": "visionapp.processors.template:TemplateMatch",
    "mediapipe.face_mesh": "visionapp.processors.mediapipe_tasks:FaceMesh",
    "mediapipe.hands": "visionapp.processors.mediapipe_tasks:Hands",
    "mediapipe.pose": "visionapp.processors.mediapipe_tasks:Pose",
    "mediapipe.face_detection": "visionapp.processors.mediapipe_tasks:FaceDetection",
    "yolo.detect": "visionapp.processors.yolo:YoloDetect",
    "classifier": "visionapp.processors.classifier:Classifier",
    "conv.kernel": "visionapp.processors.convolution:ConvKernel",
    "conv.pool": "visionapp.processors.convolution:ConvPool",
    "channels": "visionapp.processors.channels:Channels",
    "cnn.features": "visionapp.processors.cnn_features:CnnFeatures",
    "ocr": "visionapp.processors.ocr:Ocr",
    "pose.angles": "visionapp.processors.pose_metrics:PoseAngles",
    "pose.reps": "visionapp.processors.pose_metrics:PoseReps",
    "hands.gestures": "visionapp.processors.gestures:HandGestures",
    "mediapipe.holistic": "visionapp.processors.holistic:Holistic",
    "background": "visionapp.processors.background:Background",
    "count.line": "visionapp.processors.count_line:CountLine",
    "count.zone": "visionapp.processors.count_zone:CountZone",
    "heatmap": "visionapp.processors.heatmap:Heatmap",
    "privacy.blur": "visionapp.processors.privacy:PrivacyBlur",
    "speed": "visionapp.processors.speed:Speed",
}


@functools.cache
def entries() -> dict[str, str]:
    """Every registered name → "module:Class"; built-ins win over a plug-in of the same name."""
    table: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTINS:
            log.warning("plug-in processor %r ignored: the name is a built-in", ep.name)
            continue
        table[ep.name] = ep.value
    table.update(BUILTINS)
    return dict(sorted(table.items()))


def names() -> list[str]:
    return list(entries())


def load(name: str) -> type:
    """The processor class registered as ``name`` (imports its module now)."""
    table = entries()
    if name not in table:
        raise UnknownProcessor(name, list(table))
    target = table[name]
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise VisionappError(
            f"processor {name!r} is registered as {target!r} but could not be imported: {exc}. "
            "Install the extra it needs (e.g. pip install 'visionapp[all]')."
        ) from exc
    if not dataclasses.is_dataclass(cls) or not callable(cls):
        raise VisionappError(f"processor {name!r} ({target}) is not a dataclass processor")
    return cls


def create(name: str, params: Mapping[str, Any] | None = None) -> Any:
    """Build processor ``name`` with typed ``params`` (values already of the field types)."""
    cls = load(name)
    params = dict(params or {})
    known = {s.name for s in specs(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(
            f"{name} has no parameter {unknown[0]!r}; its parameters are: "
            + ", ".join(sorted(known)), fields=(unknown[0],)
        )
    return cls(**params)


def parse_settings(name: str, settings: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Typed parameters for ``name`` from the ``(field, text)`` pairs of ``--set``."""
    cls = load(name)
    by_name = {s.name: s for s in specs(cls)}
    out: dict[str, Any] = {}
    for field_name, text in settings:
        if field_name not in by_name:
            raise ParameterError(
                f"{name} has no parameter {field_name!r}; its parameters are: "
                + ", ".join(by_name), fields=(field_name,)
            )
        out[field_name] = parse_value(by_name[field_name], text, name)
    return out


def replace(processor: Any, **changes: Any) -> Any:
    """A copy of a frozen processor with some fields changed (validated again)."""
    return dataclasses.replace(processor, **changes)


def params_of(processor: Any) -> dict[str, Any]:
    """The processor's current user-settable parameters, by name."""
    return {s.name: getattr(processor, s.name) for s in specs(type(processor))}
