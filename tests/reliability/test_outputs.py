"""Outputs are never broken and never lost: full and read-only disks, Ctrl-C and SIGTERM, killed
runs, outputs that would overwrite each other or an input, and nonsense numbers.

The full-disk tests use a real, small tmpfs (root can mount one; CI runs as root). Signals are sent
to a real ``visionapp`` process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import IN_CI, frame_count, write_test_video
from visionapp.cli import main

EXE = str(Path(sys.executable).parent / "visionapp")


# ----------------------------------------------------------------------------- helpers


def cli(capfd, *args) -> tuple[int, str]:
    """Run the CLI in this process; returns (exit status, stderr incl. OpenCV's own lines)."""
    code = main([str(a) for a in args])
    return code, capfd.readouterr().err


def one_error_line(code: int, err: str) -> str:
    """Exit 2, no traceback, and exactly one line from visionapp: the error."""
    assert code == 2, err
    assert "Traceback" not in err, err
    ours = [line for line in err.splitlines() if line.startswith("visionapp:")]
    assert len(ours) == 1 and ours[0].startswith("visionapp: error: "), err
    return ours[0]


def leftovers(folder: Path) -> list[str]:
    """Hidden (temporary) files in a folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _default_signals() -> None:
    # A child of a non-interactive shell may inherit SIGINT ignored; a terminal user's is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def start():
    """Start ``visionapp ARGS`` in a folder; any process still running at the end is killed."""
    started: list[subprocess.Popen] = []

    def run(*args, cwd: Path) -> subprocess.Popen:
        proc = subprocess.Popen([EXE, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_for_growing_temp(folder: Path, prefix: str, proc: subprocess.Popen,
                          min_bytes: int = 20_000) -> None:
    """Until a hidden temporary starting with ``prefix`` holds ``min_bytes`` (mid-run)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        for p in folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if p.name.startswith(prefix) and p.stat().st_size >= min_bytes:
                    return
        time.sleep(0.02)
    pytest.fail("the run never started writing")


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tmpfs of the given size in KiB and return it; unmounted afterwards."""
    mounted = []

    def mount(size_kib: int, read_only: bool = False) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        options = f"size={size_kib}k" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            reason = (f"cannot mount a tmpfs ({result.stderr.strip() or 'mount failed'}); the "
                      "full-disk tests need root or CAP_SYS_ADMIN")
            if IN_CI:
                pytest.fail(reason + " (CI=true: these tests must run)")
            pytest.skip(reason)
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave_bytes: int) -> None:
    st = os.statvfs(disk)
    (disk / "filler.bin").write_bytes(bytes(max(0, st.f_bavail * st.f_frsize - leave_bytes)))


def good_video(path: Path, frames: int = 5) -> bytes:
    write_test_video(path, frames=frames)
    return path.read_bytes()


# ----------------------------------------------------------------------------- full disk


@pytest.mark.parametrize("frames", [20, 150])  # found when verifying / while encoding
def test_full_disk_video_is_an_error_and_leaves_nothing(capfd, tmpfs, frames):
    disk = tmpfs(160)
    code, err = cli(capfd, "process", f"demo:frames={frames}", "-p", "canny", "--out",
                    disk / "x.mp4", "-q")
    line = one_error_line(code, err)
    assert str(disk / "x.mp4") in line and "No space left on device" in line
    assert sorted(p.name for p in disk.iterdir()) == []


def test_full_disk_force_leaves_the_existing_video_byte_identical(capfd, tmpfs):
    disk = tmpfs(300)
    old = good_video(disk / "x.mp4")
    code, err = cli(capfd, "process", "demo:frames=150", "-p", "canny", "--out",
                    disk / "x.mp4", "--force", "-q")
    line = one_error_line(code, err)
    assert "No space left on device" in line and "'x.mp4' itself is unchanged" in line
    assert (disk / "x.mp4").read_bytes() == old
    assert sorted(p.name for p in disk.iterdir()) == ["x.mp4"]


def test_disk_already_full_names_the_disk_not_the_codec(capfd, tmpfs):
    disk = tmpfs(300)
    old = good_video(disk / "x.mp4")
    fill(disk, leave_bytes=0)  # the encoder cannot even write its header
    code, err = cli(capfd, "process", "demo:frames=5", "--out", disk / "x.mp4", "--force", "-q")
    line = one_error_line(code, err)
    assert "No space left on device" in line and "codec" not in line
    assert (disk / "x.mp4").read_bytes() == old
    assert sorted(p.name for p in disk.iterdir()) == ["filler.bin", "x.mp4"]


def test_full_disk_make_video(capfd, tmpfs, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):  # noise does not compress: 40 frames need far more than the disk has
        cv2.imwrite(str(frames / f"f_{i}.png"), rng.integers(0, 255, (120, 160, 3), np.uint8))
    disk = tmpfs(200)
    old = good_video(disk / "clip.mp4")
    for extra in ([], ["--force"]):
        out = disk / ("new.mp4" if not extra else "clip.mp4")
        code, err = cli(capfd, "make-video", frames, "--out", out, *extra)
        assert "No space left on device" in one_error_line(code, err)
        assert sorted(p.name for p in disk.iterdir()) == ["clip.mp4"]
        assert (disk / "clip.mp4").read_bytes() == old


def test_full_disk_text_and_image_outputs(capfd, tmpfs):
    disk = tmpfs(512)
    (disk / "d.jsonl").write_text('{"old": 1}\n')
    (disk / "frames").mkdir()
    fill(disk, 0)
    cases = [("--detections", disk / "d.jsonl"), ("--csv", disk / "boxes.csv"),
             ("--coco", disk / "coco.json"), ("--frames-dir", disk / "frames")]
    for option, path in cases:
        code, err = cli(capfd, "process", "demo:frames=100,size=320x240", "-p", "canny",
                        option, path, "--force", "-q")
        line = one_error_line(code, err)
        assert "No space left on device" in line and str(disk) in line
        assert (disk / "d.jsonl").read_text() == '{"old": 1}\n'
        assert sorted(p.name for p in disk.iterdir()) == ["d.jsonl", "filler.bin", "frames"]
        assert list((disk / "frames").iterdir()) == []


def test_read_only_folder_is_one_line(capfd, tmpfs):
    disk = tmpfs(64, read_only=True)
    for option, path in (("--out", disk / "x.mp4"), ("--detections", disk / "d.jsonl"),
                         ("--frames-dir", disk / "frames")):
        code, err = cli(capfd, "process", "demo:frames=3", "-p", "canny", option, path, "-q")
        line = one_error_line(code, err)
        assert "Read-only file system" in line and str(disk) in line
    code, err = cli(capfd, "make-video", disk, "--out", disk / "v.mp4")
    one_error_line(code, err)


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_force_run_never_replaces_and_keeps_partial(tmp_path, signum, start):
    old_video = good_video(tmp_path / "out.mp4", frames=30)
    (tmp_path / "d.jsonl").write_text('{"finished": "earlier run"}\n')
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "demo_000000.png"), np.zeros((8, 8, 3), np.uint8))
    old_image = (frames / "demo_000000.png").read_bytes()
    proc = start("process", "demo:frames=100000", "-p", "canny", "--out", "out.mp4",
                 "--detections", "d.jsonl", "--frames-dir", "frames", "--force", "-q",
                 cwd=tmp_path)
    wait_for_growing_temp(tmp_path, ".out.mp4", proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    # Nothing that existed was touched.
    assert (tmp_path / "out.mp4").read_bytes() == old_video
    assert (tmp_path / "d.jsonl").read_text() == '{"finished": "earlier run"}\n'
    assert (frames / "demo_000000.png").read_bytes() == old_image
    # The work done is kept under names that say so, complete up to the same frame.
    kept = frame_count(tmp_path / "out.partial.mp4")
    assert kept > 0
    assert len((tmp_path / "d.partial.jsonl").read_text().splitlines()) == kept
    assert len(list(frames.glob("demo_*.partial.png"))) == kept
    last = err.strip().splitlines()[-1]
    assert last.startswith("visionapp: interrupted") and f"after {kept} frame(s)" in last
    assert "out.partial.mp4" in last and "d.partial.jsonl" in last
    assert leftovers(tmp_path) == [] and leftovers(frames) == []


def test_ctrl_c_stops_the_whole_batch_and_says_what_was_kept(tmp_path, start):
    out = tmp_path / "out"
    out.mkdir()
    proc = start("process", "demo:frames=10,size=320x240", "demo:frames=100000",
                 "demo:frames=10,size=320x240", "-p", "canny", "--out", out, "-q", cwd=tmp_path)
    wait_for_growing_temp(out, ".demo_2_processed.mp4", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert frame_count(out / "demo_processed.mp4") == 10
    assert frame_count(out / "demo_2_processed.partial.mp4") > 0
    assert sorted(p.name for p in out.iterdir()) == ["demo_2_processed.partial.mp4",
                                                     "demo_processed.mp4"]
    last = err.strip().splitlines()[-1]
    assert "complete: " in last and "demo_processed.mp4" in last
    assert "not started: demo:frames=10,size=320x240" in last


def test_second_ctrl_c_quits_at_once_even_mid_frame(tmp_path, start):
    """One frame takes many seconds here (Haar at 1080p, finest pyramid): the first Ctrl-C is
    answered at once, the second quits at once, removing the unfinished files."""
    (tmp_path / "d.jsonl").write_text("earlier run\n")
    proc = start("process", "demo:frames=5,size=1920x1080", "-p", "haar.faces", "--set",
                 "haar.faces.scale_factor=1.01", "--set", "haar.faces.min_size=10",
                 "--detections", "d.jsonl", "--out", "o.mp4", "--force", "-q", cwd=tmp_path)
    wait_for_growing_temp(tmp_path, ".d.jsonl", proc, min_bytes=0)  # made before frame one
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert "stopping after the current frame" in proc.stderr.readline()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 5 and proc.returncode == 130, err
    assert "Traceback" not in err and "again: quit at once" in err.splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]
    assert (tmp_path / "d.jsonl").read_text() == "earlier run\n"


def _caught_signals(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
    return 0


def wait_for_handlers(proc: subprocess.Popen) -> float:
    """Seconds from start until visionapp's handlers are in place (SIGTERM caught: Python alone
    leaves it at the default). Before that only Python's own start-up runs, no visionapp code."""
    t0 = time.monotonic()
    term_bit = 1 << (signal.SIGTERM - 1)
    while not _caught_signals(proc.pid) & term_bit:
        assert proc.poll() is None and time.monotonic() - t0 < 10, "handlers never installed"
        time.sleep(0.001)
    return time.monotonic() - t0


