"""YOLO + ByteTrack + count.line across the road of the shared traffic video, through the CLI,
against a count made by watching the video.

How the expected numbers were established (by a person, not by this code): the 914 frames of
``slow_traffic_small.mp4`` (640x360, a telephoto view of a bridge, traffic towards the camera on
the left lanes, away on the right) were looked at as contact sheets of every 16th frame, cropped
to y 150..360 with the line y = 250 (x 250..639) drawn, and as a slit-scan image (the pixel row
y = 250 of every frame stacked over time), where each vehicle reaching the row starts a new
band. Vehicles whose ground contact (bottom edge) crosses the line:

- downwards ("in", towards the camera), 7: the blue Subaru (~frame 195), the dark minivan behind
  it (~250), the tan Prius (~395), the white GMC pickup and the blue-lettered Ford pickup beside
  it (~430-450, the Ford partly hidden by the minivan), the black Dodge SUV (~745) and the green
  sedan (~870). The white Camry is already past the line in frame 0 and is not a crossing.
- upwards ("out"), 2: the silver SUV that comes in at the right edge below the line and drives
  away (~250) and the light car after it (~340). The motorcycle and the white F-150 enter the
  frame above the line and only drive away from it.
"""

from __future__ import annotations

import json

import pytest

from visionapp.cli import main

EXPECTED_IN, EXPECTED_OUT = 7, 2


@pytest.mark.slow
@pytest.mark.timeout(1500)  # 914 frames of YOLO at 640 px: about a minute on a free 2-core CPU
def test_cars_crossing_the_road_line_match_the_watched_count(shared, tmp_path, capsys):
    video = shared("data/videos/slow_traffic_small.mp4")
    jsonl = tmp_path / "counts.jsonl"
    code = main(["process", str(video), "-p", "yolo.detect", "-p", "count.line",
                 "--set", "yolo.detect.backend=pytorch", "--set", "yolo.detect.tracker=bytetrack",
                 "--set", "yolo.detect.classes=car, truck, bus, motorcycle",
                 "--set", "count.line.line=250,250 639,250", "--detections", str(jsonl), "-q"])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == 914
    final = records[-1]["results"][1]["values"]
    assert abs(final["in"] - EXPECTED_IN) <= 1, final
    assert abs(final["out"] - EXPECTED_OUT) <= 1, final
    events = [e for r in records for e in r["results"][1]["values"]["events"]]
    assert len(events) == final["in"] + final["out"]
    # Each track counts at most once per direction.
    keys = [(e["track_id"], e["direction"]) for e in events]
    assert len(keys) == len(set(keys))
