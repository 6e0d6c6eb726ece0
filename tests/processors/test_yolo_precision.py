"""yolo.detect precision: the choice logic, calibration from the source, the cache keys, and a
real INT8 export of yolov8n that still finds PyTorch's boxes."""

from __future__ import annotations

import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.box_match import Boxes, matched_share
from visionapp.core.errors import BadInput
from visionapp.core.sources import open_source
from visionapp.core.types import Frame
from visionapp.processors import yolo_openvino, yolo_precision, yolo_quantize, yolo_runtime
from visionapp.processors.yolo_precision import Choice, Plan, Trial, choose, explicit

ALL = frozenset({"FP32", "BF16", "INT8"})


def test_auto_takes_the_fastest_precision_that_keeps_the_boxes():
    trials = [Trial("fp32", 30.0, 1.0), Trial("bf16", 15.0, 0.97), Trial("int8", 10.0, 0.95)]
    assert choose(trials).precision == "int8"
    trials[2] = Trial("int8", 10.0, 0.85)  # fast but loses boxes: the guard rules it out
    assert choose(trials).precision == "bf16"
    trials[2] = Trial("int8", 10.0, 0.95, map50_drop=2.0)  # finds them, ranks them worse
    assert choose(trials).precision == "bf16"
    trials[1] = Trial("bf16", 15.0, 0.97, map50_drop=1.5)  # the limit itself passes
    assert choose(trials).precision == "bf16"
    assert choose([Trial("fp32", 30.0, 1.0), Trial("bf16", 31.0, 1.0)]).precision == "fp32"
    with pytest.raises(ValueError):
        choose([])


def test_bf16_without_cpu_support_runs_fp32_and_says_so():
    assert explicit("bf16", ALL) == Choice("bf16")
    fallback = explicit("bf16", frozenset({"FP32", "INT8"}))
    assert fallback.precision == "fp32" and "not supported by this CPU" in fallback.note
    assert explicit("fp32", ALL) == Choice("fp32")
    assert yolo_openvino.compile_config("fp32")["INFERENCE_PRECISION_HINT"] == "f32"
    assert yolo_openvino.compile_config("bf16")["INFERENCE_PRECISION_HINT"] == "bf16"
    # int8's float layers run in FP32: BF16 would round box coordinates to whole pixels or worse
    assert yolo_openvino.compile_config("int8")["INFERENCE_PRECISION_HINT"] == "f32"
    assert "INFERENCE_PRECISION_HINT" not in yolo_openvino.compile_config("default")


def test_decode_keeps_one_of_two_overlapping_boxes_per_class():
    out = np.zeros((1, 84, 3), np.float32)
    out[0, :4, 0] = [50, 50, 20, 20]  # cx, cy, w, h
    out[0, :4, 1] = [51, 50, 20, 20]  # nearly the same box, lower score
    out[0, :4, 2] = [150, 50, 20, 20]
    out[0, 4 + 2, :] = [0.9, 0.8, 0.1]  # class 2; the third is below the threshold
    boxes = yolo_precision.decode(out, conf=0.25)
    assert len(boxes) == 1 and boxes.class_id[0] == 2
    np.testing.assert_allclose(boxes.xyxy[0], [40, 40, 60, 60])


@pytest.fixture
def fake_build(tmp_path, monkeypatch):
    """A Plan whose export, quantization and measurement are stand-ins that record calls."""
    calls = {"quantize": [], "trials": []}
    monkeypatch.setattr(yolo_precision, "openvino_capabilities", lambda: ALL)
    monkeypatch.setattr(yolo_precision, "nncf_available", lambda: True)

    def quantize(fp32_dir, shape_hw, images, final_dir):
        calls["quantize"].append((shape_hw, len(images)))
        final_dir.mkdir(parents=True)
        (final_dir / "metadata.yaml").write_text("names: {}\n")
        return final_dir

    def trials(folders, inputs):
        calls["trials"].append((sorted(folders), len(inputs), inputs[0].shape))
        return [Trial("fp32", 30.0, 1.0), Trial("bf16", 15.0, 0.97, 0.3),
                Trial("int8", 9.0, 0.8, 0.9)]

    monkeypatch.setattr(yolo_quantize, "quantize", quantize)
    monkeypatch.setattr(yolo_precision, "run_trials", trials)

    def make(requested, calibration=""):
        return Plan(requested, (64, 96), calibration, lambda: tmp_path / "fp32",
                    tmp_path / "int8" / "m_openvino_model", tmp_path / "auto" / "decision.json")

    return make, calls


