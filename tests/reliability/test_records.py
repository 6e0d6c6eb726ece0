"""Records a program can use: every JSON line and CSV row of an image names its file, stills have
no invented timestamps, and every processor's frame-level answer is in the record under a key
the JSON Schema in resources/ documents (issue: trust)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, write_test_video
from tests.training_data import shapes_dataset
from visionapp import paths
from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.export import Exports
from visionapp.core.sources import open_source
from visionapp.core.types import Detections, Frame, Result
from visionapp.processors.ocr_samples import render_page, system_fonts

SCHEMA_PATH = REPO / "resources" / "record.schema.json"
# Processors whose only output is the changed frame: their values are documented as empty.
NO_VALUES = {"adjust.grayscale", "adjust.brightness_contrast", "adjust.rotate", "adjust.flip"}
# Cases where the processor has nothing to say yet (the text says why).
EMPTY_VALUES = {"conv.pool nothing", "cnn.features no model"}


@pytest.fixture(scope="module")
def validator():
    import jsonschema  # the dev extra

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def assert_valid(validator, record: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(record)]
    assert errors == [], errors


@pytest.fixture(scope="module")
def classifier_model(tmp_path_factory) -> Path:
    """A small classifier trained here on drawn circles and squares (a few seconds)."""
    from visionapp.training.classifier import ClassifierConfig, train

    root = tmp_path_factory.mktemp("classifier")
    (root / "models").mkdir()
    data = shapes_dataset(root / "shapes", per_class=24, size=32)
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "PROJECT_MODELS_DIR", root / "models")
    try:
        events = list(train(ClassifierConfig(str(data), kind="better", image_size=32, epochs=3,
                                             batch=16, augment=False, patience=3,
                                             name="shapes")))
    finally:
        mp.undo()
    from visionapp.training.progress import Failed, Finished

    done = events[-1]
    assert isinstance(done, Finished), [e.message for e in events if isinstance(e, Failed)]
    return Path(done.model_path)


def _still(image: np.ndarray, context: tuple[Result, ...] = ()) -> Frame:
    return Frame(image, 0, 0, still=True, context=context)


@pytest.fixture(scope="module")
def every_processor_record(shared_assets, classifier_model, tmp_path_factory):
    """Each built-in processor run for real on a frame it has something to say about, each
    result written through the exporter: {case: (record, csv rows, result)}."""
    lena, hand, traffic, dancer = shared_assets
    patch = tmp_path_factory.mktemp("template") / "eye.png"
    cv2.imwrite(str(patch), lena[250:290, 240:300])
    square = np.zeros((100, 100, 3), np.uint8)
    square[30:70, 30:70] = 255
    circle = np.random.default_rng(1).integers(0, 90, (64, 96, 3), np.uint8)
    cv2.circle(circle, (48, 32), 14, (230, 210, 170), -1)
    boxes = Result("finder", detections=Detections.from_lists(
        [[8, 8, 40, 40], [50, 10, 90, 50]], [1.0, 1.0], ["thing", "thing"]))
    tracked = Result("yolo.detect", detections=Detections.from_lists(
        [[100, 150, 160, 200], [300, 80, 330, 140]], [0.9, 0.8], ["car", "person"],
        track_id=[1, 2]))
    model = str(classifier_model)
    pose = registry.create("mediapipe.pose")(dancer)
    hands = registry.create("mediapipe.hands")(_still(hand))
    page = render_page(["Invoice 2024-117", "total due 348.50"], system_fonts()[0], 28)
    cases = {
        "adjust.grayscale": ({}, _still(lena)),
        "adjust.brightness_contrast": ({"alpha": 1.5}, _still(lena)),
        "adjust.resize": ({"width": 128}, _still(lena)),
        "adjust.rotate": ({"angle_deg": 30.0}, _still(lena)),
        "adjust.flip": ({}, _still(lena)),
        "adjust.crop": ({"x": 10, "y": 20, "width": 50, "height": 40}, _still(lena)),
        "canny": ({}, _still(square)),
        "sobel": ({}, _still(lena)),
        "haar.faces": ({"eyes": True}, _still(lena)),
        "template": ({"template_path": str(patch)}, _still(lena)),
        "mediapipe.face_mesh": ({"blendshapes": True}, _still(lena)),
        "mediapipe.hands": ({}, _still(hand)),
        "mediapipe.pose": ({}, dancer),
        "mediapipe.face_detection": ({}, _still(lena)),
        "yolo.detect": ({"backend": "pytorch", "show_candidates": True}, traffic),
        "classifier": ({"model": model, "top_k": 2}, _still(circle)),
        "classifier center": ({"model": model, "region": "center"}, _still(circle)),
        "classifier boxes": ({"model": model, "region": "boxes"}, _still(circle, (boxes,))),
        "conv.kernel": ({"preset": "sobel_x"}, _still(lena)),
        "conv.pool": ({"size": 4, "stride": 4}, _still(lena)),
        "conv.pool nothing": ({"source": "previous"}, _still(lena)),
        "channels": ({"space": "HSV"}, _still(lena)),
        "cnn.features": ({"model": model}, _still(circle)),
        "cnn.features filters": ({"model": model, "view": "filters"}, _still(circle)),
        "cnn.features no model": ({"model": "absent.keras"}, _still(circle)),
        "ocr": ({"engine": "tesseract"}, _still(page)),
        "ocr rapidocr": ({"engine": "rapidocr", "level": "word", "deskew": True}, _still(page)),
        "pose.angles": ({}, dancer.with_context((pose,))),
        "pose.reps": ({"exercise": "biceps_curl"}, dancer.with_context((pose,))),
        "hands.gestures": ({}, _still(hand, (hands,))),
        "mediapipe.holistic": ({}, dancer),
        "background": ({"mode": "grey"}, dancer),
        "count.line": ({"line": "0,100 639,100"}, traffic.with_context((tracked,))),
        "count.zone": ({}, traffic.with_context((tracked,))),
        "heatmap": ({}, traffic.with_context((tracked,))),
        "privacy.blur": ({}, _still(lena, (boxes,))),
        "speed": ({}, traffic.with_context((tracked,))),
    }
    folder = tmp_path_factory.mktemp("records")
    exports = Exports(folder / "r.jsonl", folder / "r.csv")
    results = {}
    for case, (params, frame) in cases.items():
        result = registry.create(case.split()[0], params)(frame)
        results[case] = result
        exports.write("photos", f"sub/{case}.png" if frame.still else f"clip_{frame.index}",
                      frame, (result,))
    exports.commit()
    records = [json.loads(line) for line in (folder / "r.jsonl").read_text().splitlines()]
    rows = list(csv.DictReader((folder / "r.csv").open(encoding="utf-8")))
    return {case: (record, [r for r in rows if r["file"] == record["file"]
                            and r["frame"] == str(record["frame"])], results[case])
            for case, record in zip(cases, records, strict=True)}


@pytest.fixture(scope="module")
def shared_assets():
    from tests.conftest import shared_path

    lena = cv2.imread(str(shared_path("data/images/lena.jpg")))
    hand = cv2.imread(str(shared_path("data/images/hands/victory.jpg")))
    with open_source(str(shared_path("data/videos/slow_traffic_small.mp4"))) as source:
        traffic = next(iter(source))
    with open_source(str(shared_path("data/videos/pose_segmentation.mp4"))) as source:
        dancer = [f for _, f in zip(range(40), source, strict=False)][-1]
    return lena, hand, traffic, dancer


# ----------------------------------------------------------------------------- the schema


def test_schema_documents_every_builtin_processor():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    documented = {clause["if"]["properties"]["processor"]["const"]
                  for clause in schema["$defs"]["result"]["allOf"]}
    assert documented == set(registry.BUILTINS)
    for name in documented:
        assert schema["$defs"][f"values.{name}"].get("description") or any(
            "description" in p for p in schema["$defs"][f"values.{name}"].get(
                "properties", {}).values())


def test_every_processor_record_is_valid(validator, every_processor_record):
    assert {case.split()[0] for case in every_processor_record} == set(registry.BUILTINS)
    for case, (record, _rows, result) in every_processor_record.items():
        assert_valid(validator, record)
        (entry,) = record["results"]
        assert entry["processor"] == case.split()[0]
        assert entry["text"] == list(result.text)
        if case.split()[0] in NO_VALUES or case in EMPTY_VALUES:
            assert entry["values"] == {}
        else:
            assert entry["values"], f"{case} wrote no values"


def test_a_wrong_record_is_caught_by_the_schema(validator, every_processor_record):
    """The schema is strict enough to catch an undocumented key or a wrong type."""
    record, _, _ = every_processor_record["canny"]
    wrong = json.loads(json.dumps(record))
    wrong["results"][0]["values"]["edges"] = 3
    assert list(validator.iter_errors(wrong))
    wrong = json.loads(json.dumps(record))
    wrong["results"][0]["values"]["edge_fraction"] = "12%"
    assert list(validator.iter_errors(wrong))
    ocr, _, _ = every_processor_record["ocr"]
    wrong = json.loads(json.dumps(ocr))
    wrong["results"][0]["values"]["regions"][0]["orientation_deg"] = 45  # only quarter turns
    assert list(validator.iter_errors(wrong))
    reps, _, _ = every_processor_record["pose.reps"]
    wrong = json.loads(json.dumps(reps))
    wrong["results"][0]["values"]["count"] = -1
    assert list(validator.iter_errors(wrong))


def test_frame_level_answers_are_in_the_record(every_processor_record):
    def values(case):
        return every_processor_record[case][0]["results"][0]["values"]

    assert values("adjust.resize") == {"resolution_wh": [128, 128]}  # 512×512 kept square
    assert values("adjust.crop") == {"roi_xyxy": [10, 20, 60, 60]}
    # A 40×40 square: its one-pixel outline is about 4·40 of 100·100 pixels.
    assert 0.01 < values("canny")["edge_fraction"] < 0.03
    assert 0 < values("sobel")["mean_gradient"] < 255
    haar_record = every_processor_record["haar.faces"][0]
    assert values("haar.faces")["faces"] == 1
    assert values("haar.faces")["eyes"] == sum(d["label"] == "eye"
                                               for d in haar_record["detections"])
    template = values("template")  # a patch cut from the very frame matches it exactly once
    assert template["matches"] == 1 and template["best_score"] == pytest.approx(1.0, abs=1e-3)
    assert template["candidates"] >= template["matches"]
    mesh = values("mediapipe.face_mesh")
    assert mesh["faces"] == 1 and len(mesh["blendshapes"]) == 1
    assert len(mesh["blendshapes"][0]) >= 50 and "jawOpen" in mesh["blendshapes"][0]
    hands = values("mediapipe.hands")  # the victory sign: two fingers
    assert hands["fingers_up"] == [2] and hands["handedness"][0] in ("Left", "Right")
    assert values("mediapipe.pose") == {"poses": 1}
    assert values("mediapipe.face_detection") == {"faces": 1}
    ocr = values("ocr")  # rendered text: read exactly, one box per line with its text
    assert ocr["text"] == "Invoice 2024-117\ntotal due 348.50" and ocr["lines"] == 2
    assert every_processor_record["ocr"][0]["detections"][0]["label"] == "Invoice 2024-117"
    assert values("ocr rapidocr")["words"] == 5
    assert len(every_processor_record["ocr rapidocr"][0]["detections"]) == 5  # one per word
    angles = values("pose.angles")["angles_deg"]
    assert values("pose.angles")["bodies"] == 1 and len(angles) == 8
    assert all(a is None or 0 <= a <= 180 for a in angles.values())
    assert values("pose.reps")["count"] == 0 and values("pose.reps")["joint"] == "elbow"
    assert [h["gesture"] for h in values("hands.gestures")["hands"]] == ["victory"]
    assert values("mediapipe.holistic")["points"]["pose"] == 33
    assert 0 < values("background")["person_fraction"] < 0.5
    yolo = values("yolo.detect")
    yolo_labels = [d["label"] for d in every_processor_record["yolo.detect"][0]["detections"]]
    assert yolo["counts"].get("car", 0) >= 1
    assert yolo["counts"] == {label: yolo_labels.count(label) for label in set(yolo_labels)}
    assert yolo["candidates"] > len(yolo_labels) and yolo["backend"] == "pytorch"


def test_cnn_lab_answers_are_in_the_record(every_processor_record):
    def values(case):
        return every_processor_record[case][0]["results"][0]["values"]

    kernel = values("conv.kernel")  # lena is 512×512: (512 − 3 + 2×0)/1 + 1 = 510
    assert kernel["out_wh"] == [510, 510] and kernel["kernel"][1] == [-2, 0, 2]
    assert kernel["width_formula"] == "(512 − 3 + 2×0)/1 + 1 = 510"
    assert kernel["min"] < 0 < kernel["max"]
    assert values("conv.pool")["out_wh"] == [128, 128]  # (512 − 4)/4 + 1
    channels = values("channels")
    assert channels["channels"] == ["H", "S", "V"]
    assert all(abs(sum(h) - 1) < 1e-3 for h in channels["histograms"])
    features = values("cnn.features")  # the better CNN at 32×32: its stride-2 stem halves it
    assert features["layer"] == "conv0" and features["shape"] == [16, 16, 32]
    assert len(features["channels"]) == 16 == len(set(features["channels"]))
    assert values("cnn.features filters")["shape"] == [3, 3, 3, 32]


def test_classifier_class_and_probabilities_are_in_the_record(every_processor_record):
    """Before, the whole-frame classifier's answer existed only as text drawn on the frame."""
    record, rows, result = every_processor_record["classifier"]
    values = record["results"][0]["values"]
    assert record["detections"] == [] and rows == []  # no box: the record is the only place
    top = values["top_k"]
    assert sorted(t["label"] for t in top) == ["circles", "squares"]
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    assert sum(t["score"] for t in top) == pytest.approx(1.0, abs=2e-4)  # both classes
    assert (values["label"], values["score"]) == (top[0]["label"], top[0]["score"])
    assert result.text[0] == f"classifier: {values['label']} {values['score']:.2f}"
    center = every_processor_record["classifier center"][0]
    assert center["results"][0]["values"]["label"] == center["detections"][0]["label"]
    boxes = every_processor_record["classifier boxes"][0]
    assert boxes["results"][0]["values"] == {"boxes": 2} and len(boxes["detections"]) == 2


