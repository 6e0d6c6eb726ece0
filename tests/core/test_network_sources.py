"""Network streams against a real MJPEG-over-HTTP server (tests/core/mjpeg_server.py) run as a
child process, so a test can kill it, freeze it, or start one that never answers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from visionapp.cli import main
from visionapp.core.errors import SourceError
from visionapp.core.network_sources import StreamOptions, mask_url, natural_stream_name
from visionapp.core.sources import open_source

SERVER = Path(__file__).with_name("mjpeg_server.py")
VIDEO = "data/videos/slow_traffic_small.mp4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The MJPEG server process on ``port``; ``start`` again after ``kill`` brings it back."""

    def __init__(self, video: Path, fps: float = 20.0, silent: bool = False):
        self.video, self.fps, self.silent = video, fps, silent
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def start(self) -> Server:
        args = [sys.executable, str(SERVER), str(self.video), str(self.port), str(self.fps)]
        self.proc = subprocess.Popen(args + (["--silent"] if self.silent else []),
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(shared):
    made: list[Server] = []

    def make(**kwargs) -> Server:
        made.append(Server(shared(VIDEO), **kwargs).start())
        return made[-1]

    yield make
    for s in made:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.send_signal(signal.SIGCONT)
        s.kill()


def wait_for(predicate, timeout_s: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout_s``."""
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout_s, f"not within {timeout_s} s"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_urls_never_show_credentials():
    assert mask_url("rtsp://admin:s3cret@10.0.0.5:554/live") == "rtsp://***@10.0.0.5:554/live"
    assert "hunter2" not in mask_url("https://cam.example/mjpg?user=a&password=hunter2")
    assert mask_url("http://cam.example/video") == "http://cam.example/video"
    assert natural_stream_name("rtsp://u:p@10.0.0.5/ch1") == "10.0.0.5_ch1"


def test_closed_port_fails_within_the_open_timeout_with_a_clear_message():
    url = f"http://viewer:topsecret@127.0.0.1:{free_port()}/video.mjpg"
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        open_source(url, stream=StreamOptions(open_timeout_s=1.0))
    assert time.monotonic() - t0 < 2.0
    assert "could not connect" in str(err.value) and "topsecret" not in str(err.value)


def test_server_that_never_answers_fails_within_the_open_timeout(server):
    silent = server(silent=True)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="within 1 s"):
        open_source(silent.url, stream=StreamOptions(open_timeout_s=1.0))
    assert time.monotonic() - t0 < 1.0 + 2.5


def test_stream_survives_the_server_dying_and_coming_back(server):
    mjpeg = server()
    options = StreamOptions(open_timeout_s=2.0, read_timeout_s=1.0, backoff_first_s=0.2,
                            backoff_max_s=0.5, max_attempts=0)
    with open_source(mjpeg.url, stream=options) as source:
        first = [source.read() for _ in range(5)]
        assert all(f.image.shape == (180, 320, 3) for f in first)
        assert source.info.kind == "stream" and source.info.is_live
        mjpeg.kill()
        # Killed: the source says so within the read timeout (and keeps saying it).
        wait_for(lambda: (source.status or "").startswith("connection lost"), 1.0 + 0.5)
        time.sleep(1.0)  # a few failed reconnects
        assert "reconnecting (attempt" in source.status
        before = source.position
        mjpeg.start()  # the same port again
        frame = source.read()
        while frame.gap_ms == 0:  # frames still buffered from before the drop
            frame = source.read()
        assert frame.index >= before and frame.gap_ms >= 1000
        assert frame.timestamp_ms - first[-1].timestamp_ms >= frame.gap_ms
        wait_for(lambda: source.status is None, 2.0)
        assert source.reconnects == 1
        after = source.read()
        assert after.index > frame.index and after.stream_id == first[0].stream_id


def test_frozen_server_counts_as_lost_within_the_read_timeout(server):
    mjpeg = server()
    with open_source(mjpeg.url, stream=StreamOptions(read_timeout_s=1.0, backoff_first_s=0.2,
                                                     max_attempts=0)) as source:
        source.read()
        mjpeg.proc.send_signal(signal.SIGSTOP)  # connected, but nothing arrives any more
        took = wait_for(lambda: source.status is not None, 3.0)
        assert took < 1.0 + 1.5
        mjpeg.proc.send_signal(signal.SIGCONT)


def test_gives_up_after_the_last_attempt_with_one_message(server):
    mjpeg = server()
    options = StreamOptions(open_timeout_s=0.5, read_timeout_s=0.5, backoff_first_s=0.1,
                            backoff_max_s=0.2, max_attempts=2)
    with open_source(mjpeg.url, stream=options) as source:
        source.read()
        mjpeg.kill()
        t0 = time.monotonic()
        with pytest.raises(SourceError, match="gave up after 2 reconnect attempts"):
            while source.read() is not None:
                pass
        assert time.monotonic() - t0 < 5.0


def test_frame_age_stays_bounded_for_a_slow_reader(server):
    mjpeg = server(fps=25)
    with open_source(mjpeg.url) as source:
        source.read()
        ages = []
        for _ in range(5):
            time.sleep(0.3)  # a reader far slower than the stream
            frame = source.read()
            ages.append(time.perf_counter() - frame.captured_s)
        assert max(ages) < 0.2, ages  # latest frame wins: no backlog builds up
        assert source.dropped >= 10


def test_window_playback_says_reconnecting_and_stays_responsive(server):
    from visionapp.core.playback import PlaybackSession
    from visionapp.core.playback_messages import OpenSource, Packet, Pause, Play, SourceStatus

    mjpeg = server()
    options = StreamOptions(read_timeout_s=1.0, backoff_first_s=0.3, max_attempts=0)
    session = PlaybackSession(opener=lambda spec: open_source(spec, stream=options))
    run = session.run(wait=lambda s: time.sleep(min(s, 0.01)))
    events = [run.send(None), run.send(OpenSource(mjpeg.url))]

    def pump(until, timeout_s: float) -> list:
        t0 = time.monotonic()
        while not until(events):
            assert time.monotonic() - t0 < timeout_s, [type(e).__name__ for e in events]
            t1 = time.monotonic()
            events.append(run.send(None))
            assert time.monotonic() - t1 < 0.5  # every pass answers quickly, even while down
        return events

    pump(lambda ev: sum(isinstance(e, Packet) for e in ev) >= 3, 5.0)
    mjpeg.kill()
    statuses = lambda ev: [e.text for e in ev if isinstance(e, SourceStatus)]  # noqa: E731
    pump(lambda ev: any("reconnecting (attempt" in (t or "") for t in statuses(ev)), 4.0)
    t1 = time.monotonic()
    for command in (Pause(), Play()):  # commands are taken at once while the stream is down
        events.append(run.send(command))
    assert time.monotonic() - t1 < 0.5
    mjpeg.start()
    pump(lambda ev: statuses(ev)[-1:] == [None], 8.0)
    pump(lambda ev: isinstance(ev[-1], Packet), 3.0)
    run.close()


def test_cli_records_a_stream_for_max_frames_without_the_password(server, tmp_path, capsys):
    mjpeg = server()
    url = mjpeg.url.replace("http://", "http://viewer:topsecret@")
    out = tmp_path / "cam.jsonl"
    code = main(["process", url, "-p", "canny", "--max-frames", "12", "--detections", str(out),
                 "-q"])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(12))
    assert records[0]["source"] == f"http://***@127.0.0.1:{mjpeg.port}/video.mjpg"
    assert "topsecret" not in out.read_text() + capsys.readouterr().err
    stamps = [r["timestamp_ms"] for r in records]
    assert stamps == sorted(stamps) and "gap_ms" not in records[0]


def test_cli_duration_stops_a_stream(server, tmp_path):
    mjpeg = server(fps=20)
    out = tmp_path / "cam.jsonl"
    t0 = time.monotonic()
    assert main(["process", mjpeg.url, "-p", "canny", "--duration", "1", "--detections",
                 str(out), "-q"]) == 0
    assert time.monotonic() - t0 < 6
    stamps = [json.loads(line)["timestamp_ms"] for line in out.read_text().splitlines()]
    assert len(stamps) >= 5 and max(stamps) < 1000


def test_cli_unreachable_stream_is_one_line(capsys):
    url = f"rtsp://admin:pw1234@127.0.0.1:{free_port()}/live"
    assert main(["process", url, "-p", "canny", "--open-timeout", "1", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("visionapp: error: could not connect")
    assert "pw1234" not in err[0]




def test_the_record_after_a_reconnect_carries_the_gap():
    import jsonschema
    import numpy as np

    from tests.conftest import REPO
    from visionapp.core.export import frame_record
    from visionapp.core.types import Frame

    schema = json.loads((REPO / "resources" / "record.schema.json").read_text())
    image = np.zeros((8, 8, 3), np.uint8)
    after = frame_record("http://***@cam/video", Frame(image, 41, 9000, gap_ms=2500), ())
    normal = frame_record("http://***@cam/video", Frame(image, 42, 9040), ())
    assert after["gap_ms"] == 2500 and "gap_ms" not in normal
    for record in (after, normal):
        jsonschema.validate(record, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**after, "gap_ms": 0}, schema)
