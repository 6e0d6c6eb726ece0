import time

import cv2
import numpy as np
import pytest

from tests.conftest import frame_index_of, write_test_video
from visionapp.core import hardware
from visionapp.core.errors import SourceError
from visionapp.core.pipeline import batch_decoder_threads
from visionapp.core.sources import LatestFrameSlot, natural_key, open_source
from visionapp.core.types import Frame


def test_video_is_ordered_and_lossless(tiny_video):
    with open_source(str(tiny_video)) as source:
        frames = list(source)
    assert source.info.kind == "video" and not source.info.is_live
    assert [f.index for f in frames] == list(range(30))
    assert [frame_index_of(f.image) for f in frames] == list(range(30))
    assert [f.timestamp_ms for f in frames] == [i * 100 for i in range(30)]  # 10 fps


def test_a_video_decoded_on_one_thread_gives_the_same_frames(tiny_video):
    with open_source(str(tiny_video)) as default, \
            open_source(str(tiny_video), decoder_threads=1) as single:
        assert single._cap.get(cv2.CAP_PROP_N_THREADS) == 1
        pairs = list(zip(default, single, strict=True))
    assert len(pairs) == 30
    assert all(np.array_equal(a.image, b.image) for a, b in pairs)


def test_the_batch_decoder_gets_the_cores_the_other_stages_leave(monkeypatch):
    monkeypatch.setattr(hardware, "USABLE_CPUS_AT_START", 2)
    assert batch_decoder_threads() == 1
    monkeypatch.setattr(hardware, "USABLE_CPUS_AT_START", 8)
    assert batch_decoder_threads() == 6


def test_video_seek_lands_on_the_frame(tiny_video):
    with open_source(str(tiny_video)) as source:
        source.seek(17)
        frame = source.read()
    assert frame.index == 17 and frame_index_of(frame.image) == 17


def test_folder_natural_order_and_skipped_files(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), np.full((8, 8, 3), i * 10, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with open_source(str(tmp_path)) as source:
        frames = list(source)
    assert [int(f.image[0, 0, 0]) for f in frames] == [10, 20, 100]
    assert "notes.txt" in source.info.skipped and "broken.png" in source.info.skipped


def test_natural_key():
    names = ["frame_10.png", "frame_2.png", "frame_1.png"]
    from pathlib import Path

    assert [n for n in sorted(names, key=lambda n: natural_key(Path(n)))] == [
        "frame_1.png", "frame_2.png", "frame_10.png"]


def test_single_image_gray_and_bgra_become_bgr(tmp_path):
    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 7), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "a.png"), np.full((5, 7, 4), 33, np.uint8))
    for name, value in (("g.png", 77), ("a.png", 33)):
        with open_source(str(tmp_path / name)) as source:
            (frame,) = list(source)
        assert frame.image.shape == (5, 7, 3) and int(frame.image[0, 0, 0]) == value


def test_demo_is_deterministic_and_counts():
    spec = "demo:frames=5,size=320x240"
    with open_source(spec) as a, open_source(spec) as b:
        fa, fb = list(a), list(b)
    assert len(fa) == 5 and fa[0].image.shape == (240, 320, 3)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(fa, fb, strict=True))
    assert not np.array_equal(fa[0].image, fa[4].image)  # it moves


def test_bad_demo_option():
    with pytest.raises(SourceError, match="bad demo option"):
        open_source("demo:speed=3")


def test_latest_frame_slot_drops_and_counts():
    slot = LatestFrameSlot()
    for i in range(5):
        slot.put(Frame(np.zeros((1, 1, 3), np.uint8), i, i))
    assert slot.take(0.1).index == 4 and slot.dropped == 4
    slot.finish()
    assert slot.take(0.1) is None


def test_realtime_demo_is_latest_frame_wins():
    """A slow consumer gets fresh frames and the source counts the ones it skipped."""
    with open_source("demo:fps=100,size=320x240", realtime=True) as source:
        first = source.read()
        time.sleep(0.3)
        second = source.read()
        stamps = [source.read().timestamp_ms for _ in range(5)]
    assert source.info.is_live
    assert second.index - first.index > 10 and source.dropped > 10
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    assert time.perf_counter() - second.captured_s < 5


def test_camera_that_does_not_open_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(SourceError, match="camera 57 could not be opened"):
        open_source("57")
    assert time.perf_counter() - t0 < 3.0


@pytest.mark.parametrize("content", [b"", b"this is not a video at all" * 100])
def test_unreadable_video(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="bad.mp4"):
        open_source(str(path))


def test_missing_path():
    with pytest.raises(SourceError, match="does not exist"):
        open_source("/no/such/clip.mp4")


def test_truncated_avi_stops_at_last_good_frame(tmp_path):
    path = write_test_video(tmp_path / "t.avi", frames=30, fourcc="MJPG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with open_source(str(path)) as source:
        frames = list(source)
    assert 5 < len(frames) < 30


# ----------------------------------------------------------------------------- streams


def _folder(tmp_path, n=3):
    for i in range(n):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((8, 8, 3), i, np.uint8))
    return tmp_path


@pytest.mark.parametrize("kind", ["video", "folder", "demo"])
def test_opening_seeking_and_looping_start_new_streams(kind, tiny_video, tmp_path):
    spec = {"video": str(tiny_video), "folder": str(_folder(tmp_path)),
            "demo": "demo:frames=10,size=320x240"}[kind]
    with open_source(spec) as source, open_source(spec) as other:
        assert source.seekable and source.position == 0
        first = [source.read(), source.read()]
        assert source.position == 2
        assert {f.stream_id for f in first} == {source.stream_id} != {other.read().stream_id}
        source.seek(1)
        assert source.position == 1
        after_seek = source.read()
        assert after_seek.index == 1 and after_seek.stream_id not in (0, first[0].stream_id)
        list(source)
        source.seek(0)  # what looping does
        looped = source.read()
    assert looped.index == 0 and looped.stream_id not in (first[0].stream_id,
                                                          after_seek.stream_id)
    assert looped.stream_id == source.stream_id


def test_live_sources_are_one_stream_and_cannot_seek():
    with open_source("demo:fps=100,size=320x240", realtime=True) as source:
        frames = [source.read() for _ in range(3)]
        assert not source.seekable and source.position == frames[-1].index + 1
        with pytest.raises(SourceError, match="cannot seek"):
            source.seek(0)
    assert {f.stream_id for f in frames} == {source.stream_id} and source.stream_id > 0


def test_file_names_come_from_the_base_class_interface(tmp_path, tiny_video):
    (tmp_path / "pages").mkdir()
    folder = _folder(tmp_path / "pages")
    with open_source(str(folder)) as images, open_source(str(tiny_video)) as video:
        assert [images.file_name(i) for i in range(3)] == ["img_0.png", "img_1.png",
                                                           "img_2.png"]
        assert video.file_name(0) is None and video.dropped == 0
