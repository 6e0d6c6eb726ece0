"""Counting in batch runs: crossings and zone events in the JSON lines (valid records), the
events table beside --csv, the heat map PNG beside the output, totals printed per input, and
nothing existing overwritten without --force."""

from __future__ import annotations

import csv
import json

import jsonschema
import pytest

from tests.conftest import REPO
from visionapp.cli import main
from visionapp.core import registry

DEMO = "demo:size=640x360,frames=30"
LINE = "--set=count.line.line=100,200 500,200"


@pytest.fixture(autouse=True)
def _movers(monkeypatch):
    monkeypatch.setitem(registry.BUILTINS, "test.movers", "tests.processors.solution_tracks:Movers")
    registry.entries.cache_clear()
    yield
    registry.entries.cache_clear()


def _schema():
    return json.loads((REPO / "resources" / "record.schema.json").read_text(encoding="utf-8"))


def test_records_events_table_heatmap_and_summary(tmp_path, capsys):
    jsonl, table, video = tmp_path / "d.jsonl", tmp_path / "boxes.csv", tmp_path / "out.mp4"
    code = main(["process", DEMO, "-p", "test.movers", "-p", "count.line", "-p", "count.zone",
                 "-p", "heatmap", LINE, "--set=count.zone.zones=150,150 450,150 450,250 150,250",
                 "--detections", str(jsonl), "--csv", str(table), "--out", str(video)])
    err = capsys.readouterr().err
    assert code == 0, err
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    validator = jsonschema.Draft202012Validator(_schema())
    for record in records:
        assert not list(validator.iter_errors(record)), record
    crossings = [(r["frame"], e["track_id"], e["direction"]) for r in records
                 for e in r["results"][1]["values"]["events"]]
    # Track 1's anchor reaches y = 200 at frame 10 and 210 (past the 6 px band) at frame 11.
    assert crossings == [(11, 1, "in"), (16, 2, "in")]
    assert records[-1]["results"][1]["values"]["in_by_class"] == {"car": 2}
    rows = list(csv.DictReader((tmp_path / "boxes_events.csv").open(encoding="utf-8")))
    assert [(r["processor"], r["event"], r["track_id"]) for r in rows
            if r["processor"] == "count.line"] == [("count.line", "in", "1"),
                                                   ("count.line", "in", "2")]
    zone = [r for r in rows if r["processor"] == "count.zone"]
    # The anchor is 4 px inside the zone (y 150..250) from y 154 and 4 px out from y 254.
    assert [(r["frame"], r["event"], r["track_id"]) for r in zone] == [
        ("6", "enter", "1"), ("11", "enter", "2"), ("16", "exit", "1"), ("21", "exit", "2")]
    stamp = {(r["event"], r["track_id"]): int(r["timestamp_ms"]) for r in zone}
    for track in ("1", "2"):
        exit_row = next(r for r in zone if r["event"] == "exit" and r["track_id"] == track)
        assert float(exit_row["dwell_s"]) == pytest.approx(
            (stamp["exit", track] - stamp["enter", track]) / 1000, abs=1e-3)
    assert (tmp_path / "out_heatmap.png").stat().st_size > 0
    assert "count.line: in 2 (car 2), out 0" in err
    assert "count.zone: zone 1: 2 entered (car 2)" in err


def test_existing_extra_outputs_are_refused_without_force(tmp_path, capsys):
    video = tmp_path / "out.mp4"
    (tmp_path / "out_heatmap.png").write_bytes(b"mine")
    code = main(["process", DEMO, "-p", "test.movers", "-p", "heatmap", "--out", str(video),
                 "-q"])
    assert code == 2
    assert "out_heatmap.png' already exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "out_heatmap.png").read_bytes() == b"mine"
    assert not video.exists()
    (tmp_path / "b_events.csv").write_text("mine")
    code = main(["process", DEMO, "-p", "test.movers", "-p", "count.line", "--csv",
                 str(tmp_path / "b.csv"), "-q"])
    assert code == 2 and "b_events.csv' already exists" in capsys.readouterr().err


def test_bad_geometry_is_one_clear_line(tmp_path, capsys):
    assert main(["process", DEMO, "-p", "count.line", "--set=count.line.line=5,5 5,5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["visionapp: error: count.line.line='5,5 5,5' is not a line of two different "
                   "points; give x1,y1 x2,y2 in pixels"]
    assert main(["process", DEMO, "-p", "count.zone",
                 "--set=count.zone.zones=0,0 100,100 100,0 0,100", "-q"]) == 2
    assert "is not a list of simple polygons" in capsys.readouterr().err
    assert main(["process", "demo:size=320x240,frames=3", "-p", "count.line",
                 "--set=count.line.line=10,10 600,300", "-q"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "outside this 320x240 frame" in line and "redraw it" in line