@pytest.mark.parametrize("delay_s", [0.0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_start_up_never_prints_a_traceback(tmp_path, delay_s, signum, start):
    """From the moment visionapp's code runs — importing OpenCV, loading the chain, opening the
    source, the first frames — a signal ends the run with one line, never a traceback."""
    proc = start("process", "demo:frames=100000", "-p", "canny", "--out", "o.mp4",
                 "--detections", "d.jsonl", "-q", cwd=tmp_path)
    wait_for_handlers(proc)
    time.sleep(delay_s)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "Error" not in err, err
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1].startswith("visionapp: interrupted by"), err
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "d.jsonl").exists()
    assert leftovers(tmp_path) == []


def test_nothing_heavy_is_imported_before_the_handlers_are_installed():
    """The console script imports visionapp.cli, then main() installs the handlers: that import
    must stay light, so the window in which Python's own KeyboardInterrupt could strike is the
    interpreter's start-up alone (about 30 ms here), not OpenCV's import."""
    code = ("import sys, visionapp.cli; "
            "print(sorted(m for m in ('cv2', 'numpy', 'tqdm', 'visionapp.core.registry') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_killed_run_leftovers_are_removed_by_the_next_run(capfd, tmp_path, start):
    proc = start("process", "demo:frames=100000", "-p", "canny", "--out", "out.mp4",
                 "--detections", "d.jsonl", "-q", cwd=tmp_path)
    wait_for_growing_temp(tmp_path, ".out.mp4", proc)
    proc.kill()
    proc.wait()
    stale = leftovers(tmp_path)
    assert len(stale) == 2  # the video's and the JSON lines' temporaries
    from visionapp.core.outputs import AtomicFile

    live = AtomicFile(tmp_path / "busy.mp4")  # a live process's temporary is not touched
    code, err = cli(capfd, "process", "demo:frames=3,size=160x120", "--out",
                    tmp_path / "next.mp4", "-q")
    assert code == 0, err
    assert f"removed 2 temporary file(s) left in {tmp_path}" in err
    assert leftovers(tmp_path) == [live.tmp.name]
    live.discard()
    assert frame_count(tmp_path / "next.mp4") == 3


# ----------------------------------------------------------------------------- names


def test_inputs_with_one_name_get_their_own_outputs(capfd, tmp_path):
    for folder, n in (("a", 5), ("b", 7)):
        (tmp_path / folder).mkdir()
        write_test_video(tmp_path / folder / "clip.mp4", frames=n)
    out = tmp_path / "out"
    out.mkdir()
    code, err = cli(capfd, "process", tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4",
                    "demo:frames=5,size=160x120", "demo:frames=3,size=160x120", "--out", out,
                    "--frames-dir", tmp_path / "frames", "--every", "5", "-q")
    assert code == 0, err
    assert frame_count(out / "clip_processed.mp4") == 5
    assert frame_count(out / "clip_2_processed.mp4") == 7
    assert frame_count(out / "demo_processed.mp4") == 5
    assert frame_count(out / "demo_2_processed.mp4") == 3
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "clip_000000.png", "clip_2_000000.png", "clip_2_000005.png", "demo_000000.png",
        "demo_2_000000.png"]
    assert f"{tmp_path / 'b' / 'clip.mp4'} → {out / 'clip_2_processed.mp4'}" in err


