"""INT8 quantization of a YOLO OpenVINO export, calibrated offline on the user's own frames.

Calibration never downloads anything: the frames are either those of the source being processed
(collected as they arrive, see :mod:`visionapp.processors.yolo_precision`) or read from a folder
of images or a video the user names. They are letterboxed to the export's exact input shape
(scaled to fit, padded with grey 114, as Ultralytics feeds the model), so the activation ranges
NNCF measures are the ones inference will see.

NNCF quantizes the convolutions to INT8 (``MIXED`` preset: symmetric weights, asymmetric
activations, which suits SiLU outputs); the detection head's output convolutions and its box
decoding (the DFL softmax, the sigmoid and the arithmetic that turns distances into boxes) stay
in floating point — FP32, not BF16: a pixel coordinate of up to 640 needs more than BF16's 8
significant bits (see :mod:`visionapp.processors.yolo_precision`).

The quantization itself runs in a child process (``python -m visionapp.processors.yolo_quantize``):
NNCF draws progress bars on stdout, which belongs to the JSON lines of a batch run, and a crash in
it must not take the window down. Its result is written to a temporary folder and renamed into
place, so a cache folder is either a complete INT8 model or absent; a child still running when
visionapp exits is stopped and its folder removed.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import BadInput
from visionapp.core.sources import IMAGE_SUFFIXES, open_source

CALIBRATION_FRAMES = 48  # NNCF's statistics settle well before this on one scene
PAD_VALUE = 114
QUANTIZE_TIMEOUT_S = 1800


def letterbox(image_bgr: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """``image_bgr`` scaled to fit ``shape_hw`` (aspect kept), centred and padded with grey:
    the H×W×3 uint8 BGR image the network sees."""
    return letterbox_placed(image_bgr, shape_hw)[0]


def letterbox_placed(image_bgr: np.ndarray, shape_hw: tuple[int, int]
                     ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """:func:`letterbox`, with where the image went: (canvas, scale, (left, top)); a point
    (x, y) of the network's input is ((x - left) / scale, (y - top) / scale) in the image."""
    h, w = image_bgr.shape[:2]
    out_h, out_w = shape_hw
    scale = min(out_h / h, out_w / w)
    new_w, new_h = round(w * scale), round(h * scale)
    resized = image_bgr if (new_w, new_h) == (w, h) else cv2.resize(
        image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, left = (out_h - new_h) // 2, (out_w - new_w) // 2
    canvas = cv2.copyMakeBorder(resized, top, out_h - new_h - top, left, out_w - new_w - left,
                                cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return canvas, scale, (left, top)


def to_input(boxed_bgr: np.ndarray) -> np.ndarray:
    """A letterboxed H×W×3 uint8 BGR image → the (1, 3, H, W) float32 RGB tensor in [0, 1]."""
    rgb = boxed_bgr[..., ::-1].transpose(2, 0, 1)[None]
    return np.ascontiguousarray(rgb, dtype=np.float32) / 255.0


def calibration_id(path: str) -> str:
    """A short id of a calibration folder or video that changes when its contents change (names,
    sizes and times of the images in a folder; size and time of a file), for the cache key."""
    target = Path(path).expanduser().resolve()
    digest = hashlib.sha256(str(target).encode())
    entries = sorted(target.iterdir()) if target.is_dir() else [target]
    for entry in entries:
        if entry.is_file():
            stat = entry.stat()
            digest.update(f"{entry.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:10]


def check_calibration_path(path: str) -> Path:
    """The named calibration folder/video/image, or one BadInput line saying what to give."""
    target = Path(path).expanduser()
    hint = ("name a folder of images or a video of what the camera sees, or leave calibration "
            "empty to calibrate on the source's own frames")
    if not target.exists():
        raise BadInput(f"yolo.detect calibration: {path} does not exist; {hint}")
    if target.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in target.iterdir()):
        raise BadInput(f"yolo.detect calibration: {path} holds no images; {hint}")
    return target.resolve()


def frames_from_path(path: str, count: int = CALIBRATION_FRAMES) -> list[np.ndarray]:
    """Up to ``count`` BGR images spread evenly over a folder of images, a video or one image."""
    target = check_calibration_path(path)
    with open_source(str(target)) as source:
        total = source.info.frame_count or 0
        if source.seekable and total > count:
            images = []
            for index in np.linspace(0, total - 1, count).round().astype(int):
                source.seek(int(index))
                frame = source.read()
                if frame is not None:
                    images.append(frame.image)
        else:
            images = [f.image for _, f in zip(range(count), source, strict=False)]
    if not images:
        raise BadInput(f"yolo.detect calibration: no frame could be read from {path}")
    return images


_RUNNING: dict[subprocess.Popen, Path] = {}  # quantizing children and their work folders


@atexit.register
def _stop_children() -> None:
    """visionapp is exiting: stop unfinished quantizations (no CPU use after the app is gone)
    and remove their work folders; the next run starts over."""
    for child, work in list(_RUNNING.items()):
        child.kill()
        child.wait()
        shutil.rmtree(work, ignore_errors=True)


def quantize(fp32_dir: Path, shape_hw: tuple[int, int], images_bgr: list[np.ndarray],
             final_dir: Path) -> Path:
    """Quantize the FP32 OpenVINO export in ``fp32_dir`` (an ``*_openvino_model`` folder) to INT8,
    calibrated on ``images_bgr``; the result appears atomically as ``final_dir``.

    Runs NNCF in a child process; raises RuntimeError with its last error line if it fails."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".quantize-", dir=final_dir.parent))
    try:
        batch = np.stack([letterbox(image, shape_hw) for image in images_bgr])
        np.save(work / "frames.npy", batch)
        out = work / final_dir.name
        child = subprocess.Popen(
            [sys.executable, "-m", "visionapp.processors.yolo_quantize", str(fp32_dir),
             str(work / "frames.npy"), str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _RUNNING[child] = work
        try:
            _, stderr = child.communicate(timeout=QUANTIZE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise RuntimeError(f"quantization took over {QUANTIZE_TIMEOUT_S} s") from None
        finally:
            _RUNNING.pop(child, None)
        if child.returncode != 0 or not (out / "metadata.yaml").exists():
            lines = [line for line in stderr.splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else f"exit status {child.returncode}")
        if final_dir.exists():  # another process finished the same model first
            return final_dir
        os.replace(out, final_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final_dir


def float_scope(model) -> list[str]:
    """Names of the operations kept in floating point: the detection head's box decoding (every
    operation of the module that owns the last Sigmoid, except its convolution branches) and
    the last convolution of each branch, whose outputs are the box distances and class logits
    themselves (measured: quantizing those costs ~1 mAP50 point, keeping them ~4% speed)."""
    ops = model.get_ordered_ops()
    sigmoids = [op.get_friendly_name() for op in ops if op.get_type_name() == "Sigmoid"]
    if not sigmoids:
        return []
    head = sigmoids[-1].split("/", 1)[0]  # e.g. "__module.model.22"
    decoding = [op.get_friendly_name() for op in ops
                if op.get_friendly_name().startswith((f"{head}/", f"{head}.dfl"))]
    outputs = [op.get_friendly_name() for op in ops
               if op.get_type_name() == "Convolution"
               and op.get_friendly_name().startswith(f"{head}.") and not _activated(op)]
    return list(dict.fromkeys(decoding + outputs))


_ACTIVATIONS = frozenset({"Swish", "Sigmoid", "Relu", "HSwish", "Mish", "Clamp"})


def _activated(op, hops: int = 2) -> bool:
    """Whether an activation follows ``op`` (directly or after its bias Add): a hidden layer,
    not one of the head's output convolutions."""
    for target in op.output(0).get_target_inputs():
        node = target.get_node()
        kind = node.get_type_name()
        if kind in _ACTIVATIONS or (kind == "Add" and hops > 0 and _activated(node, hops - 1)):
            return True
    return False


def _quantize_here(fp32_dir: Path, frames_npy: Path, out_dir: Path) -> None:
    """The child process: NNCF post-training quantization of the IR in ``fp32_dir``."""
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)
    xml = next(fp32_dir.glob("*.xml"))
    model = ov.Core().read_model(xml)
    batch = np.load(frames_npy)
    dataset = nncf.Dataset([to_input(image) for image in batch])
    quantized = nncf.quantize(model, dataset, preset=nncf.QuantizationPreset.MIXED,
                              subset_size=len(batch),
                              ignored_scope=nncf.IgnoredScope(names=float_scope(model)))
    out_dir.mkdir(parents=True)
    ov.save_model(quantized, out_dir / xml.name)
    shutil.copy2(fp32_dir / "metadata.yaml", out_dir / "metadata.yaml")  # class names, stride


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=_quantize_here.__doc__)
    parser.add_argument("fp32_dir", type=Path)
    parser.add_argument("frames_npy", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    _quantize_here(args.fp32_dir, args.frames_npy, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
