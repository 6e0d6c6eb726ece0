"""yolo.detect on the shared traffic video with the shared weights (CI must run these)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.annotate import Annotator, annotate
from visionapp.core.errors import BadInput, ModelNotFound
from visionapp.core.model_cache import MODELS
from visionapp.core.nms import box_iou, nms, suppressors
from visionapp.core.sources import open_source
from visionapp.core.types import Frame
from visionapp.processors import ultralytics_safe, yolo_runtime


@pytest.fixture(scope="module")
def traffic(request):
    from tests.conftest import shared_path

    with open_source(str(shared_path("data/videos/slow_traffic_small.mp4"))) as source:
        return [f for i, f in zip(range(120), source, strict=False) if i % 20 == 0]


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/yolov8n.pt").parent))


def _in_fresh_process(code: str, shared, timeout: float) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process that finds the shared YOLO weights."""
    env = {**os.environ, "VISIONAPP_MODELS_DIR": str(shared("models/yolov8n.pt").parent)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)


def detect(frame, **params):
    return registry.create("yolo.detect", params)(frame)


def matched(a, b, iou=0.7) -> float:
    """Share of b's boxes that a has too (same class, IoU ≥ iou)."""
    if len(b) == 0:
        return 1.0
    overlaps = box_iou(b.xyxy, a.xyxy)
    same = b.class_id[:, None] == a.class_id[None, :]
    return float(((overlaps >= iou) & same).any(axis=1).mean())


def test_finds_cars_and_people_on_the_traffic_video(traffic):
    labels = [label for f in traffic for label in
              detect(f, backend="pytorch", imgsz=640).detections.labels]
    assert labels.count("car") >= 3 * len(traffic) and "person" in labels


def test_accelerated_backend_matches_pytorch(shared):
    """≥ 95% of PyTorch's boxes found by the OpenVINO export (same class, IoU ≥ 0.7), pooled
    over 30 frames: the misses are boxes within a few hundredths of the confidence threshold."""
    with open_source(str(shared("data/videos/slow_traffic_small.mp4"))) as source:
        frames = [f for i, f in enumerate(source) if i % 30 == 0]
    found = total = 0
    for frame in frames:
        torch_dets = detect(frame, backend="pytorch", imgsz=320).detections
        fast = detect(frame, backend="accelerate", imgsz=320)
        assert fast.text[0].startswith("YOLO openvino")
        found += matched(fast.detections, torch_dets) * len(torch_dets)
        total += len(torch_dets)
    assert total > 100 and found / total >= 0.95


@pytest.mark.parametrize("agnostic", [False, True])
def test_visible_nms_keeps_what_the_backend_keeps(traffic, agnostic):
    for frame in traffic:
        params = {"backend": "pytorch", "imgsz": 640, "conf": 0.1, "agnostic_nms": agnostic}
        fast = detect(frame, **params)
        shown = detect(frame, show_candidates=True, **params)
        a, b = fast.detections, shown.detections
        assert len(a) == len(b) and list(a.labels) == list(b.labels)
        assert np.allclose(a.xyxy, b.xyxy, atol=0.5)
        assert shown.candidates is not None and len(shown.candidates) > 0  # NMS removed some
        assert len(shown.candidates) + len(b) == shown.values["candidates"]  # nothing lost
        assert "candidates ->" in shown.text[1]


def test_numpy_nms_matches_torchvision_on_random_cases():
    import torch
    from torchvision.ops import batched_nms
    from torchvision.ops import nms as tv_nms

    rng = np.random.default_rng(7)
    for case in range(1500):
        n = int(rng.integers(1, 60))
        xy = rng.uniform(0, 100, (n, 2))
        wh = rng.uniform(0, 40, (n, 2))  # zero-size boxes possible
        boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
        scores = (rng.integers(1, 8, n) / 8).astype(np.float32)  # many ties
        classes = rng.integers(0, 3, n)
        thr = float(rng.choice([0.2, 0.45, 0.7]))
        tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
        # torchvision keeps ties in index order only with a stable sort: compare as sets and
        # check our order is by descending score.
        ours = nms(boxes.astype(np.float64), scores, thr)
        theirs = tv_nms(tb, ts, thr).numpy()
        assert set(ours.tolist()) == set(theirs.tolist()), f"case {case}"
        assert np.all(np.diff(scores[ours]) <= 0)
        ours_c = nms(boxes, scores, thr, class_id=classes)
        theirs_c = batched_nms(tb, ts, torch.from_numpy(classes), thr).numpy()
        assert set(ours_c.tolist()) == set(theirs_c.tolist()), f"class-aware case {case}"


