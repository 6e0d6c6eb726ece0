"""The command line end to end, including every bad input the foundation promises to handle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, frame_count, write_test_video
from visionapp.cli import main


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_process_generated_video_end_to_end(capsys, tiny_video, tmp_path):
    out, jsonl, frames = tmp_path / "o.mp4", tmp_path / "d.jsonl", tmp_path / "frames"
    code, _, err = cli(capsys, "process", str(tiny_video), "-p", "canny", "-p", "template",
                       "--set", "canny.low=60", "--out", str(out), "--detections", str(jsonl),
                       "--every", "5", "--frames-dir", str(frames), "-q")
    assert code == 0, err
    assert frame_count(out) == 30
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(30))
    assert records[3]["timestamp_ms"] == 300 and records[0]["source"] == "tiny.mp4"
    saved = sorted(p.name for p in frames.iterdir())
    assert saved == [f"tiny_{i:06d}.png" for i in range(0, 30, 5)]


def test_process_shared_video_with_haar(capsys, shared, tmp_path):
    video = shared("data/videos/selfie_segmentation_web.mp4")
    jsonl = tmp_path / "faces.jsonl"
    code, _, err = cli(capsys, "process", str(video), "-p", "haar.faces", "--detections",
                       str(jsonl), "--max-frames", "40", "--set", "haar.faces.scale_factor=1.2")
    assert code == 0, err
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == 40
    with_face = [r for r in records if any(d["label"] == "face" for d in r["detections"])]
    assert len(with_face) >= 36  # one face throughout the clip
    x1, y1, x2, y2 = with_face[0]["detections"][0]["xyxy"]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert "40 frames" in err and "haar.faces p50" in err


def test_process_demo_and_image_folder(capsys, tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((30, 40, 3), 50 * i, np.uint8))
    (tmp_path / "readme.txt").write_text("x")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = cli(capsys, "process", "demo:frames=12,size=320x240", str(tmp_path), "-p",
                       "sobel", "--out", str(out_dir), "-q")
    assert code == 0, err
    assert frame_count(out_dir / "demo_processed.mp4") == 12
    assert frame_count(out_dir / f"{tmp_path.name}_processed.mp4") == 3
    assert "skipped 1 file(s)" in err and "readme.txt" in err


def test_make_video_sorts_naturally(capsys, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(frames / f"frame_{i}.png"), np.full((32, 48, 3), i * 20, np.uint8))
    out = tmp_path / "clip.mp4"
    code, _, err = cli(capsys, "make-video", str(frames), "--fps", "20", "--out", str(out))
    assert code == 0, err
    cap = cv2.VideoCapture(str(out))
    levels = [int(cap.read()[1].mean()) for _ in range(3)]
    assert abs(levels[0] - 20) <= 3 and abs(levels[1] - 40) <= 3 and abs(levels[2] - 200) <= 3
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(20)


def test_make_video_reads_through_the_folder_source(capsys, tmp_path, monkeypatch):
    import visionapp.core.sources as sources

    opened = []
    real = sources.open_folder

    def spy(path, fps=1.0):
        opened.append(path)
        return real(path, fps)

    monkeypatch.setattr(sources, "open_folder", spy)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), np.full((32, 48, 3), 50, np.uint8))
    (frames / "broken.png").write_bytes(b"\x89PNG garbage")
    (frames / "notes.txt").write_text("x")
    (frames / ".hidden").write_text("x")
    code, _, err = cli(capsys, "make-video", str(frames), "--out", str(tmp_path / "v.mp4"))
    assert code == 0 and opened == [frames] and frame_count(tmp_path / "v.mp4") == 1
    assert "skipped 2 file(s)" in err and "notes.txt" in err and "broken.png" in err


def test_process_options_become_one_batch_job(capsys, monkeypatch, tmp_path):
    import pickle

    from visionapp.cli import batch_run
    from visionapp.core.batch_job import BatchJob

    jobs = []
    monkeypatch.setattr(batch_run, "run_job", lambda job, interrupts: jobs.append(job) or 0)
    code, _, err = cli(capsys, "process", "demo:frames=3", "a.mp4", "-p", "canny", "--set",
                       "canny.low=60", "--every", "2", "--frames-dir", str(tmp_path),
                       "--camera-size", "640x480", "--no-text", "-q")
    assert code == 0, err
    (job,) = jobs
    assert isinstance(job, BatchJob) and job.inputs == ("demo:frames=3", "a.mp4")
    assert [p.name for p in job.processors()] == ["canny"] and job.processors()[0].low == 60
    assert (job.every, job.frames_dir, job.camera_wh, job.show_text, job.quiet) == (
        2, str(tmp_path), (640, 480), False, True)
    assert pickle.loads(pickle.dumps(job)) == job


def test_processors_lists_parameters(capsys):
    code, out, _ = cli(capsys, "processors")
    assert code == 0
    assert "canny" in out and "low: int [0..1000] = 100" in out
    assert "haar.faces" in out and "scale_factor" in out


# ----------------------------------------------------------------------------- bad input


def _bad(capsys, *args) -> str:
    code, _, err = cli(capsys, *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("visionapp: error:") and "Traceback" not in err
    return lines[-1]


def test_bad_inputs_each_give_one_clear_line(capsys, tiny_video, tmp_path):
    assert "does not exist" in _bad(capsys, "process", str(tmp_path / "none.mp4"), "-p", "canny")
    assert "choose one of" in _bad(capsys, "process", str(tiny_video), "-p", "cany")
    assert "no parameter 'lo'" in _bad(capsys, "process", str(tiny_video), "-p", "canny",
                                       "--set", "canny.lo=3")
    assert "out of range" in _bad(capsys, "process", str(tiny_video), "-p", "canny",
                                  "--set", "canny.low=-5")
    assert "not a valid int" in _bad(capsys, "process", str(tiny_video), "-p", "canny",
                                     "--set", "canny.low=abc")
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"keep me")
    assert "--force" in _bad(capsys, "process", str(tiny_video), "-p", "canny", "--out",
                             str(existing))
    assert existing.read_bytes() == b"keep me"
    assert "create it first" in _bad(capsys, "process", str(tiny_video), "--out",
                                     str(tmp_path / "no" / "dir" / "o.mp4"))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert "empty file" in _bad(capsys, "process", str(empty))
    no_images = tmp_path / "notimages"
    no_images.mkdir()
    (no_images / "a.txt").write_text("x")
    assert "contains no images" in _bad(capsys, "process", str(no_images))


def test_camera_index_that_does_not_open(capsys):
    t0 = time.perf_counter()
    assert "camera 63 could not be opened" in _bad(capsys, "process", "63", "-p", "canny")
    assert time.perf_counter() - t0 < 3.0


def test_truncated_video_keeps_playable_output(capsys, tmp_path):
    src = write_test_video(tmp_path / "cut.avi", frames=30, fourcc="MJPG")
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.mp4"
    line = _bad(capsys, "process", str(src), "-p", "canny", "--out", str(out), "-q")
    assert "stopped decoding after" in line and "of 30 frames" in line
    processed = int(line.split("after ")[1].split(" of")[0])
    assert frame_count(out) == processed > 0


def test_disk_write_failure_is_reported_and_leaves_no_file(capsys, tiny_video, tmp_path,
                                                           monkeypatch):
    import visionapp.core.outputs as outputs

    def full(self, text):
        raise outputs.write_failed(self.path, OSError(28, "No space left on device"))

    monkeypatch.setattr(outputs.AtomicTextWriter, "write", full)
    jsonl = tmp_path / "d.jsonl"
    line = _bad(capsys, "process", str(tiny_video), "-p", "canny", "--detections", str(jsonl),
                "--out", str(tmp_path / "o.mp4"), "-q")
    assert "No space left on device" in line
    assert not (tmp_path / "o.mp4").exists()


# ----------------------------------------------------------------------------- packaging


def _run(args, **kw):
    env = {**os.environ, **kw.pop("env", {})}
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, **kw)


def test_cli_imports_no_heavy_framework():
    code = ("import sys, visionapp, visionapp.cli; from visionapp.core import registry; "
            "[registry.load(n) for n in ('canny', 'haar.faces', 'template')]; "
            "heavy = [m for m in ('tensorflow', 'torch', 'mediapipe', 'ultralytics', 'PySide6') "
            "if m in sys.modules]; print(heavy)")
    result = _run([sys.executable, "-c", code])
    assert result.stdout.strip() == "[]", result.stderr


def test_output_cut_short_by_the_reader_is_not_an_error():
    """`visionapp processors | head -1`: the reader closes the pipe; no traceback, no error."""
    exe = str(Path(sys.executable).parent / "visionapp")
    child = subprocess.Popen([exe, "processors"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0 and first, err
    assert err == ""


def test_processors_command_is_fast():
    exe = str(Path(sys.executable).parent / "visionapp")
    _run([exe, "processors"])  # warm the file cache
    t0 = time.perf_counter()
    result = _run([exe, "processors"])
    assert result.returncode == 0 and time.perf_counter() - t0 < 1.0


def test_third_party_processor_through_entry_point(tmp_path):
    """A fake installed plug-in (package + dist-info with an entry point) used from the CLI."""
    site = tmp_path / "site"
    pkg = site / "acme_vision"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from dataclasses import dataclass\n"
        "from typing import ClassVar\n"
        "import numpy as np\n"
        "from visionapp.core.params import ProcessorBase, param\n"
        "from visionapp.core.types import Result\n\n"
        "@dataclass(frozen=True)\n"
        "class Invert(ProcessorBase):\n"
        "    '''Negative image.'''\n"
        "    name: ClassVar[str] = 'acme.invert'\n"
        "    amount: int = param(255, min=0, max=255)\n"
        "    def __call__(self, frame):\n"
        "        return Result(self.name, image=(self.amount - frame.image).astype(np.uint8))\n")
    dist = site / "acme_vision-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-vision\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[visionapp.processors]\nacme.invert = acme_vision:Invert\n")
    env = {"PYTHONPATH": str(site)}
    exe = str(Path(sys.executable).parent / "visionapp")
    listing = _run([exe, "processors"], env=env)
    assert "acme.invert" in listing.stdout and "amount: int [0..255]" in listing.stdout
    src = write_test_video(tmp_path / "v.mp4", frames=5)
    out = tmp_path / "inv.mp4"
    result = _run([exe, "process", str(src), "-p", "acme.invert", "--out", str(out), "-q",
                   "--no-text"], env=env)
    assert result.returncode == 0, result.stderr
    cap = cv2.VideoCapture(str(out))
    ok, image = cap.read()
    assert ok and image[100, 5].mean() > 200  # black background became white


def test_style_ruff_and_import_contract():
    bin_dir = Path(sys.executable).parent
    ruff = _run([str(bin_dir / "ruff"), "check", "visionapp", "tests", "benchmarks", "main.py"],
                cwd=REPO)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    lint = _run([str(bin_dir / "lint-imports")], cwd=REPO)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_csv_and_coco_exports_for_a_folder(capsys, shared, tmp_path):
    import csv

    folder = tmp_path / "faces"
    folder.mkdir()
    lena = cv2.imread(str(shared("data/images/lena.jpg")))
    cv2.imwrite(str(folder / "a_lena.png"), lena)
    cv2.imwrite(str(folder / "b_blank.png"), np.full((100, 120, 3), 128, np.uint8))
    code, _, err = cli(capsys, "process", str(folder), "-p", "haar.faces", "--csv",
                       str(tmp_path / "boxes.csv"), "--coco", str(tmp_path / "coco.json"), "-q")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "boxes.csv").open()))
    assert len(rows) == 1 and rows[0]["label"] == "face" and rows[0]["frame"] == "0"
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert [im["file_name"] for im in coco["images"]] == ["a_lena.png", "b_blank.png"]
    assert coco["images"][1] == {"id": 2, "file_name": "b_blank.png", "width": 120, "height": 100}
    (ann,) = coco["annotations"]
    x, y, w, h = ann["bbox"]
    x1, y1, x2, y2 = (float(rows[0][k]) for k in ("x1", "y1", "x2", "y2"))
    assert ann["image_id"] == 1 and (x, y, x + w, y + h) == pytest.approx((x1, y1, x2, y2))
    assert coco["categories"] == [{"id": 1, "name": "face", "supercategory": "haar.faces"}]
