"""``visionapp process --cluster`` on a local Ray instance (2 CPUs, no dashboard), started once
for this module: outputs identical to a local run, a corrupt clip failing alone, a worker that
dies mid-file, Ctrl-C, and the one-line errors for a missing Ray or an unreachable cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI, write_test_video
from visionapp.cli import main
from visionapp.cli.cluster_worker import DIE_HOOK_ENV
from visionapp.core.errors import BadInput

FACES = "data/videos/selfie_segmentation_web.mp4"


@pytest.fixture(scope="module")
def ray_cluster():
    if IN_CI:  # the cluster extra is part of the full setup: missing, it is a failure
        import ray
    else:
        ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture
def clips(tmp_path, shared):
    """Three short clips: a real video with faces, a link to it, and a generated one."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(shared(FACES).read_bytes())
    (folder / "b.mp4").symlink_to(folder / "a.mp4")  # records name the link, as locally
    write_test_video(folder / "c.mp4", frames=12)
    return [str(folder / n) for n in ("a.mp4", "b.mp4", "c.mp4")]


def outputs(tmp_path: Path, name: str) -> list[str]:
    folder = tmp_path / name
    folder.mkdir()
    return ["--out", str(folder), "--detections", str(folder / "all.jsonl"),
            "--csv", str(folder / "all.csv"), "--coco", str(folder / "all.json")]


CHAIN = ["-p", "haar.faces", "--max-frames", "8", "-q"]