def test_an_output_never_replaces_another_output_or_an_input(capfd, tiny_video, tmp_path):
    original = tiny_video.read_bytes()
    link = tmp_path / "link.mp4"
    link.symlink_to(tiny_video)
    for args in (["--out", tiny_video, "--force"], ["--out", link, "--force"],
                 ["--detections", tiny_video, "--force"]):
        code, err = cli(capfd, "process", tiny_video, "-p", "canny", *args, "-q")
        assert "is the input" in one_error_line(code, err)
    assert tiny_video.read_bytes() == original
    video = tmp_path / "x.mp4"
    code, err = cli(capfd, "process", tiny_video, "--out", video, "--detections", video, "-q")
    assert "are both" in one_error_line(code, err)
    assert not video.exists()
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((20, 20, 3), np.uint8))
    code, err = cli(capfd, "process", folder, "--frames-dir", folder, "--force", "-q")
    assert "is the input" in one_error_line(code, err)
    assert sorted(p.name for p in folder.iterdir()) == ["a.png"]


def test_a_name_that_appears_during_the_run_is_not_replaced(tmp_path):
    from visionapp.core.outputs import AtomicFile, temp_path

    target = tmp_path / "x.jsonl"
    file = AtomicFile(target)
    file.tmp.write_text("new")
    target.write_text("made meanwhile")
    assert file.finish() == tmp_path / "x.new.jsonl"
    assert target.read_text() == "made meanwhile"
    (tmp_path / "y.partial.mp4").write_text("earlier partial")
    file = AtomicFile(tmp_path / "y.mp4")
    assert file.finish(partial=True) == tmp_path / "y.partial-2.mp4"
    assert (tmp_path / "y.partial.mp4").read_text() == "earlier partial"
    assert temp_path(target).name.startswith(".x.jsonl.") and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- numbers and codecs


