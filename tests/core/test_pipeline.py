import platform
import threading
import time

import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.annotate import Annotator, annotate
from visionapp.core.errors import ProcessorFailed
from visionapp.core.pipeline import apply_chain, keep_freed_memory, process_batch, run
from visionapp.core.sources import open_source
from visionapp.core.types import Detections, Frame, Landmarks, Result


class Boom:
    name = "boom"

    def __call__(self, frame):
        raise RuntimeError("kaboom")


def _frames(n, size=(40, 30)):
    return [Frame(np.full((size[1], size[0], 3), i, np.uint8), i, i * 10) for i in range(n)]


def test_transforms_feed_later_processors():
    frame = _frames(1, (100, 80))[0]
    resize = registry.create("adjust.resize", {"scale": 0.5})
    canny = registry.create("canny")
    results = apply_chain(frame, (resize, canny))
    assert results[0].image.shape == (40, 50, 3)
    assert results[1].overlay.shape == (40, 50)  # canny saw the resized frame
    assert all(r.elapsed_ms >= 0 for r in results)


def test_processor_failure_names_the_processor():
    with pytest.raises(ProcessorFailed, match="'boom' failed: RuntimeError: kaboom"):
        apply_chain(_frames(1)[0], (registry.create("canny"), Boom()))


def test_run_generator_swaps_chain_on_send():
    gen = run(iter(_frames(3)), (registry.create("canny", {"low": 10}),))
    _, first = next(gen)
    _, second = gen.send((registry.create("sobel"),))
    assert first[0].processor == "canny" and second[0].processor == "sobel"


def test_process_batch_keeps_order_and_counts():
    seen = []
    with open_source("demo:frames=40,size=320x240") as source:
        report = process_batch(source, (registry.create("canny"),),
                               lambda f, r, img: seen.append((f.index, img.shape)))
    assert report.frames == 40 and [i for i, _ in seen] == list(range(40))
    assert seen[0][1] == (240, 320, 3)
    p50, p95 = report.stats.percentiles("canny")
    assert 0 < p50 <= p95


def test_process_batch_reports_the_cpu_time_of_each_stage():
    class Busy:
        name = "busy"

        def __call__(self, frame):
            end = time.thread_time() + 0.01  # 10 ms of CPU on the processing thread
            while time.thread_time() < end:
                pass
            return Result(self.name)

    with open_source("demo:frames=10,size=160x120") as source:
        report = process_batch(source, (Busy(),), lambda f, r, img: None)
    assert set(report.stage_cpu_s) == {"reader", "process", "writer"}
    assert report.stage_cpu_s["process"] >= 0.1
    assert report.stage_cpu_s["writer"] < report.stage_cpu_s["process"]


def test_process_batch_reraises_writer_errors_without_hanging():
    def bad_write(frame, results, image):
        if frame.index == 3:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"), open_source("demo:frames=200") as source:
        process_batch(source, (), bad_write, queue_size=2)


def test_process_batch_stops_on_request():
    stop = threading.Event()
    count = []

    def write(frame, results, image):
        count.append(frame.index)
        if frame.index == 5:
            stop.set()

    with open_source("demo:frames=500,size=320x240") as source:
        process_batch(source, (), write, stop=stop)
    assert len(count) < 100


def test_annotate_draws_boxes_landmarks_and_overlays():
    image = np.zeros((100, 200, 3), np.uint8)
    dets = Detections.from_lists([[20, 20, 80, 80]], [0.9], ["cat"])
    marks = Landmarks(np.array([[150, 50], [170, 60]], np.float32), "hand",
                      connections=((0, 1),))
    edges = np.zeros((100, 200), np.uint8)
    edges[:, 100] = 255
    out = annotate(image, [Result("x", detections=dets, landmarks=(marks,),
                                  overlay=edges, overlay_mode="blend")], show_text=False)
    assert out.shape == image.shape and not image.any()  # input untouched
    assert out[50, 20].any() and not out[50, 50].any()  # box border drawn, inside empty
    assert out[50, 150].any()  # landmark point
    assert out[10, 100, 1] == 255 and out[10, 100, 0] == 0  # edge shown green
    side = annotate(image, [Result("x", overlay=edges, overlay_mode="side_by_side")])
    assert side.shape == (100, 400, 3)
    replaced = annotate(image, [Result("x", overlay=edges, overlay_mode="replace")],
                        show_text=False)
    assert replaced[5, 100].tolist() == [255, 255, 255]


def test_process_batch_drives_run_and_its_annotator(monkeypatch):
    """The batch path is the generator every driver uses, and it draws with an Annotator that
    is told each frame's stream."""
    from visionapp.core import pipeline

    driven = []
    real_run = pipeline.run

    def spy(frames, processors, on_error=None):
        for item in real_run(frames, processors, on_error):
            driven.append(item[0].index)
            yield item

    class Recording(Annotator):
        def __init__(self) -> None:
            super().__init__()
            self.streams: list[int] = []

        def __call__(self, image, results, *, show_text=True, stream_id=0):
            self.streams.append(stream_id)
            return super().__call__(image, results, show_text=show_text, stream_id=stream_id)

    monkeypatch.setattr(pipeline, "run", spy)
    annotator = Recording()
    written = []
    with open_source("demo:frames=12,size=320x240") as source:
        process_batch(source, (registry.create("canny"),), lambda f, r, img: written.append(img),
                      annotator=annotator)
    assert driven == list(range(12)) and len(written) == 12
    assert annotator.streams == [source.stream_id] * 12


def test_batch_trails_are_drawn_by_the_drivers_annotator():
    frames = [Frame(np.zeros((60, 80, 3), np.uint8), i, i * 10, stream_id=9) for i in range(4)]

    class Tracker:
        name = "tracker"

        def __call__(self, frame):
            x = 10 + 15 * frame.index
            dets = Detections.from_lists([[x, 20, x + 10, 30]], [0.9], ["car"], track_id=[1])
            return Result(self.name, detections=dets, trail_length=10)

    last = []
    process_batch(frames, (Tracker(),), lambda f, r, img: last.append(img), show_text=False)
    assert last[-1][25, 30].any() and not last[0][25, 30].any()  # the trail, once it exists


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc settings")
def test_glibc_takes_the_batch_memory_settings():
    # What they save is measured by benchmarks/batch_throughput.py (page faults, CPU).
    assert keep_freed_memory()
