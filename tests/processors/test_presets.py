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
from visionapp.core.chain import chain_info, dumps, load_chain, loads
from visionapp.core.errors import BadInput
from visionapp.processors.ocr_samples import render_page, system_fonts

PRESETS = {"text_reader", "exercise_counter", "gesture_control", "portrait", "inside_the_cnn",
           "faces", "face_mesh", "hands", "body_pose", "objects", "edges", "classifier",
           "traffic_counter", "face_anonymizer"}


@pytest.fixture(autouse=True)
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/hand_landmarker.task").parent))


def test_the_presets_are_there_and_load():
    assert {p.stem for p in paths.preset_files()} == PRESETS
    for path in paths.preset_files():
        assert load_chain(path), path


def test_every_preset_has_a_title_and_a_one_line_description():
    for path in paths.preset_files():
        info = chain_info(path)
        assert info.title and info.title != path.stem, path
        assert 10 < len(info.description) <= 90 and "\n" not in info.description, path


def test_a_chain_may_carry_a_title_and_description_and_they_are_checked(tmp_path):
    text = dumps(loads('[[processors]]\nname = "canny"\n'), title="Mine",
                 description="Canny for the hallway")
    path = tmp_path / "mine.toml"
    path.write_text(text)
    assert [e.name for e in load_chain(path)] == ["canny"]
    assert (chain_info(path).title, chain_info(path).description) == (
        "Mine", "Canny for the hallway")
    path.write_text('title = 3\n[[processors]]\nname = "canny"\n')
    with pytest.raises(BadInput, match="line 1: title must be a string"):
        load_chain(path)
    path.write_text('titel = "x"\n')
    with pytest.raises(BadInput, match="unknown key 'titel'; allowed: title, description"):
        load_chain(path)
    bare = tmp_path / "my_edges.toml"
    bare.write_text('[[processors]]\nname = "canny"\n')
    assert (chain_info(bare).title, chain_info(bare).description) == ("My edges", "")


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


def test_faces_preset_finds_the_face_with_both_detectors(capsys, shared, tmp_path):
    (record,) = _run(capsys, tmp_path, "faces", str(shared("data/images/lena.jpg")))
    found = {d["processor"] for d in record["detections"] if d["label"] == "face"}
    assert found == {"haar.faces", "mediapipe.face_detection"}


def test_edges_preset_puts_canny_beside_sobel(capsys, tmp_path):
    from tests.conftest import write_test_video

    video = write_test_video(tmp_path / "v.mp4", frames=3)
    frames = tmp_path / "frames"
    records = _run(capsys, tmp_path, "edges", str(video), "--frames-dir", str(frames))
    assert [r["processor"] for r in records[0]["results"]] == ["canny", "sobel"]
    (first, *_) = sorted(frames.glob("*.png"))
    assert cv2.imread(str(first)).shape[:2] == (120, 320)  # two 160-px halves


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