def test_csv_rows_carry_the_file(every_processor_record):
    record, rows, _ = every_processor_record["haar.faces"]
    assert rows and all(r["file"] == "sub/haar.faces.png" for r in rows)
    assert all(r["timestamp_ms"] == "" for r in rows)  # a still has no capture time
    assert len(rows) == len(record["detections"])


# ----------------------------------------------------------------------------- through the CLI


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_folder_records_name_their_files_without_timestamps(capsys, validator, shared,
                                                            tmp_path):
    folder = tmp_path / "cats"
    folder.mkdir()
    lena = cv2.imread(str(shared("data/images/lena.jpg")))
    cv2.imwrite(str(folder / "img_10.png"), lena)
    cv2.imwrite(str(folder / "img_2.png"), np.full((60, 80, 3), 128, np.uint8))
    (folder / "notes.txt").write_text("x")
    jsonl, table = tmp_path / "d.jsonl", tmp_path / "d.csv"
    assert main(["process", str(folder), "-p", "haar.faces", "-p", "canny", "--detections",
                 str(jsonl), "--csv", str(table), "-q"]) == 0
    records = _records(jsonl)
    assert [(r["source"], r["file"], r["frame"], r["timestamp_ms"]) for r in records] == [
        ("cats", "img_2.png", 0, None), ("cats", "img_10.png", 1, None)]
    for record in records:
        assert_valid(validator, record)
    assert records[1]["results"][0]["values"] == {"faces": 1, "eyes": 0}
    rows = list(csv.DictReader(table.open()))
    assert [(r["file"], r["timestamp_ms"], r["label"]) for r in rows] == [
        ("img_10.png", "", "face")]
    capsys.readouterr()


