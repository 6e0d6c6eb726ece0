"""``visionapp process --txt FILE``: the text recognised in each image or frame, as plain text.

A processor that reads text puts the frame's full text in ``Result.values["text"]`` (a string;
``ocr`` does). Each block starts with a header line naming where the text came from, then the
text, then a blank line::

    === page1.png ===
    Invoice 2024-117
    total due 348.50 EUR

    === clip.mp4 frame 12 (400 ms) ===
    OPEN 24 HOURS

Every image gets a block (an empty one when nothing was read). A video frame gets one only when
its text differs from the previous block of the same input, so a sign held for ten seconds is
written once, not three hundred times. The file is written under a temporary name and renamed
when complete, like every other output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from visionapp.core.outputs import AtomicTextWriter
from visionapp.core.types import Frame, Result


def recognised_text(results: Sequence[Result]) -> str | None:
    """The text every processor of the chain read in this frame, in chain order (None: no
    processor in the chain reads text)."""
    parts = [r.values["text"] for r in results if isinstance(r.values.get("text"), str)]
    if not parts:
        return None
    return "\n".join(p for p in parts if p.strip())


class TextExport:
    """The ``--txt`` file of one batch run, shared by all its inputs."""

    def __init__(self, path: Path):
        self.writer = AtomicTextWriter(path)
        self._last: dict[str, str] = {}

    def write(self, source: str, file: str | None, frame: Frame,
              results: Sequence[Result]) -> None:
        """``file`` names a still image (its path relative to the input folder); None for video
        frames."""
        text = recognised_text(results)
        if text is None:
            return
        if not frame.still and self._last.get(source) == text:
            return
        self._last[source] = text
        where = (file or source) if frame.still else (
            f"{source} frame {frame.index} ({frame.timestamp_ms} ms)")
        self.writer.write(f"=== {where} ===\n{text}\n\n" if text else f"=== {where} ===\n\n")

    def commit(self, partial: bool = False) -> Path:
        return self.writer.commit(partial)

    def abort(self) -> None:
        self.writer.abort()
