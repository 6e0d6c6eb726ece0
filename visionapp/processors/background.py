"""``background``: portrait mode — the background blurred, replaced by a colour or an image, or
greyed out, behind the person mask.

The mask comes from the Pose Landmarker's segmentation output (``pose_landmarker_lite.task``), or
from an image segmenter (``selfie_segmenter.tflite``: its first confidence mask is the person)
when that file is found. Its edge is feathered (a Gaussian blur of ``feather_px``) so the cut is
soft, and on video it is smoothed over time so it does not flicker: a pixel joins the person as
soon as the model says so (a moving hand is never blurred away) and leaves it gradually, the
previous mask weighing ``smoothing`` against the new one. The composite is the new frame: later
processors in the chain see it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from visionapp.core import weights
from visionapp.core.images import cached_image, read_image
from visionapp.core.model_cache import MODELS
from visionapp.core.params import ProcessorBase, Rule, param
from visionapp.core.streams import PerStream
from visionapp.core.types import Frame, Result
from visionapp.processors import mediapipe_tasks as mpt

SEGMENTER_MODEL = "selfie_segmenter.tflite"
_HEX = re.compile(r"#?[0-9a-fA-F]{6}")


def hex_to_bgr(text: str) -> tuple[int, int, int]:
    value = text.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


class _Smoothed:
    """The smoothed mask of the stream's previous frame (None before the first)."""

    alpha: np.ndarray | None = None


@dataclass(frozen=True)
class Background(ProcessorBase):
    """Blurs, recolours, replaces or greys out the background behind the person."""

    name: ClassVar[str] = "background"
    mode: str = param("blur", choices=("blur", "color", "image", "grey"))
    blur_px: int = param(25, min=1, max=201, step=2, help="blur: the Gaussian kernel (odd)")
    color: str = param("#00b140", kind="text", help="color: #RRGGBB")
    image_path: str = param("", kind="path", help="image: the new background")
    feather_px: int = param(7, min=0, max=99, help="softens the mask's edge")
    smoothing: float = param(0.85, min=0.0, max=0.95, step=0.05,
                             help="video: how slowly the mask lets go of a pixel (0: off)")
    mask_source: str = param("auto", choices=("auto", "pose", "segmenter"),
                             help=f"auto: {SEGMENTER_MODEL} when found, else the pose model")
    pose_model: str = param("pose_landmarker_lite.task", kind="path")
    segmenter_model: str = param(SEGMENTER_MODEL, kind="path")
    _previous: PerStream[_Smoothed] = field(default_factory=PerStream, init=False, repr=False,
                                            compare=False)

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(("color",), lambda p: bool(_HEX.fullmatch(p.color)),
             "{color} is not a colour; use #RRGGBB, e.g. #00b140"),
        Rule(("mode", "image_path"), lambda p: p.mode != "image" or bool(p.image_path),
             "{mode} needs a picture: set {image_path}"),
    )

    def source(self) -> str:
        """Which model makes the mask: "segmenter" or "pose"."""
        if self.mask_source == "auto":
            return "segmenter" if MODELS.resolve("found", self.segmenter_model,
                                                 weights.find_local) else "pose"
        return self.mask_source

    def prepare(self) -> None:
        mpt.check_model_file(self.segmenter_model if self.source() == "segmenter"
                             else self.pose_model)
        if self.mode == "image":
            read_image(self.image_path, cv2.IMREAD_COLOR)

    def raw_mask(self, frame: Frame) -> np.ndarray:
        """The person mask of this frame alone: H×W float32 in [0, 1] (all 0: nobody)."""
        h, w = frame.image.shape[:2]
        if self.source() == "segmenter":
            found = mpt.run_task("segmenter", self.segmenter_model,
                                 {"output_confidence_masks": True}, frame)
            masks = found.confidence_masks or []
        else:
            found = mpt.run_task("pose", self.pose_model,
                                 {"num_poses": 1, "output_segmentation_masks": True}, frame)
            masks = found.segmentation_masks or []
        if not masks:
            return np.zeros((h, w), np.float32)
        # A copy while ``found`` is alive: the view points into memory MediaPipe frees with it.
        return np.array(masks[0].numpy_view(), np.float32, copy=True).reshape(h, w)

    def alpha(self, frame: Frame) -> np.ndarray:
        """The mask used for compositing: feathered, then blended with the previous frame's
        (video only). H×W float32, 1 = person."""
        mask = self.raw_mask(frame)
        if self.feather_px > 0:
            k = 2 * self.feather_px + 1
            mask = cv2.GaussianBlur(mask, (k, k), 0)
        with self._previous.state(frame, _Smoothed) as memory:
            previous = memory.alpha
            if previous is None or previous.shape != mask.shape or self.smoothing == 0:
                smoothed = mask
            else:
                # Fast attack, slow release: a pixel joins the person at once (a moving hand is
                # never blurred) and leaves it over a few frames (the edge does not flicker).
                smoothed = np.maximum(mask, cv2.addWeighted(previous, self.smoothing, mask,
                                                            1.0 - self.smoothing, 0.0))
            memory.alpha = smoothed
        return smoothed

    def backdrop(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if self.mode == "blur":
            k = self.blur_px | 1
            return cv2.GaussianBlur(image, (k, k), 0)
        if self.mode == "color":
            return np.full_like(image, hex_to_bgr(self.color))
        if self.mode == "grey":
            return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        picture = _picture(self.image_path)
        return cv2.resize(picture, (w, h), interpolation=cv2.INTER_AREA)

    def composite(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """``image`` where ``alpha`` is 1, the backdrop where it is 0, blended between."""
        a = alpha[:, :, None]
        out = image.astype(np.float32) * a + self.backdrop(image).astype(np.float32) * (1.0 - a)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def __call__(self, frame: Frame) -> Result:
        alpha = self.alpha(frame)
        composite = self.composite(frame.image, alpha)
        person = float(np.count_nonzero(alpha > 0.5)) / alpha.size
        return Result(self.name, image=composite,
                      text=(f"background {self.mode}: person {person:.0%} of the frame",),
                      values={"mode": self.mode, "mask_source": self.source(),
                              "person_fraction": round(person, 4)})


def _picture(path: str) -> np.ndarray:
    """The background picture, read once per file version."""
    return cached_image(path, cv2.IMREAD_COLOR, "background picture {path!r} does not exist; "
                                                "choose an image file (background.image_path)")
