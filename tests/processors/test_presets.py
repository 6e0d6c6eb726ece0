"""The preset chains in resources/presets/ are ordinary chain files: each loads, and runs with
``visionapp process … --chain`` on material it is made for, writing valid records."""

from __future__ import annotations

import json

import cv2
import jsonschema
import pytest

from tests.conftest import REPO
from visionapp import paths
from visionapp.cli import main
from visionapp.core.chain import load_chain
from visionapp.processors.ocr_samples import render_page, system_fonts

PRESETS = {"text_reader", "exercise_counter", "gesture_control", "portrait", "inside_the_cnn",
           "traffic_counter", "face_anonymizer"}


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/hand_landmarker.task").parent))


def test_the_presets_are_there_and_load():
    assert {p.stem for p in paths.preset_files()} == PRESETS
    for path in paths.preset_files():
        assert load_chain(path), path


def _run(capsys, tmp_path, preset: str, source: str, *extra: str) -> list[dict]:
    jsonl = tmp_path / f"{preset}.jsonl"
    args = ["process", source, "--chain", str(paths.PRESETS_DIR / f"{preset}.toml"),
            "--detections", str(jsonl), "-q", *extra]
    assert main(args) == 0, capsys.readouterr().err
    schema = json.loads((REPO / "resources" / "record.schema.json").read_text())
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    for record in records:
        jsonschema.validate(record, schema)
    return records


def test_text_reader_reads_a_page(capsys, tmp_path):
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), render_page(["Meeting moved to Tuesday"], system_fonts()[0], 30))
    txt = tmp_path / "page.txt"
    (record,) = _run(capsys, tmp_path, "text_reader", str(page), "--txt", str(txt))
    assert record["results"][0]["values"]["text"] == "Meeting moved to Tuesday"
    assert txt.read_text() == "=== page.png ===\nMeeting moved to Tuesday\n\n"


def test_exercise_counter_on_the_dancer(capsys, shared, tmp_path):
    video = str(shared("data/videos/pose_segmentation.mp4"))
    records = _run(capsys, tmp_path, "exercise_counter", video, "--max-frames", "12")
    assert len(records) == 12
    assert [r["processor"] for r in records[-1]["results"]] == [
        "mediapipe.pose", "pose.angles", "pose.reps"]
    assert records[-1]["results"][2]["values"]["exercise"] == "squat"


def test_gesture_control_on_a_hand(capsys, shared, tmp_path):
    (record,) = _run(capsys, tmp_path, "gesture_control",
                     str(shared("data/images/hands/pointing_up_padded.png")))
    assert record["results"][1]["values"]["hands"][0]["gesture"] == "pointing_up"


def test_portrait_on_the_dancer(capsys, shared, tmp_path):
    out = tmp_path / "portrait.mp4"
    records = _run(capsys, tmp_path, "portrait",
                   str(shared("data/videos/pose_segmentation.mp4")), "--max-frames", "5",
                   "--out", str(out))
    assert out.stat().st_size > 0 and len(records) == 5
    assert records[0]["results"][0]["values"]["mode"] == "blur"


def test_face_anonymizer_blurs_the_selfie_face(capsys, shared, tmp_path):
    video = str(shared("data/videos/selfie_segmentation_web.mp4"))
    records = _run(capsys, tmp_path, "face_anonymizer", video, "--max-frames", "5")
    assert [r["results"][1]["values"]["regions"] for r in records] == [1] * 5


def test_traffic_counter_geometry_fits_the_shared_traffic_video(capsys, shared, tmp_path):
    video = str(shared("data/videos/slow_traffic_small.mp4"))
    records = _run(capsys, tmp_path, "traffic_counter", video, "--max-frames", "3",
                   "--set", "yolo.detect.backend=pytorch")
    processors = [r["processor"] for r in records[-1]["results"]]
    assert processors == ["yolo.detect", "count.line", "count.zone", "heatmap", "speed"]
    assert records[-1]["results"][1]["values"]["line"] == [250, 250, 639, 250]
    assert records[0]["detections"] and all(d["track_id"] is not None
                                            for d in records[-1]["detections"])
