"""Run the benchmarks (all, or the ones named) and write one table of their targets.

Each benchmark runs in its own process (``python -m benchmarks.NAME``); its output is shown as it
comes and kept in ``benchmarks/out/NAME.txt``. The report collects the ``== `` header lines
(what it ran on) and the ``[name] ... PASS|FAIL`` target lines (see ``benchmarks/_common.py``;
a line of another shape that ends in PASS or FAIL is taken too), and writes
``benchmarks/out/report.md`` and ``report.json``. ``--update`` re-runs the benchmarks named and
keeps the other runs of the last report (same machine only), so a long benchmark need not be
repeated to refresh one table. ``--compare`` puts the targets of two or more ``report.json``
files (from different machines) side by side.

    .venv/bin/python -m benchmarks.report                       # every benchmark
    .venv/bin/python -m benchmarks.report yolo_speed overhead   # a subset
    .venv/bin/python -m benchmarks.report yolo_speed --args yolo_speed="--frames 60"
    .venv/bin/python -m benchmarks.report --update batch_throughput   # refresh one, keep the rest
    .venv/bin/python -m benchmarks.report --compare a/report.json b/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import REPO, load_average, machine
from visionapp.core import hardware

OUT = REPO / "benchmarks" / "out"
TAGGED = re.compile(r"^\[(?P<name>[\w.\-]+)\] (?P<text>.*) (?P<verdict>PASS|FAIL)$")
UNTAGGED = re.compile(r"^(?P<text>.*\S) (?P<verdict>PASS|FAIL)$")


def available() -> list[str]:
    """Every benchmark module: benchmarks/*.py except private helpers and this report."""
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob("*.py")
                  if not p.stem.startswith("_") and p.stem != "report")


def parse(name: str, lines: list[str]) -> tuple[list[str], list[dict]]:
    """The header lines and the targets in a benchmark's output."""
    header = [line[3:] for line in lines if line.startswith("== ")]
    targets = []
    for line in lines:
        line = line.rstrip()
        if m := TAGGED.match(line):
            targets.append({"name": m["name"], "text": m["text"], "ok": m["verdict"] == "PASS"})
        elif (m := UNTAGGED.match(line)) and not line.startswith("=="):
            targets.append({"name": f"{name}#{len(targets) + 1}", "text": m["text"],
                            "ok": m["verdict"] == "PASS"})
    return header, targets


def run_one(name: str, extra: list[str]) -> dict:
    """Run one benchmark, echoing its output; what it printed, how long, and its targets."""
    OUT.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", f"benchmarks.{name}", *extra]
    print(f"\n### {' '.join(command[1:])}", flush=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    load_before, t0 = load_average(), time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"}
                          ) as proc, open(OUT / f"{name}.txt", "w", encoding="utf-8") as log:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
            lines.append(line.rstrip("\n"))
    header, targets = parse(name, lines)
    if proc.returncode != 0 and not targets:
        targets.append({"name": name, "text": f"exited with status {proc.returncode} before "
                                              "reporting a target", "ok": False})
    return {"benchmark": name, "args": extra, "started": started, "returncode": proc.returncode,
            "seconds": round(time.monotonic() - t0, 1), "load_before": round(load_before, 2),
            "load_after": round(load_average(), 2), "header": header, "targets": targets}


def markdown(report: dict) -> str:
    lines = [f"# visionapp benchmarks, {report['started']}", "", "```", report["machine"], "```",
             "", "| benchmark | target | result | verdict |", "|---|---|---|---|"]
    for run in report["runs"]:
        for t in run["targets"]:
            text = t["text"].replace("|", "\\|")
            lines.append(f"| {run['benchmark']} | {t['name']} | {text} | "
                         f"{'PASS' if t['ok'] else '**FAIL**'} |")
    lines += ["", "| benchmark | started | seconds | 1-min load before → after | exit |",
              "|---|---|---|---|---|"]
    for run in report["runs"]:
        lines.append(f"| {run['benchmark']} | {run.get('started', '')} | {run['seconds']:.0f} | "
                     f"{run['load_before']:.2f} → {run['load_after']:.2f} | {run['returncode']} |")
    for run in report["runs"]:
        backends = [h for h in run["header"] if h.startswith("backend ")]
        if backends:
            lines += ["", f"{run['benchmark']}:", *(f"- {h}" for h in backends)]
    passed = sum(t["ok"] for r in report["runs"] for t in r["targets"])
    total = sum(len(r["targets"]) for r in report["runs"])
    lines += ["", f"**{passed} of {total} targets PASS**", ""]
    return "\n".join(lines)


def compare(paths: list[Path]) -> str:
    """Targets of several report.json files side by side (one column per machine)."""
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    columns = [r["machine"].splitlines()[0].removeprefix("== cpu: ") for r in reports]
    rows: dict[str, list[str]] = {}
    for i, report in enumerate(reports):
        for run in report["runs"]:
            for t in run["targets"]:
                cell = f"{'PASS' if t['ok'] else '**FAIL**'}: {t['text']}".replace("|", "\\|")
                rows.setdefault(t["name"], [""] * len(reports))[i] = cell
    lines = ["| target | " + " | ".join(f"{p} ({c})" for p, c in zip(paths, columns,
                                                                     strict=True)) + " |",
             "|---|" + "---|" * len(reports)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    return "\n".join(lines) + "\n"


def cpu_signature() -> str:
    return hardware.signature(hardware.read_cpu())


def previous_runs(parser: argparse.ArgumentParser) -> list[dict]:
    """The runs of the last report, which must come from this machine (its CPU's signature)."""
    path = OUT / "report.json"
    if not path.is_file():
        return []
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        runs, cpu = previous["runs"], previous.get("cpu_signature")
    except (OSError, ValueError, KeyError) as exc:
        parser.error(f"--update: {path} cannot be read ({exc}); run without --update")
    if cpu != cpu_signature():
        parser.error(f"--update: {path} comes from another machine or an older report "
                     f"({cpu or 'no CPU signature'}); run without --update")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: "
                                                 f"{', '.join(available())})")
    parser.add_argument("--args", action="append", default=[], metavar="NAME=ARGS",
                        help="extra command-line arguments for one benchmark")
    parser.add_argument("--update", action="store_true",
                        help="keep the last report's other runs (from this machine)")
    parser.add_argument("--compare", nargs="+", type=Path, metavar="REPORT_JSON")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(args.compare), end="")
        return 0
    unknown = [n for n in args.names if n not in available()]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from "
                     f"{', '.join(available())}")
    extra = {}
    for item in args.args:
        name, sep, value = item.partition("=")
        if not sep or name not in available():
            parser.error(f"--args {item!r}: expected NAME=ARGS with NAME a benchmark")
        extra[name] = shlex.split(value)
    kept = previous_runs(parser) if args.update else []
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
              "cpu_signature": cpu_signature(),
              "runs": [run_one(n, extra.get(n, [])) for n in (args.names or available())]}
    fresh = {run["benchmark"] for run in report["runs"]}
    order = {name: i for i, name in enumerate(available())}
    report["runs"] = sorted([r for r in kept if r["benchmark"] not in fresh] + report["runs"],
                            key=lambda r: order.get(r["benchmark"], len(order)))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    table = markdown(report)
    (OUT / "report.md").write_text(table, encoding="utf-8")
    print("\n" + table)
    print(f"written: {OUT / 'report.md'}, {OUT / 'report.json'}")
    return 0 if all(t["ok"] for r in report["runs"] for t in r["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
