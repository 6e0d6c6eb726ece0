"""yolo.detect's OpenVINO side: what the CPU offers, compiling an export in a given float
precision (cached: a later load reads the compiled blob back), and pinning an Ultralytics
OpenVINO model to that precision."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from visionapp import paths

log = logging.getLogger(__name__)

_HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # int8: its float layers


@functools.cache
def openvino_capabilities() -> frozenset[str]:
    """OpenVINO's own view of the CPU: e.g. {"FP32", "BF16", "INT8", ...}."""
    import openvino as ov

    return frozenset(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def compile_config(precision: str) -> dict[str, Any]:
    """OpenVINO CPU settings for a precision: latency mode and the float precision pinned (for
    int8: of its floating-point layers); anything else keeps OpenVINO's default."""
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if precision in _HINTS:
        config["INFERENCE_PRECISION_HINT"] = _HINTS[precision]
    return config


def openvino_core():
    """An OpenVINO Core caching what it compiles (:func:`visionapp.paths.openvino_cache_dir`):
    a later load of the same model and settings reads the blob back instead of compiling."""
    import openvino as ov

    core, folder = ov.Core(), paths.openvino_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(folder)})
    except (OSError, RuntimeError) as exc:  # no writable cache: compile every time
        log.debug("OpenVINO compiled-model cache off (%s): %s", folder, exc)
    return core


def compile_openvino(folder: Path, precision: str, extra: dict[str, Any] | None = None, *,
                     uint8_input: bool = False):
    """The export in ``folder`` compiled for ``precision`` (``extra``: more OpenVINO settings).
    ``uint8_input``: the network takes the (1, 3, H, W) RGB image as uint8 and divides by 255
    itself (in an INT8 export, ahead of its first quantizer): the same outputs, bit for bit, as
    feeding the float tensor, with a quarter of the bytes to prepare and hand over."""
    xml = str(next(Path(folder).glob("*.xml")))
    config = {**compile_config(precision), **(extra or {})}
    core = openvino_core()
    if not uint8_input:
        return core.compile_model(xml, "CPU", config)
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(core.read_model(xml))
    ppp.input().tensor().set_element_type(ov.Type.u8)
    ppp.input().preprocess().convert_element_type(ov.Type.f32).scale(255.0)
    return core.compile_model(ppp.build(), "CPU", config)


def describe_compiled(compiled) -> dict[str, Any]:
    """What a compiled OpenVINO model really runs with, read back from it."""
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    return {"inference_precision": str(getattr(hint, "type_name", hint) or hint),
            "execution_devices": list(compiled.get_property("EXECUTION_DEVICES")),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
            "streams": int(compiled.get_property("NUM_STREAMS"))}


def pin_openvino(model, folder: Path, precision: str, info: dict[str, Any]) -> None:
    """Make an Ultralytics OpenVINO model run in ``precision`` and record what it compiled to.

    Ultralytics compiles the IR itself with OpenVINO's default precision (bf16 on a CPU with
    BF16); at the start of each prediction this swaps in a model compiled with the wanted hint
    (a cache read after the first time), once per predictor, and fills ``info`` from the compiled
    model's own properties. It also skips Ultralytics' warm-up on the CPU, which there only
    imports torchvision (over a second) to switch NMS to its kernel; Ultralytics' own NMS keeps
    the same boxes."""

    def on_predict_start(predictor) -> None:
        backend = getattr(predictor.model, "backend", None)
        compiled = getattr(backend, "ov_compiled_model", None)
        if compiled is None or getattr(backend, "visionapp_precision", None) == precision:
            return
        if getattr(getattr(predictor, "device", None), "type", "cpu") == "cpu":
            predictor.done_warmup = True
        wanted = compile_config(precision).get("INFERENCE_PRECISION_HINT")
        if wanted and describe_compiled(compiled)["inference_precision"] != wanted:
            backend.ov_compiled_model = compile_openvino(folder, precision)
        backend.visionapp_precision = precision
        info.update(describe_compiled(backend.ov_compiled_model))

    model.add_callback("on_predict_start", on_predict_start)
