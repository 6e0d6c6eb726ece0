"""The worker side of ``visionapp process --cluster``: one :class:`FileWorker` per Ray actor.

Each worker builds and loads the chain once, then runs whole input files, one at a time,
through the same path as a local run (:class:`visionapp.cli.batch_run.Outputs` over
:func:`visionapp.core.pipeline.process_batch`): the input's video and saved frames are written
atomically under their final names in the (shared) output folders, and its share of the
JSON-lines, CSV, COCO and text files comes back to the driver, which merges the shares in input
order (:func:`merge_shard`), so the merged files are byte for byte those of a local run.

This module does not import Ray: the driver wraps :class:`FileWorker` in ``ray.remote``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from visionapp.core.batch_job import DEMO_FRAMES_DEFAULT, BatchJob
from visionapp.core.errors import VisionappError

# Test hook: "STEM:FRAME:MARKER" makes the worker processing STEM exit abruptly at FRAME, once
# (MARKER, a file, records that it happened), as a machine that dies mid-file would.
DIE_HOOK_ENV = "VISIONAPP_CLUSTER_TEST_DIE"


@dataclass(frozen=True)
class FileTask:
    """One input for a worker: ``spec`` as the user gave it (labels and messages), ``path`` to
    open (absolute), and its outputs as the driver planned them (absolute paths)."""

    position: int
    spec: str
    path: str
    stem: str
    video: str | None
    frames_dir: str | None
    shares_name: bool


@dataclass
class FileResult:
    """What became of one input. ``status``: "done", "error" (outputs kept, but a problem to
    report, e.g. a truncated video), "failed" (nothing written) or "stopped" (cancelled)."""

    position: int
    status: str
    frames: int = 0
    seconds: float = 0.0
    worker: str = ""
    message: str = ""
    named: list[str] = field(default_factory=list)
    jsonl: str = ""
    csv_rows: str = ""
    coco: dict | None = None
    txt: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class FileWorker:
    """Runs files of one job; ``progress`` and ``cancel`` answer while a file runs (the actor
    has two threads)."""

    def __init__(self, job: BatchJob, die_hook: str | None = None):
        from visionapp.core.prepare import prepare_chain

        self.job = job
        self.processors = job.processors()
        prepare_chain(self.processors)
        self.stop = threading.Event()
        self.frames = 0  # every frame this worker wrote, for the driver's progress bar
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._die = die_hook.split(":", 2) if die_hook else None

    def progress(self) -> int:
        return self.frames

    def cancel(self) -> None:
        self.stop.set()

    def run(self, task: FileTask) -> FileResult:
        """Process ``task``'s file; errors come back in the result, not as exceptions."""
        result = FileResult(task.position, "failed", worker=self.name)
        if self.stop.is_set():
            result.status = "stopped"
            return result
        scratch = Path(tempfile.mkdtemp(prefix="visionapp-shard-"))
        t0 = time.perf_counter()
        try:
            self._run(task, scratch, result)
        except VisionappError as exc:
            result.status, result.message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - one file's failure must not end the worker
            result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        result.seconds = time.perf_counter() - t0
        return result

    def _run(self, task: FileTask, scratch: Path, result: FileResult) -> None:
        from visionapp.cli.batch_run import Outputs, limited
        from visionapp.core.export import Exports
        from visionapp.core.pipeline import batch_decoder_threads, process_batch
        from visionapp.core.sources import open_source

        job, files = self.job, self.job.files
        shard = {key: scratch / f"shard{Path(value).suffix}" if value else None
                 for key, value in files.items()}
        exports = Exports(shard["detections"], shard["csv"], shard["coco"], shard["txt"])
        try:
            source = open_source(task.path, realtime=False,
                                 default_demo_frames=DEMO_FRAMES_DEFAULT,
                                 folder_fps=job.fps or 1.0, camera_wh=job.camera_wh,
                                 camera_fps=job.camera_fps, stream=job.stream_options(),
                                 decoder_threads=batch_decoder_threads())
        except BaseException:
            exports.abort()
            raise
        with source:
            label = (task.spec if task.shares_name or task.spec[:4] == "demo"
                     else source.info.name)
            outputs = Outputs(job, Path(task.video) if task.video else None,
                              Path(task.frames_dir) if task.frames_dir else None, source,
                              label, task.stem, exports)
            try:
                report = process_batch(limited(source, job.max_frames, job.duration_s),
                                       self.processors, self._counted(outputs.write, task),
                                       stop=self.stop, show_text=job.show_text)
                result.frames = report.frames
                if report.stopped:
                    outputs.discard()
                    exports.abort()
                    result.status = "stopped"
                    return
                result.named = outputs.finish()
            except BaseException:
                outputs.discard()
                exports.abort()
                raise
            exports.commit()
            result.status = "done"
            info, expected = source.info, source.info.frame_count
            if (info.kind == "video" and expected and not job.max_frames
                    and report.frames < expected - max(2, expected // 100)):
                result.status = "error"
                result.message = (f"stopped decoding after {report.frames} of {expected} "
                                  "frames (truncated or damaged?); the output holds the frames "
                                  "before that point")
        self._collect(shard, result)

    def _counted(self, write, task: FileTask):
        die = self._die

        def counted(frame, results, annotated) -> None:
            write(frame, results, annotated)
            self.frames += 1
            if die and die[0] == task.stem and frame.index == int(die[1]):
                marker = Path(die[2])
                if not marker.exists():
                    marker.write_text(self.name)
                    os._exit(17)  # a worker machine dying mid-file

        return counted

    @staticmethod
    def _collect(shard: dict[str, Path | None], result: FileResult) -> None:
        if shard["detections"] is not None:
            result.jsonl = shard["detections"].read_text(encoding="utf-8")
        if shard["csv"] is not None:
            result.csv_rows = shard["csv"].read_text(encoding="utf-8").partition("\n")[2]
        if shard["coco"] is not None:
            result.coco = json.loads(shard["coco"].read_text(encoding="utf-8"))
        if shard["txt"] is not None:
            result.txt = shard["txt"].read_text(encoding="utf-8")


def merge_shard(exports, result: FileResult) -> None:
    """Append one input's share to the run's :class:`~visionapp.core.export.Exports`. COCO ids
    are renumbered as a local run numbers them: images and annotations in order, categories in
    order of first appearance."""
    if exports.jsonl is not None:
        exports.jsonl.write(result.jsonl)
    if exports.csv is not None:
        exports.csv.write(result.csv_rows)
    if exports.txt is not None:
        exports.txt.writer.write(result.txt)
    coco = exports.coco
    if coco is None or result.coco is None:
        return
    category_of = {c["id"]: coco.categories.setdefault((c["supercategory"], c["name"]),
                                                       len(coco.categories) + 1)
                   for c in sorted(result.coco["categories"], key=lambda c: c["id"])}
    image_of = {}
    for image in result.coco["images"]:
        image_of[image["id"]] = len(coco.images) + 1
        coco.images.append({**image, "id": image_of[image["id"]]})
    for item in result.coco["annotations"]:
        coco.annotations.append({**item, "id": len(coco.annotations) + 1,
                                 "image_id": image_of[item["image_id"]],
                                 "category_id": category_of[item["category_id"]]})