def test_single_image_and_video_records(capsys, validator, shared, tmp_path):
    image = tmp_path / "lena copy.jpg"
    image.write_bytes(shared("data/images/lena.jpg").read_bytes())
    video = write_test_video(tmp_path / "clip.mp4", frames=4)
    jsonl = tmp_path / "d.jsonl"
    assert main(["process", str(image), str(video), "-p", "canny", "--detections", str(jsonl),
                 "-q"]) == 0
    records = _records(jsonl)
    assert [(r["file"], r["frame"], r["timestamp_ms"]) for r in records] == [
        ("lena copy.jpg", 0, None), (None, 0, 0), (None, 1, 100), (None, 2, 200),
        (None, 3, 300)]  # the clip is 10 fps
    for record in records:
        assert_valid(validator, record)
        assert 0 <= record["results"][0]["values"]["edge_fraction"] <= 1
    capsys.readouterr()


def test_classifier_whole_frame_answer_reaches_the_jsonl(capsys, classifier_model, tmp_path):
    image = np.random.default_rng(2).integers(0, 90, (64, 64, 3), np.uint8)
    cv2.rectangle(image, (20, 20), (44, 44), (230, 210, 170), -1)
    path = tmp_path / "shape.png"
    cv2.imwrite(str(path), image)
    jsonl = tmp_path / "d.jsonl"
    assert main(["process", str(path), "-p", "classifier", "--set",
                 f"classifier.model={classifier_model}", "--detections", str(jsonl), "-q"]) == 0
    (record,) = _records(jsonl)
    values = record["results"][0]["values"]
    assert values["label"] in ("circles", "squares") and 0.5 <= values["score"] <= 1
    assert {t["label"] for t in values["top_k"]} == {"circles", "squares"}
    capsys.readouterr()
