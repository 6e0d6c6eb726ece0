"""A batch job: everything ``visionapp process`` is asked to do, as one frozen value.

Built once from the command line (or by any other front end), checked on construction, and
free of open resources: it pickles, so a job can be handed to another process or machine. The
chain travels as the TOML text of a chain file (:func:`visionapp.core.chain.dumps`); running the
job builds fresh processors from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from visionapp.core.chain import ChainEntry, loads
from visionapp.core.errors import BadInput, ParameterError

MAX_FPS = 1000.0
DEMO_FRAMES_DEFAULT = 300  # a batch run of "demo:" without frames=N


def check_rate(value: float | None, option: str, zero: str | None = None) -> None:
    """A frame rate must be a real number in (0, MAX_FPS]; ``zero`` names what 0 means (and
    allows it); None is "not given"."""
    if value is None or (zero is not None and value == 0):
        return
    if not (math.isfinite(value) and 0 < value <= MAX_FPS):
        meaning = f" (0: {zero})" if zero else ""
        raise ParameterError(f"{option} {value:g} is not a frame rate; give a number above 0 "
                             f"and up to {MAX_FPS:g}{meaning}")


@dataclass(frozen=True)
class BatchJob:
    """Inputs, the chain, and where the results go. Paths are as the user gave them (``~``
    allowed); the outputs are named and checked when the job runs
    (:func:`visionapp.core.output_plan.plan_batch_outputs`)."""

    inputs: tuple[str, ...]  # videos, images, folders, camera indexes, demo:[options]
    chain: str = ""  # TOML text of the chain, as a chain file holds it
    out: str | None = None  # annotated video; a folder with several inputs
    detections: str | None = None  # JSON lines, one record per frame
    csv: str | None = None  # one row per box
    coco: str | None = None  # COCO detections of all inputs
    txt: str | None = None  # the text read (ocr)
    frames_dir: str | None = None  # every ``every``-th annotated frame as PNG
    every: int = 1
    fps: float = 0.0  # output frame rate; 0: the source's
    fourcc: str | None = None  # codec of ``out``; None: by its suffix
    max_frames: int = 0  # per input; 0: all
    duration_s: float = 0.0  # per input, by frame timestamps (streams: wall-clock); 0: all
    open_timeout_s: float = 5.0  # network streams: connecting
    read_timeout_s: float = 5.0  # network streams: no frame for this long → reconnect
    camera_wh: tuple[int, int] | None = None  # asked of cameras
    camera_fps: float | None = None
    show_text: bool = True  # the readout drawn on the frames
    force: bool = False  # replace results of earlier runs
    quiet: bool = False  # no progress bars or summaries

    def __post_init__(self) -> None:
        if not self.inputs:
            raise BadInput("a batch job needs at least one input")
        if self.every < 1:
            raise ParameterError("--every must be 1 or more")
        if self.every > 1 and self.frames_dir is None:
            raise ParameterError("--every N saves frames: give --frames-dir FOLDER too")
        if self.max_frames < 0:
            raise ParameterError("--max-frames must be 0 (all) or more")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ParameterError("--duration must be 0 (all) or a number of seconds")
        for value, option in ((self.open_timeout_s, "--open-timeout"),
                              (self.read_timeout_s, "--read-timeout")):
            if not (math.isfinite(value) and 0 < value <= 600):
                raise ParameterError(f"{option} {value:g}: give seconds above 0 and up to 600")
        check_rate(self.fps, "--fps", zero="the source's")
        check_rate(self.camera_fps, "--camera-fps")
        if self.camera_wh is not None and min(self.camera_wh) < 1:
            raise ParameterError(f"--camera-size {self.camera_wh[0]}x{self.camera_wh[1]}: "
                                 "both sides must be 1 or more")
        self.chain_entries()  # a chain that does not load is an error now, not mid-run

    @classmethod
    def create(cls, inputs: list[str] | tuple[str, ...], entries: list[ChainEntry],
               **options) -> BatchJob:
        """A job running ``entries`` (enabled ones) over ``inputs``; ``options`` are the
        other fields."""
        from visionapp.core.chain import dumps

        return cls(tuple(inputs), dumps([e for e in entries if e.enabled]), **options)

    def stream_options(self):
        """Timeouts for network-stream inputs (a :class:`StreamOptions`)."""
        from visionapp.core.network_sources import StreamOptions

        return StreamOptions(open_timeout_s=self.open_timeout_s,
                             read_timeout_s=self.read_timeout_s)

    def chain_entries(self) -> list[ChainEntry]:
        return [e for e in loads(self.chain, "the batch job's chain") if e.enabled]

    def processors(self) -> tuple:
        """Freshly built processors of the chain, in order."""
        return tuple(entry.build() for entry in self.chain_entries())

    @property
    def files(self) -> dict[str, str | None]:
        """The result files shared by all inputs, by kind."""
        return {"detections": self.detections, "csv": self.csv, "coco": self.coco,
                "txt": self.txt}