@pytest.mark.parametrize(("args", "expected"), [
    (["demo:frames=3", "--fps", "nan"], "--fps nan is not a frame rate"),
    (["demo:frames=3", "--fps", "inf"], "--fps inf is not a frame rate"),
    (["demo:frames=3", "--fps", "-5"], "--fps -5 is not a frame rate"),
    (["demo:frames=3", "--camera-fps", "nan"], "--camera-fps nan is not a frame rate"),
    (["demo:frames=3", "--max-frames", "-1"], "--max-frames must be 0"),
    (["demo:fps=nan"], "demo: fps=nan is not a frame rate"),
    (["demo:fps=inf"], "demo: fps=inf is not a frame rate"),
    (["demo:fps=-1"], "demo: fps=-1 is not a frame rate"),
    (["demo:frames=0"], "demo: frames=0 must be 1 or more"),
    (["demo:size=0x0"], "demo: size=0x0 is out of range"),
    (["demo:size=100000x100000"], "demo: size=100000x100000 is out of range"),
])
def test_nonsense_numbers_are_one_clear_line(capfd, tmp_path, args, expected):
    code, err = cli(capfd, "process", *args, "--out", tmp_path / "o.mp4", "-q")
    assert expected in one_error_line(code, err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", ["nan", "inf", "-2", "0"])
def test_make_video_fps_nonsense(capfd, tmp_path, fps):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 20, 3), np.uint8))
    code, err = cli(capfd, "make-video", tmp_path, "--fps", fps, "--out", tmp_path / "v.mp4")
    assert f"--fps {float(fps):g} is not a frame rate" in one_error_line(code, err)


def test_tiny_frame_says_what_is_wrong(capfd, tmp_path):
    cv2.imwrite(str(tmp_path / "dot.png"), np.full((1, 1, 3), 255, np.uint8))
    code, err = cli(capfd, "process", tmp_path / "dot.png", "--out", tmp_path / "o.mp4", "-q")
    line = one_error_line(code, err)
    assert "1×1" in line and "too small" in line and "use a .mp4" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot.png"]


def test_unexpected_os_error_is_one_line_but_bugs_are_not_hidden(capfd, monkeypatch, tmp_path):
    import visionapp.core.sources as sources

    def broken(spec, **kw):
        raise OSError(5, "Input/output error", spec)

    monkeypatch.setattr(sources, "open_source", broken)
    code, err = cli(capfd, "process", "demo:frames=3", "--out", tmp_path / "o.mp4", "-q")
    assert "'demo:frames=3': Input/output error" in one_error_line(code, err)

    def bug(spec, **kw):
        raise ZeroDivisionError("a programming error")

    monkeypatch.setattr(sources, "open_source", bug)
    with pytest.raises(ZeroDivisionError):
        main(["process", "demo:frames=3", "-q"])
