"""Which numeric precision yolo.detect's OpenVINO export runs in — fp32, bf16 or int8 — and why.

- ``fp32`` and ``bf16`` are one FP32 export compiled with OpenVINO's ``INFERENCE_PRECISION_HINT``
  set to f32 or bf16. bf16 is only real where OpenVINO reports the ``BF16`` capability (AVX512_BF16
  or AMX); elsewhere it runs as fp32 and says so.
- ``int8`` is that export quantized by NNCF (:mod:`visionapp.processors.yolo_quantize`) on the
  user's own frames; the layers it leaves in floating point run in FP32. (OpenVINO's default
  on a BF16 CPU would run them in BF16, which rounds box coordinates to 2-4 px at 640: on the
  traffic video that cost 1-2 mAP50 points for a few percent of speed.)
- ``auto`` measures what is fastest *here*: each available precision times the same frames,
  interleaved, and keeps the fastest that passes the accuracy guard against fp32 on held-out
  calibration frames: ≥ 90% of fp32's boxes found (same class, IoU ≥ 0.7) and AP50 within 1.5
  points, scored against fp32's confident boxes (≥ 0.5) and pooled over classes. The verdict
  is cached beside the exports, keyed by the CPU and OpenVINO version: measured once per
  machine and input shape.

INT8 needs calibration frames. With a folder or video named in ``calibration`` the model is built
in the background at once; otherwise frames of the source being processed are collected as they
arrive (every 5th frame of a video, every still image) until there are enough. Until then — and
if quantization fails — the fastest float precision runs, and the screen says what is pending.
Window and batch runs behave alike: nothing waits for calibration.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from visionapp.core import hardware
from visionapp.core.box_match import Boxes, map50, matched_share
from visionapp.core.types import Frame
from visionapp.processors import yolo_quantize
from visionapp.processors.yolo_direct import MAX_NMS, decode_head
from visionapp.processors.yolo_openvino import (
    compile_openvino,
    openvino_capabilities,
)

log = logging.getLogger(__name__)

REQUESTS = ("auto", "fp32", "bf16", "int8")
GUARD_MATCHED = 0.90  # auto keeps a precision only if it finds this share of fp32's boxes
GUARD_MAP_POINTS = 1.5  # ... and its mAP50 against fp32's confident boxes drops at most this
MATCH_IOU = 0.7
LABEL_CONF, SCORE_CONF = 0.5, 0.01  # fp32's boxes above LABEL_CONF are the labels for mAP50
SAMPLE_EVERY = 5  # from a video source, every 5th frame is a calibration frame
TRIAL_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Choice:
    """What runs now and the line the screen shows about it ("" when nothing to say)."""

    precision: str  # fp32 | bf16 | int8
    note: str = ""
    pending: str = ""  # what is still being prepared, e.g. "int8 calibration 12/48 frames"


@dataclass(frozen=True, slots=True)
class Trial:
    """One precision measured on the calibration frames."""

    precision: str
    ms: float  # median per frame, model only
    matched: float  # share of fp32's boxes found (fp32 itself: 1.0)
    map50_drop: float = 0.0  # AP50 points below fp32's (pooled), against fp32's confident boxes

    @property
    def passes(self) -> bool:
        return self.precision == "fp32" or (self.matched >= GUARD_MATCHED
                                            and self.map50_drop <= GUARD_MAP_POINTS)


def nncf_available() -> bool:
    return importlib.util.find_spec("nncf") is not None


def best_float(capabilities: frozenset[str]) -> str:
    """The float precision to run while nothing is measured: bf16 where OpenVINO has it."""
    return "bf16" if "BF16" in capabilities else "fp32"


def explicit(requested: str, capabilities: frozenset[str]) -> Choice:
    """fp32 or bf16 as asked, or fp32 with a note where bf16 is not supported."""
    if requested == "bf16" and "BF16" not in capabilities:
        return Choice("fp32", "bf16 is not supported by this CPU (no AVX512_BF16 or AMX); "
                              "running fp32")
    return Choice(requested)


def choose(trials: Sequence[Trial]) -> Trial:
    """The fastest trial that passes the accuracy guard (fp32, the reference, always does)."""
    passing = [t for t in trials if t.passes]
    if not passing:
        raise ValueError("no precision was measured")
    return min(passing, key=lambda t: t.ms)


def decode(output: np.ndarray, conf: float = 0.25, iou: float = 0.7) -> Boxes:
    """A detection head's (1, 4 + classes, anchors) output → boxes after class-aware NMS, in
    network-input pixels (enough to compare two precisions on the same input)."""
    xyxy, scores, cls = decode_head(output[0], conf=conf, iou=iou, max_det=MAX_NMS)
    return Boxes.of(xyxy, cls, scores)


def run_trials(folders: dict[str, Path], inputs: Sequence[np.ndarray],
               rounds: int = TRIAL_ROUNDS) -> list[Trial]:
    """Time every precision in ``folders`` ({precision: export folder}, fp32 among them) on
    ``inputs``, interleaved frame by frame so other load hits all alike; compare boxes to fp32."""
    compiled = {p: compile_openvino(folder, p) for p, folder in folders.items()}
    times: dict[str, list[float]] = {p: [] for p in compiled}
    boxes: dict[str, list[Boxes]] = {p: [] for p in compiled}
    scored: dict[str, list[Boxes]] = {p: [] for p in compiled}
    labels: list[Boxes] = []
    for x in inputs[:1]:
        for model in compiled.values():
            model(x)  # warm-up
    for r in range(rounds):
        for x in inputs:
            for p, model in compiled.items():
                t0 = time.perf_counter()
                out = model(x)[0]
                times[p].append(time.perf_counter() - t0)
                if r == 0:
                    boxes[p].append(decode(out))
                    scored[p].append(decode(out, conf=SCORE_CONF))
                    if p == "fp32":
                        labels.append(decode(out, conf=LABEL_CONF))
    # pooled over classes: on a dozen frames a bus seen twice would weigh as much as the cars
    reference = map50(labels, scored["fp32"], pooled=True)
    return [Trial(p, 1000 * float(np.median(times[p])),
                  matched_share(boxes["fp32"], boxes[p], MATCH_IOU),
                  100 * (reference - map50(labels, scored[p], pooled=True))) for p in compiled]


class Plan:
    """The precision of one (weights, input shape, requested precision, calibration), over time.

    ``current()`` is cheap and called every frame; ``offer(frame)`` feeds calibration frames
    while they are wanted. The INT8 build and the auto measurement run on a background thread.
    """

    def __init__(self, requested: str, shape_hw: tuple[int, int], calibration: str,
                 fp32_export: Callable[[], Path], int8_dir: Path, decision_file: Path):
        self.requested, self.shape_hw, self.calibration = requested, shape_hw, calibration
        self._fp32_export, self._int8_dir, self._decision_file = (fp32_export, int8_dir,
                                                                  decision_file)
        self._lock = threading.Lock()
        self._interim = best_float(openvino_capabilities())
        self._images: list[np.ndarray] = []
        self._last_key: tuple[int, int] | None = None
        self._offered = 0
        self._thread: threading.Thread | None = None
        self._choice: Choice | None = None  # set once settled
        self._status = ""
        decided = self._cached_decision() if requested == "auto" else None
        if requested == "int8" and self._int8_ready():
            self._choice = Choice("int8")
        elif decided is not None:
            self._choice = decided
        elif requested == "int8" and not nncf_available():
            self._choice = Choice(self._interim, f"int8 needs NNCF (pip install nncf); running "
                                                 f"{self._interim}")
        elif calibration:
            self._start(None)

    # -- per frame

    def offer(self, frame: Frame) -> None:
        """A frame of the source; kept for calibration while frames are still wanted."""
        if not self.collecting:
            return
        with self._lock:
            key = (frame.stream_id, frame.index)
            if self._thread is not None or key == self._last_key:
                return
            self._last_key = key
            self._offered += 1
            if frame.still or (self._offered - 1) % SAMPLE_EVERY == 0:
                self._images.append(frame.image.copy())
            if len(self._images) >= yolo_quantize.CALIBRATION_FRAMES:
                self._start(self._images)

    @property
    def collecting(self) -> bool:
        """True while source frames are wanted for calibration."""
        return self._choice is None and self._thread is None and not self.calibration

    def current(self) -> Choice:
        choice = self._choice
        if choice is not None:
            return choice
        if self._thread is None:
            pending = (f"collecting calibration frames from this source "
                       f"({len(self._images)}/{yolo_quantize.CALIBRATION_FRAMES})")
        else:
            pending = self._status or "calibrating"
        head = ("precision auto: " if self.requested == "auto" else "int8: ")
        return Choice(self._interim, f"{head}{pending}; running {self._interim} meanwhile",
                      pending)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until settled (tests and benchmarks); True when it is."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._choice is None:
            thread = self._thread
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if thread is None:
                time.sleep(min(0.05, left or 0.05))
            else:
                thread.join(left)
        return True

    # -- background work

    def _start(self, images: list[np.ndarray] | None) -> None:
        self._status = "reading calibration frames" if images is None else "calibrating"
        self._thread = threading.Thread(target=self._build, args=(images,), daemon=True,
                                        name="yolo-int8-calibration")
        self._thread.start()

    def _build(self, images: list[np.ndarray] | None) -> None:
        try:
            self._choice = self._settle(images)
        except Exception as exc:  # noqa: BLE001 - any failure falls back to float, said once
            log.warning("yolo.detect precision %s failed: %s", self.requested, exc)
            self._choice = Choice(self._interim, f"{self.requested} failed "
                                                 f"({type(exc).__name__}: {exc}); running "
                                                 f"{self._interim}")
        finally:
            self._images = []  # the frames are not needed any more (plans live as long as the app)

    def _settle(self, images: list[np.ndarray] | None) -> Choice:
        if images is None:
            images = yolo_quantize.frames_from_path(self.calibration)
        # auto holds every 4th frame out of calibration to check the result on
        held_out = self.requested == "auto" and len(images) >= 4
        check = images[::4] if held_out else images
        calibrate = [im for i, im in enumerate(images) if i % 4] if held_out else images
        where = f"{len(calibrate)} frames of {self.calibration or 'this source'}"
        self._status = "exporting to OpenVINO"
        fp32_dir = self._fp32_export()
        int8_error = ""
        if nncf_available():
            self._status = f"quantizing to int8 on {where}"
            try:
                if not self._int8_ready():
                    yolo_quantize.quantize(fp32_dir, self.shape_hw, calibrate, self._int8_dir)
            except Exception as exc:  # noqa: BLE001 - reported, float keeps running
                int8_error = f"{type(exc).__name__}: {exc}"
        else:
            int8_error = "NNCF is not installed (pip install nncf)"
        if self.requested == "int8":
            if int8_error:
                return Choice(self._interim, f"int8 failed ({int8_error}); running "
                                             f"{self._interim}")
            return Choice("int8", f"int8 calibrated on {where}")
        self._status = "measuring fp32, bf16 and int8 on this CPU"
        folders = {"fp32": fp32_dir}
        if "BF16" in openvino_capabilities():
            folders["bf16"] = fp32_dir
        if not int8_error:
            folders["int8"] = self._int8_dir
        inputs = [yolo_quantize.to_input(yolo_quantize.letterbox(im, self.shape_hw))
                  for im in check]
        trials = run_trials(folders, inputs)
        best = choose(trials)
        self._write_decision(best, trials, int8_error)
        return self._decided_choice(best, trials, int8_error)

    # -- the cached verdict of auto

    def _int8_ready(self) -> bool:
        return (self._int8_dir / "metadata.yaml").exists()

    def _decided_choice(self, best: Trial, trials: Sequence[Trial], int8_error: str) -> Choice:
        times = ", ".join(f"{t.precision} {t.ms:.1f} ms" for t in sorted(trials,
                                                                        key=lambda t: t.ms))
        note = (f"precision auto -> {best.precision}: fastest here within the accuracy guard "
                f"({times}; {best.precision} finds {best.matched:.0%} of fp32's boxes, AP50 "
                f"{-best.map50_drop:+.1f})")
        if int8_error:
            note += f"; int8 unavailable: {int8_error}"
        return Choice(best.precision, note)

    def _write_decision(self, best: Trial, trials: Sequence[Trial], int8_error: str) -> None:
        import openvino as ov

        record = {"cpu": hardware.signature(hardware.read_cpu()), "openvino": ov.__version__,
                  "chosen": best.precision, "trials": [asdict(t) for t in trials],
                  "int8_error": int8_error}
        self._decision_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._decision_file.with_name(f".{self._decision_file.name}.tmp")
        temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
        temporary.replace(self._decision_file)

    def _cached_decision(self) -> Choice | None:
        import openvino as ov

        try:
            record = json.loads(self._decision_file.read_text(encoding="utf-8"))
            trials = [Trial(**t) for t in record["trials"]]
            best = next(t for t in trials if t.precision == record["chosen"])
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            return None
        if (record.get("cpu") != hardware.signature(hardware.read_cpu())
                or record.get("openvino") != ov.__version__
                or (best.precision == "int8" and not self._int8_ready())):
            return None
        return self._decided_choice(best, trials, record.get("int8_error", ""))


_PLANS: dict[tuple, Plan] = {}
_PLANS_LOCK = threading.Lock()


def plan_for(key: tuple, make: Callable[[], Plan]) -> Plan:
    """The one Plan per key (weights, shape, requested precision, calibration) in this process."""
    with _PLANS_LOCK:
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = make()
        return plan


def forget_plans() -> None:
    """Drop every plan (tests; a finished background build is not interrupted)."""
    with _PLANS_LOCK:
        _PLANS.clear()