def frames(n, still=False, stream=0):
    return [Frame(np.full((48, 80, 3), i % 256, np.uint8), i, 33 * i, still=still,
                  stream_id=stream) for i in range(n)]


def test_int8_collects_every_fifth_source_frame_then_builds_in_the_background(fake_build):
    make, calls = fake_build
    plan = make("int8")
    assert plan.current().precision == "bf16" and "(0/48)" in plan.current().note
    for frame in frames(40):
        plan.offer(frame)
        plan.offer(frame)  # the same frame again (a repaint) is not a new sample
    assert "(8/48)" in plan.current().pending and plan.collecting
    for frame in frames(240)[40:]:
        plan.offer(frame)
    assert plan.wait(10)
    assert calls["quantize"] == [((64, 96), 48)]
    assert plan.current() == Choice("int8", "int8 calibrated on 48 frames of this source")
    assert make("int8").current().precision == "int8"  # built once: the next plan finds it


def test_still_images_all_count_and_a_failed_build_keeps_float_running(fake_build,
                                                                      monkeypatch):
    make, _ = fake_build

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(yolo_quantize, "quantize", broken)
    plan = make("int8")
    for frame in frames(48, still=True):
        plan.offer(frame)
    assert plan.wait(10)
    choice = plan.current()
    assert choice.precision == "bf16" and "int8 failed (RuntimeError: disk full)" in choice.note


def test_auto_measures_keeps_the_guard_and_remembers_per_cpu(fake_build, monkeypatch):
    make, calls = fake_build
    plan = make("auto")
    for frame in frames(240):
        plan.offer(frame)
    assert plan.wait(10)
    # int8 was fastest but found only 80% of fp32's boxes: bf16 is the choice
    assert plan.current().precision == "bf16"
    assert "precision auto -> bf16" in plan.current().note
    assert calls["quantize"] == [((64, 96), 36)]  # every 4th frame held out to check on
    assert calls["trials"] == [(["bf16", "fp32", "int8"], 12, (1, 3, 64, 96))]
    again = make("auto")  # a new process: the verdict is read back, nothing is collected
    assert again.current().precision == "bf16" and not again.collecting
    monkeypatch.setattr(yolo_precision.hardware, "signature", lambda cpu: "another CPU")
    assert make("auto").collecting  # measured on another machine: measure again


def test_int8_without_nncf_says_what_to_install(fake_build, monkeypatch):
    make, _ = fake_build
    monkeypatch.setattr(yolo_precision, "nncf_available", lambda: False)
    choice = make("int8").current()
    assert choice.precision == "bf16" and "pip install nncf" in choice.note


def test_cache_keys_include_precision_and_calibration(tmp_path):
    from visionapp.core import weights

    pt = tmp_path / "w.pt"
    pt.write_bytes(b"weights")
    fp32 = yolo_runtime.export_path(pt, (192, 320), "openvino")
    int8 = yolo_runtime.int8_path(pt, (192, 320), "")
    assert fp32 != int8 and "_int8-source" in str(int8) and str(int8).endswith("_openvino_model")
    assert weights.sha256_of(pt)[:16] in str(int8)
    folder = tmp_path / "calib"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"x")
    first = yolo_runtime.int8_path(pt, (192, 320), str(folder))
    assert first != int8 and first != yolo_runtime.int8_path(pt, (384, 640), str(folder))
    (folder / "b.png").write_bytes(b"y")
    assert yolo_runtime.int8_path(pt, (192, 320), str(folder)) != first  # new frames: a new model
    assert "precision" in yolo_runtime.load_runtime.__code__.co_varnames


