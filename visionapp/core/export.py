"""Result exports for batch runs: JSON lines (one record per frame), CSV (one row per box) and
COCO-format detections. Every file is written under a temporary name and renamed when complete.

A JSON-lines record (documented in ``resources/record.schema.json``)::

    {"source": "cats", "file": "tabby/001.jpg", "frame": 0, "timestamp_ms": null,
     "detections": [...], "landmarks": [...],
     "results": [{"processor": "classifier", "values": {"label": "cat", ...}, "text": [...]}]}

``file`` is the image's path relative to the input folder (a single image: its name; null for
videos, cameras and the demo). ``timestamp_ms`` is null for still images: they have no capture
time. ``results`` holds, per processor in chain order, its frame-level ``values`` and its
readout ``text``. After a network stream reconnected, the first frame's record also holds
``gap_ms``, the time without frames.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visionapp.core.outputs import AtomicTextWriter
from visionapp.core.types import Frame, Result

CSV_HEADER = ("source", "file", "frame", "timestamp_ms", "processor", "label", "class_id",
              "score", "x1", "y1", "x2", "y2", "track_id")
# The events table beside --csv (counting processors): one row per crossing, entry or exit.
EVENTS_HEADER = ("source", "file", "frame", "timestamp_ms", "processor", "event", "zone",
                 "track_id", "label", "dwell_s")


def _r(values) -> list:
    return [round(float(v), 2) for v in values]


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays, tuples and read-only mappings turned into plain
    JSON values; NaN and ±inf become None (JSON has no such numbers)."""
    if isinstance(value, np.generic | np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def boxes_of(results: Sequence[Result]):
    """(processor, label, class_id, score, xyxy, track_id or None) for every detection."""
    for result in results:
        d = result.detections
        for i in range(len(d)):
            track = None if d.track_id is None or d.track_id[i] < 0 else int(d.track_id[i])
            yield (result.processor, d.labels[i], int(d.class_id[i]), float(d.confidence[i]),
                   _r(d.xyxy[i]), track)


def event_rows(source: str, file: str | None, frame: Frame, results: Sequence[Result]):
    """The EVENTS_HEADER rows of the ``events`` in each processor's values (a line crossing's
    ``direction`` is its event)."""
    for result in results:
        for item in result.values.get("events", ()) or ():
            if not isinstance(item, Mapping):
                continue
            yield (source, file or "", frame.index, item.get("timestamp_ms", frame.timestamp_ms),
                   result.processor, item.get("event", item.get("direction", "")),
                   item.get("zone", ""), item.get("track_id", ""), item.get("label", ""),
                   item.get("dwell_s", ""))


def frame_record(source: str, frame: Frame, results: Sequence[Result],
                 file: str | None = None) -> dict:
    """One JSON-lines record: the image file (stills), boxes (xyxy px), labels, scores, track
    ids, landmarks, and each processor's frame-level values and readout text."""
    detections = [{"processor": p, "label": label, "class_id": c, "score": round(s, 4),
                   "xyxy": xyxy, "track_id": t}
                  for p, label, c, s, xyxy, t in boxes_of(results)]
    landmarks = []
    for result in results:
        for marks in result.landmarks:
            item = {"processor": result.processor, "label": marks.label,
                    "score": round(float(marks.score), 4),
                    "points_xy": [_r(p) for p in marks.points_xy]}
            if marks.visibility is not None:
                item["visibility"] = _r(marks.visibility)
            landmarks.append(item)
    per_processor = [{"processor": r.processor, "values": jsonable(r.values),
                      "text": list(r.text)} for r in results]
    record = {"source": source, "file": file, "frame": frame.index,
              "timestamp_ms": None if frame.still else frame.timestamp_ms}
    if frame.gap_ms:  # a network stream that dropped and reconnected before this frame
        record["gap_ms"] = frame.gap_ms
    record.update(detections=detections, landmarks=landmarks, results=per_processor)
    return record


class CocoWriter:
    """COCO detections: images, categories (one per processor + label) and annotations with
    ``bbox`` = [x, y, width, height] in pixels and a ``score``."""

    def __init__(self, path: Path):
        self.path = path
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.categories: dict[tuple[str, str], int] = {}
        self._writer = AtomicTextWriter(path)  # created now: an unwritable folder fails early

    def add(self, file_name: str, frame: Frame, results: Sequence[Result]) -> None:
        image_id = len(self.images) + 1
        h, w = frame.image.shape[:2]
        self.images.append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        for processor, label, _cls, score, (x1, y1, x2, y2), track in boxes_of(results):
            category = self.categories.setdefault((processor, label), len(self.categories) + 1)
            item = {"id": len(self.annotations) + 1, "image_id": image_id,
                    "category_id": category,
                    "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                    "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0,
                    "score": round(score, 4)}
            if track is not None:
                item["track_id"] = track
            self.annotations.append(item)

    def commit(self, partial: bool = False) -> Path:
        cats = [{"id": i, "name": label, "supercategory": processor}
                for (processor, label), i in self.categories.items()]
        try:
            self._writer.write(json.dumps({"images": self.images,
                                           "annotations": self.annotations, "categories": cats}))
        except BaseException:
            self._writer.abort()
            raise
        return self._writer.commit(partial)

    def abort(self) -> None:
        self._writer.abort()


class Exports:
    """The result files of one batch run, shared by all its inputs."""

    def __init__(self, jsonl: Path | None = None, csv_path: Path | None = None,
                 coco: Path | None = None, txt: Path | None = None,
                 events: Path | None = None):
        """``events``: the table of counting events (EVENTS_HEADER), written beside --csv."""
        from visionapp.core.text_export import TextExport

        self.jsonl = AtomicTextWriter(jsonl) if jsonl else None
        self.csv = AtomicTextWriter(csv_path) if csv_path else None
        if self.csv is not None:
            self.csv.write(",".join(CSV_HEADER) + "\n")
        self.coco = CocoWriter(coco) if coco else None
        self.txt = TextExport(txt) if txt else None
        self.events = AtomicTextWriter(events) if events else None
        if self.events is not None:
            self.events.write(",".join(EVENTS_HEADER) + "\n")

    def write(self, source: str, file_name: str, frame: Frame,
              results: Sequence[Result]) -> None:
        """``file_name`` names the frame's image for a still (its path relative to the input
        folder); for a video frame it is only the COCO image name."""
        file = file_name if frame.still else None
        if self.jsonl is not None:
            record = frame_record(source, frame, results, file)
            self.jsonl.write(json.dumps(record) + "\n")
        if self.csv is not None:
            buffer = io.StringIO()
            rows = csv.writer(buffer, lineterminator="\n")
            stamp = "" if frame.still else frame.timestamp_ms
            for p, label, c, s, (x1, y1, x2, y2), t in boxes_of(results):
                rows.writerow((source, file or "", frame.index, stamp, p, label, c,
                               round(s, 4), x1, y1, x2, y2, "" if t is None else t))
            self.csv.write(buffer.getvalue())
        if self.coco is not None:
            self.coco.add(file_name, frame, results)
        if self.events is not None:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(
                event_rows(source, file, frame, results))
            self.events.write(buffer.getvalue())
        if self.txt is not None:
            self.txt.write(source, file, frame, results)

    def commit(self, partial: bool = False) -> list[Path]:
        """Name every file (``partial``: as ``<stem>.partial<suffix>``); returns the names."""
        return [writer.commit(partial) for writer in self._writers() if writer is not None]

    def _writers(self) -> tuple:
        return (self.jsonl, self.csv, self.events, self.coco, self.txt)

    def abort(self) -> None:
        for writer in self._writers():
            if writer is not None:
                writer.abort()
