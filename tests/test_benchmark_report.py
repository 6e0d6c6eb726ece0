"""benchmarks/report.py: what it collects from a benchmark's output and the table it writes."""

from __future__ import annotations

import json

import pytest

from benchmarks import report

OUTPUT = """== benchmark: demo (2026-11-30 03:00:00 UTC)
== cpu: Some CPU, 2 logical CPUs
== backend openvino: compiled to f32
frames: 914
[demo.speed] 12.0 ms vs 30.0 ms: 2.50x (target >= 2.5x) PASS
[demo.boxes] finds 85.0% of the boxes (target >= 90%) FAIL
an older line without a tag (target <= 3) PASS
"""


def test_parse_keeps_header_lines_and_every_target():
    header, targets = report.parse("demo", OUTPUT.splitlines())
    assert header == ["benchmark: demo (2026-11-30 03:00:00 UTC)", "cpu: Some CPU, 2 logical CPUs",
                      "backend openvino: compiled to f32"]
    assert [(t["name"], t["ok"]) for t in targets] == [
        ("demo.speed", True), ("demo.boxes", False), ("demo#3", True)]
    assert targets[1]["text"] == "finds 85.0% of the boxes (target >= 90%)"


def test_markdown_marks_failures_and_counts_passes():
    header, targets = report.parse("demo", OUTPUT.splitlines())
    run = {"benchmark": "demo", "args": [], "returncode": 1, "seconds": 3.0,
           "load_before": 0.5, "load_after": 0.7, "header": header, "targets": targets}
    table = report.markdown({"started": "now", "machine": "== cpu: Some CPU", "runs": [run]})
    assert "| demo | demo.boxes | finds 85.0% of the boxes (target >= 90%) | **FAIL** |" in table
    assert "**2 of 3 targets PASS**" in table
    assert "- backend openvino: compiled to f32" in table


def test_compare_puts_two_machines_side_by_side(tmp_path):
    paths = []
    for i, ok in enumerate((True, False)):
        data = {"machine": f"== cpu: CPU {i}\n== isa: x", "runs": [{"targets": [
            {"name": "demo.speed", "text": f"{2 + i}x", "ok": ok}]}]}
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(data))
    table = report.compare(paths)
    assert "CPU 0" in table and "CPU 1" in table
    assert "| demo.speed | PASS: 2x | **FAIL**: 3x |" in table


def test_an_unknown_benchmark_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["no_such_benchmark"])
    assert exit_info.value.code == 2
    assert "unknown benchmark no_such_benchmark" in capsys.readouterr().err
    assert "yolo_speed" in report.available() and "report" not in report.available()


def _run(name: str, ok: bool) -> dict:
    return {"benchmark": name, "args": [], "started": "then", "returncode": 0, "seconds": 1.0,
            "load_before": 0.1, "load_after": 0.1, "header": [],
            "targets": [{"name": f"{name}.x", "text": "measured", "ok": ok}]}


def test_update_reruns_the_named_benchmarks_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "OUT", tmp_path)
    monkeypatch.setattr(report, "run_one", lambda name, extra: _run(name, True))
    old = {"machine": "== cpu: this one", "cpu_signature": report.cpu_signature(),
           "runs": [_run("batch_throughput", False), _run("yolo_speed", True)]}
    (tmp_path / "report.json").write_text(json.dumps(old))
    assert report.main(["--update", "batch_throughput"]) == 0  # the failing run was replaced
    runs = json.loads((tmp_path / "report.json").read_text())["runs"]
    assert [(r["benchmark"], r["targets"][0]["ok"]) for r in runs] == [
        ("batch_throughput", True), ("yolo_speed", True)]
    assert "**2 of 2 targets PASS**" in (tmp_path / "report.md").read_text()


def test_update_refuses_a_report_from_another_machine(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(report, "OUT", tmp_path)
    monkeypatch.setattr(report, "run_one", lambda name, extra: _run(name, True))
    other = {"machine": "== cpu: another", "cpu_signature": "Other CPU|64|avx2",
             "runs": [_run("yolo_speed", True)]}
    (tmp_path / "report.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--update", "batch_throughput"])
    assert exit_info.value.code == 2
    assert "comes from another machine" in capsys.readouterr().err