def test_suppressors_name_the_box_that_removed_each_candidate():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [21, 20, 31, 30]],
                     np.float64)
    scores = [0.9, 0.8, 0.7, 0.95]
    keep = nms(boxes, scores, 0.5)
    by, overlap = suppressors(boxes, keep, 0.5)
    assert keep.tolist() == [3, 0]
    assert by.tolist() == [-1, 0, 3, -1]
    assert overlap[1] == pytest.approx(81 / 119) and overlap[2] == pytest.approx(90 / 110)


def test_course_iou_examples():
    # A 2×2 box shifted by one in x overlaps half of itself: IoU = 2 / (4 + 4 - 2) = 1/3.
    assert box_iou([[0, 0, 2, 2]], [[1, 0, 3, 2]])[0, 0] == pytest.approx(1 / 3)
    # Ground truth 100×100 at the origin, prediction 50×50 inside it: IoU = 2500/10000 = 0.25.
    assert box_iou([[0, 0, 100, 100]], [[25, 25, 75, 75]])[0, 0] == pytest.approx(0.25)


def test_class_filter_and_thresholds(traffic):
    frame = traffic[1]
    everything = detect(frame, backend="pytorch", imgsz=640).detections
    cars = detect(frame, backend="pytorch", imgsz=640, classes="car").detections
    assert set(cars.labels) == {"car"} and len(cars) < len(everything)
    strict = detect(frame, backend="pytorch", imgsz=640, conf=0.8).detections
    assert len(strict) < len(everything) and np.all(strict.confidence >= 0.8)
    with pytest.raises(BadInput, match="'?carz'? not among|carz not among"):
        detect(frame, backend="pytorch", classes="carz")


def test_tracking_keeps_ids_on_a_moving_object(traffic):
    car = detect(traffic[0], backend="pytorch", imgsz=640, classes="car").detections
    x1, y1, x2, y2 = (int(v) for v in car.xyxy[int(np.argmax(car.confidence))])
    patch = traffic[0].image[y1:y2, x1:x2]
    tracker = registry.create("yolo.detect", {"backend": "pytorch", "tracker": "bytetrack",
                                              "conf": 0.1})
    annotator = Annotator()  # the driver's: it keeps the trails
    ids = []
    for i in range(12):
        canvas = np.full((360, 640, 3), 110, np.uint8)
        x = 40 + 12 * i
        canvas[150 : 150 + patch.shape[0], x : x + patch.shape[1]] = patch
        result = tracker(Frame(canvas, i, i * 33, stream_id=41))
        drawn = annotator(canvas, [result], stream_id=41)
        if len(result.detections):
            ids.append(int(result.detections.track_id[0]))
    assert len(ids) >= 10 and len(set(ids)) == 1 and ids[0] >= 0
    assert result.trail_length == 20 and not result.landmarks  # the detector returns ids only
    trail = annotator.trail(41, "yolo.detect", ids[0])
    assert len(trail) > 5  # the trail
    assert np.all(np.diff(trail[:, 0]) > 0)  # following the car to the right
    assert not np.array_equal(drawn, annotate(canvas, [result]))  # and drawn


def test_a_new_stream_restarts_the_tracker(traffic):
    tracker = registry.create("yolo.detect", {"backend": "pytorch", "tracker": "bytetrack",
                                              "conf": 0.1, "classes": "car"})
    first = tracker(dataclasses.replace(traffic[0], stream_id=51))
    runtime = tracker.runtime(traffic[0].image.shape[:2])
    state = runtime.model.predictor.trackers[0]
    tracker(dataclasses.replace(traffic[1], stream_id=51))
    assert runtime.model.predictor.trackers[0] is state  # one stream: the tracker goes on
    again = tracker(dataclasses.replace(traffic[0], stream_id=52))
    assert runtime.model.predictor.trackers[0] is not state and runtime.stream_id == 52
    # The first picture again, as the start of a new stream: numbered afresh, as the first was.
    assert sorted(again.detections.track_id) == sorted(first.detections.track_id)


def test_not_a_yolo_model(tmp_path):
    bad = tmp_path / "fake.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(ModelNotFound, match="could not be loaded as a YOLO model"):
        detect(Frame(np.zeros((64, 64, 3), np.uint8), 0, 0), weights=str(bad),
               backend="pytorch")