def test_a_missing_calibration_folder_is_one_line(shared):
    detector = registry.create("yolo.detect", {"precision": "int8",
                                               "calibration": "/no/such/folder"})
    with pytest.raises(BadInput, match="calibration: /no/such/folder does not exist"):
        detector.prepare()


@pytest.mark.slow
def test_int8_export_of_yolov8n_finds_pytorchs_boxes(shared, tmp_path, monkeypatch):
    """Calibrated on 8 frames of the traffic video (a folder the user names), the INT8 model at
    imgsz 320 finds ≥ 90% of PyTorch's boxes on 6 other frames; fp32 and bf16 compile to what
    they say."""
    import cv2

    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/yolov8n.pt").parent))
    calib = tmp_path / "calibration"
    calib.mkdir()
    with open_source(str(shared("data/videos/slow_traffic_small.mp4"))) as source:
        picked = [f for f in source if f.index % 60 == 0]
    for frame in picked[:8]:
        cv2.imwrite(str(calib / f"{frame.index:04d}.png"), frame.image)
    tests = picked[8:14]
    int8 = registry.create("yolo.detect", {"imgsz": 320, "precision": "int8",
                                           "calibration": str(calib)})
    int8.prepare()  # a batch run: named calibration frames are quantized before frame one
    plan = yolo_runtime.precision_plan(yolo_runtime.resolve_weights("auto"), (192, 320), "int8",
                                       str(calib))
    assert plan.current().precision == "int8", plan.current().note
    assert "calibrated on 8 frames of" in plan.current().note
    folder = yolo_runtime.int8_path(yolo_runtime.resolve_weights("auto"), (192, 320), str(calib))
    assert "FakeQuantize" in next(folder.glob("*.xml")).read_text()  # really quantized
    ref, got = [], []
    for frame in tests:
        result = int8(frame)
        assert result.values["precision"] == "int8" and result.text[0].startswith(
            "YOLO openvino int8")
        torch = registry.create("yolo.detect", {"imgsz": 320, "backend": "pytorch"})(frame)
        ref.append(Boxes.of(torch.detections.xyxy, torch.detections.class_id))
        got.append(Boxes.of(result.detections.xyxy, result.detections.class_id))
    assert sum(len(b) for b in ref) > 20 and matched_share(ref, got) >= 0.90
    for precision in ("fp32", "bf16"):
        detector = registry.create("yolo.detect", {"imgsz": 320, "precision": precision})
        detector(tests[0])
        rt = detector.runtime(tests[0].image.shape[:2], precision)
        wanted = {"fp32": "f32", "bf16": "bf16"}[precision]
        if precision == "bf16" and "BF16" not in yolo_precision.openvino_capabilities():
            wanted = "f32"
        assert rt.compiled["inference_precision"] == wanted


def test_compiled_models_are_cached_for_the_next_load(shared):
    """The second compile of an export in a precision reads OpenVINO's cached blob back."""
    from visionapp import paths
    from visionapp.core import weights

    pt = weights.resolve(str(shared("models/yolov8n.pt")))
    folder = yolo_runtime.export_model(pt, (160, 160), "openvino")
    cache = paths.openvino_cache_dir()
    assert not cache.exists() or not any(cache.iterdir())
    first = yolo_openvino.compile_openvino(folder, "fp32")
    blobs = sorted(cache.iterdir())
    assert blobs, "nothing written to the compiled-model cache"
    second = yolo_openvino.compile_openvino(folder, "fp32")
    assert sorted(cache.iterdir()) == blobs  # read back, not compiled into a new blob
    x = np.random.default_rng(0).random((1, 3, 160, 160), dtype=np.float32)
    assert np.allclose(first(x)[0], second(x)[0])