def same_files(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_cluster_outputs_are_the_local_outputs(ray_cluster, clips, tmp_path):
    assert main(["process", *clips, *CHAIN, *outputs(tmp_path, "local")]) == 0
    assert main(["process", *clips, *CHAIN, *outputs(tmp_path, "ray"), "--cluster"]) == 0
    local, ray = tmp_path / "local", tmp_path / "ray"
    records = [json.loads(line) for line in (local / "all.jsonl").read_text().splitlines()]
    assert len(records) == 8 + 8 + 8 and any(r["detections"] for r in records)
    same_files(local, ray, ["all.jsonl", "all.csv", "all.json", "a_processed.mp4",
                            "b_processed.mp4", "c_processed.mp4"])
    summary = json.loads((ray / "summary.json").read_text())
    assert [f["status"] for f in summary["files"]] == ["done"] * 3
    assert [f["frames"] for f in summary["files"]] == [8, 8, 8]
    assert len({f["worker"] for f in summary["files"]}) >= 1


def test_corrupt_clip_fails_alone(ray_cluster, clips, tmp_path, capsys):
    broken = Path(clips[0]).with_name("broken.mp4")
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    inputs = [clips[2], str(broken), clips[0]]
    code = main(["process", *inputs, *CHAIN, *outputs(tmp_path, "ray"), "--cluster"])
    err = capsys.readouterr().err
    assert code == 2
    assert "1 of 3 input(s) failed" in err and str(broken) in err
    folder = tmp_path / "ray"
    assert (folder / "c_processed.mp4").exists() and (folder / "a_processed.mp4").exists()
    assert not (folder / "broken_processed.mp4").exists()
    sources = {json.loads(line)["source"] for line in (folder / "all.jsonl").open()}
    assert sources == {"c.mp4", "a.mp4"}
    summary = json.loads((folder / "summary.json").read_text())
    assert [f["status"] for f in summary["files"]] == ["done", "failed", "done"]


def test_worker_dying_mid_file_is_retried_and_changes_nothing(ray_cluster, clips, tmp_path,
                                                                monkeypatch, capsys):
    assert main(["process", *clips, *CHAIN, *outputs(tmp_path, "local")]) == 0
    marker = tmp_path / "died"
    monkeypatch.setenv(DIE_HOOK_ENV, f"b:7:{marker}")
    assert main(["process", *clips, *CHAIN, *outputs(tmp_path, "ray"), "--cluster"]) == 0
    assert marker.exists()  # the worker did die at frame 7 of b.mp4
    assert "a worker died while processing" in capsys.readouterr().err
    local, ray = tmp_path / "local", tmp_path / "ray"
    same_files(local, ray, ["all.jsonl", "all.csv", "all.json", "b_processed.mp4"])
    assert not [p.name for p in ray.iterdir() if "visionapp-tmp" in p.name]
    summary = json.loads((ray / "summary.json").read_text())
    assert [f["attempts"] for f in summary["files"]] == [1, 2, 1]


def test_ctrl_c_keeps_complete_files_and_no_half_outputs(ray_cluster, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = []
    for name, frames in (("s0", 5), ("long1", 3000), ("s2", 5), ("long3", 3000)):
        inputs.append(str(write_test_video(folder / f"{name}.mp4", frames=frames)))
    out = tmp_path / "out"
    done_video = out / "s2_processed.mp4"

    def interrupt_when_s2_is_done() -> None:
        t0 = time.monotonic()
        while not done_video.exists() and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_s2_is_done, daemon=True).start()
    code = main(["process", *inputs, "-p", "canny", "-q", *outputs(tmp_path, "out"),
                 "--cluster"])
    err = capsys.readouterr().err
    assert code == 128 + signal.SIGINT, err
    assert "complete: " in err and "stopped, nothing kept: " in err
    names = sorted(p.name for p in out.iterdir())
    assert "s0_processed.mp4" in names and "s2_processed.mp4" in names
    assert not any(n.startswith("long") for n in names), names
    assert not [n for n in names if "visionapp-tmp" in n], names
    assert "all.jsonl" not in names and "all.partial.jsonl" in names
    sources = {json.loads(line)["source"] for line in (out / "all.partial.jsonl").open()}
    assert sources == {"s0.mp4", "s2.mp4"}


def test_sigterm_with_its_own_ray_instance_stops_cleanly(tmp_path):
    """A run that starts Ray itself (as from a terminal) keeps its signal handling: SIGTERM
    stops it cleanly instead of Ray's handler killing it."""
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = [str(write_test_video(folder / f"{name}.mp4", frames=frames))
              for name, frames in (("s0", 5), ("long1", 20000))]
    out = tmp_path / "out"
    out.mkdir()
    args = ["process", *inputs, "-p", "canny", "-q", "--out", str(out), "--detections",
            str(out / "all.jsonl"), "--cluster", "--workers", "2"]
    run = "import sys; from visionapp.cli import main; sys.exit(main(sys.argv[1:]))"
    child = subprocess.Popen([sys.executable, "-c", run, *args], stderr=subprocess.PIPE,
                             text=True)
    t0 = time.monotonic()
    while not (out / "s0_processed.mp4").exists():
        assert child.poll() is None and time.monotonic() - t0 < 90, child.stderr.read()
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    err = child.stderr.read()
    assert child.wait(timeout=90) == 128 + signal.SIGTERM, err
    assert "complete: " in err and "long1" in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["all.partial.jsonl", "s0_processed.mp4", "summary.partial.json"], names


def _visionapp(*args: str, code: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    run = code or "import sys; from visionapp.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", run, *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_unreachable_cluster_is_one_line(tiny_video):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    result = _visionapp("process", str(tiny_video), "-p", "canny", "-q", "--cluster",
                        f"ray://127.0.0.1:{port}")
    assert result.returncode == 2 and time.monotonic() - t0 < 30
    assert result.stderr.startswith("visionapp: error: cannot reach the Ray cluster at")
    assert len(result.stderr.strip().splitlines()) == 1


def test_auto_without_a_running_cluster_is_one_line(monkeypatch):
    """Ray's "auto" finds any cluster running on the machine (this module's own, too), so the
    answer of a machine without one is played by ray.init, as Ray gives it."""
    from visionapp.cli import cluster_run

    class NoCluster:
        @staticmethod
        def is_initialized():
            return False

        @staticmethod
        def init(**_):
            raise ConnectionError("Could not find any running Ray instance. Please specify "
                                  "the one to connect to by setting `--address` flag or "
                                  "`RAY_ADDRESS` environment variable.")

    monkeypatch.setattr(cluster_run, "_import_ray", lambda: NoCluster)
    with pytest.raises(BadInput) as caught:
        cluster_run.connect("auto")
    assert str(caught.value) == ("--cluster auto found no running Ray cluster on this machine; "
                                 "start one with 'ray start --head', or use --cluster local")


def test_missing_ray_is_one_line_and_local_runs_never_import_it(tiny_video, tmp_path):
    hide = ("import sys; sys.modules['ray'] = None; from visionapp.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = _visionapp("process", str(tiny_video), "-p", "canny", "-q", "--cluster", code=hide)
    assert result.returncode == 2
    assert result.stderr.strip() == ("visionapp: error: --cluster needs Ray, which is not "
                                     "installed: pip install 'visionapp[cluster]' (or run "
                                     "without --cluster)")
    check = ("import sys; from visionapp.cli import main; code = main(sys.argv[1:]); "
             "print('ray' in sys.modules); sys.exit(code)")
    result = _visionapp("process", str(tiny_video), "-p", "canny", "-q", "--detections",
                        str(tmp_path / "d.jsonl"), code=check)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


def test_bad_cluster_address_is_refused_before_any_work(tiny_video, capsys):
    assert main(["process", str(tiny_video), "-p", "canny", "--cluster", "10.0.0.1"]) == 2
    assert "give local" in capsys.readouterr().err