def test_export_failure_falls_back_to_pytorch(traffic, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no space for the export")

    monkeypatch.setattr(yolo_runtime, "export_model", broken)
    MODELS.discard("yolo")
    try:
        result = detect(traffic[0], imgsz=416)
    finally:
        MODELS.discard("yolo")
    assert result.text[0].startswith("YOLO pytorch")
    assert any("export failed" in line and "using PyTorch" in line for line in result.text)
    assert len(result.detections) > 0


def test_cli_json_lines_carry_class_score_box_and_track(shared, tmp_path, capsys):
    import json

    from visionapp.cli import main

    out = tmp_path / "tracks.jsonl"
    code = main(["process", str(shared("data/videos/slow_traffic_small.mp4")), "-p",
                 "yolo.detect", "--set", "yolo.detect.tracker=bytetrack", "--set",
                 "yolo.detect.imgsz=320", "--max-frames", "8", "--detections", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 8
    boxes = [d for r in records for d in r["detections"]]
    assert {"car"} <= {d["label"] for d in boxes}
    assert all(isinstance(d["track_id"], int) for d in boxes[-5:])
    assert all(len(d["xyxy"]) == 4 and 0 < d["score"] <= 1 for d in boxes)


def test_mediapipe_then_yolo_in_one_process(shared):
    """TensorFlow (under MediaPipe) first, then torch/Ultralytics: must not crash."""
    code = ("import numpy as np\n"
            "from visionapp.core import registry\n"
            "from visionapp.core.types import Frame\n"
            "f = Frame(np.zeros((96, 128, 3), np.uint8), 0, 0)\n"
            "registry.create('mediapipe.face_detection')(f)\n"
            "registry.create('yolo.detect', {'backend': 'pytorch', 'imgsz': 160})(f)\n"
            "print('both ran')\n")
    result = _in_fresh_process(code, shared, timeout=180)
    assert result.returncode == 0 and "both ran" in result.stdout, result.stderr[-2000:]


def test_exported_onnx_and_openvino_weights_load(traffic, tmp_path):
    """A user's own exports (ONNX file, OpenVINO folder) work as weights and find cars."""
    from visionapp.core import weights

    pt = tmp_path / "yolov8n.pt"
    pt.write_bytes(weights.resolve("yolov8n.pt").read_bytes())
    model = ultralytics_safe.load_yolo(pt)
    onnx = model.export(format="onnx", imgsz=640, simplify=False, verbose=False)
    ov = yolo_runtime.export_model(pt, (640, 640), "openvino")
    for path, backend in ((onnx, "onnx"), (ov, "openvino")):
        result = detect(traffic[1], weights=str(path), imgsz=640)
        assert result.text[0].startswith(f"YOLO {backend}")
        assert "car" in result.detections.labels


def test_openvino_runs_without_importing_torchvision_and_keeps_the_boxes(shared):
    """A fresh process loading an OpenVINO export runs it directly (yolo_direct: no Ultralytics
    predictor, so no torchvision import, over a second of a load); its boxes are exactly those
    of Ultralytics' predictor with torchvision's NMS kernel, on several frames."""
    code = ("import sys\n"
            "import numpy as np\n"
            "from visionapp.core import registry\n"
            "from visionapp.core.sources import open_source\n"
            f"with open_source({str(shared('data/videos/slow_traffic_small.mp4'))!r}) as s:\n"
            "    frames = [f for i, f in enumerate(s) if i % 100 == 0]\n"
            "p = registry.create('yolo.detect', {'imgsz': 320, 'precision': 'fp32'})\n"
            "own = [p(f) for f in frames]\n"
            "assert own[0].text[0].startswith('YOLO openvino'), own[0].text\n"
            "rt = p.runtime(frames[0].image.shape[:2], 'fp32')\n"
            "assert rt.direct is not None\n"
            "print('torchvision imported:', 'torchvision' in sys.modules)\n"
            "rt.direct = None  # Ultralytics' predictor from here on\n"
            "import torchvision  # noqa: F401  (Ultralytics' NMS uses it from now on)\n"
            "for f, a in zip(frames, own):\n"
            "    b = p(f).detections\n"
            "    assert np.array_equal(a.detections.class_id, b.class_id)\n"
            "    assert np.allclose(a.detections.xyxy, b.xyxy, atol=0.01)\n"
            "    assert np.allclose(a.detections.confidence, b.confidence, atol=1e-4)\n"
            "assert sum(len(a.detections) for a in own) >= 3 * len(frames)\n"
            "print('same boxes')\n")
    result = _in_fresh_process(code, shared, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torchvision imported: False" in result.stdout and "same boxes" in result.stdout
