"""pose.angles and pose.reps: synthetic bodies with known joint angles and known repetitions
(jitter at the thresholds, one-frame spikes, dropped landmarks), then the real dancer video."""

from __future__ import annotations

import numpy as np
import pytest

from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.errors import ParameterError
from visionapp.core.pipeline import apply_chain
from visionapp.core.sources import open_source
from visionapp.core.types import Frame, Landmarks, Result
from visionapp.processors.pose_metrics import JOINTS, RepCounter, angle_deg


def _limb(points, vertex: int, first: int, last: int, at_xy, angle: float, length=80.0,
          first_dir_deg: float = -90.0) -> None:
    """Place ``first`` and ``last`` around ``vertex`` so the angle at the vertex is ``angle``."""
    points[vertex] = at_xy
    a = np.radians(first_dir_deg)
    points[first] = at_xy + length * np.array([np.cos(a), np.sin(a)])
    b = a + np.radians(angle)
    points[last] = at_xy + length * np.array([np.cos(b), np.sin(b)])


def body(knee: float = 170.0, elbow: float = 170.0, hidden: tuple[int, ...] = (),
         unsure: tuple[int, ...] = ()) -> Landmarks:
    """33 landmarks with both knees at ``knee`` degrees and both elbows at ``elbow``; the
    ``hidden`` landmarks get visibility 0.05 and a position far off, the ``unsure`` ones only the
    low visibility (what the model reports for a limb it cannot see)."""
    pts = np.zeros((33, 2), np.float64)
    vis = np.ones(33, np.float32)
    for side, dx in ((0, -40.0), (1, 40.0)):
        shoulder, elbow_i, wrist, hip, knee_i, ankle = (11 + side, 13 + side, 15 + side,
                                                        23 + side, 25 + side, 27 + side)
        _limb(pts, knee_i, hip, ankle, np.array([320 + dx, 380.0]), knee)
        pts[hip] = np.array([320 + dx, 300.0])  # hip straight above the knee
        _limb(pts, elbow_i, shoulder, wrist, np.array([320 + 2 * dx, 200.0]), elbow, 60.0)
    for i in hidden:
        pts[i] = (5.0, 470.0)
    vis[list(hidden) + list(unsure)] = 0.05
    return Landmarks(pts.astype(np.float32), "pose", visibility=vis)


def frame_with(marks: Landmarks | None, index: int = 0, source: str = "mediapipe.pose",
               stream_id: int = 0) -> Frame:
    context = (Result(source, landmarks=() if marks is None else (marks,)),)
    return Frame(np.zeros((480, 640, 3), np.uint8), index, index * 33, context=context,
                 stream_id=stream_id)


def test_angle_at_the_middle_point():
    assert angle_deg([0, 0], [1, 0], [2, 0]) == pytest.approx(180)
    assert angle_deg([0, 1], [0, 0], [1, 0]) == pytest.approx(90)
    assert angle_deg([1, 1], [0, 0], [1, 0]) == pytest.approx(45)


@pytest.mark.parametrize(("knee", "elbow"), [(170.0, 160.0), (90.0, 45.0), (60.0, 120.0)])
def test_known_joint_angles(knee, elbow):
    result = registry.create("pose.angles")(frame_with(body(knee, elbow)))
    angles = result.values["angles_deg"]
    for side in ("left", "right"):
        assert angles[f"{side}_knee"] == pytest.approx(knee, abs=0.2)
        assert angles[f"{side}_elbow"] == pytest.approx(elbow, abs=0.2)
    # Each measured joint is labelled where it is.
    labels = dict(zip(result.detections.labels, result.detections.xyxy, strict=True))
    box = labels[f"L knee {knee:.0f}"]
    assert box[0] < 280 < box[2] and box[1] < 380 < box[3]
    assert result.text[1].endswith(f"knees {knee:.0f}/{knee:.0f}")


def test_a_hidden_landmark_is_not_measured():
    result = registry.create("pose.angles")(frame_with(body(hidden=(15,))))  # left wrist
    angles = result.values["angles_deg"]
    assert angles["left_elbow"] is None and angles["right_elbow"] is not None
    assert not any(label.startswith("L elbow") for label in result.detections.labels)
    assert result.text[0].startswith("angles L/R: elbows -/")


def test_angles_without_pose_say_which_processor_to_add(capsys, tmp_path):
    result = registry.create("pose.angles")(Frame(np.zeros((48, 64, 3), np.uint8), 0, 0))
    assert "add mediapipe.pose" in result.text[0] and result.values["angles_deg"] == {}
    for name in ("pose.angles", "pose.reps"):
        jsonl = tmp_path / f"{name}.jsonl"
        assert main(["process", "demo:frames=2,size=64x48", "-p", name, "--detections",
                     str(jsonl), "-q"]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line == (f"visionapp: error: {name} reads what mediapipe.pose (or "
                        f"mediapipe.holistic) finds: add -p mediapipe.pose before -p {name}")
        assert not jsonl.exists()


# ----------------------------------------------------------------------------- repetitions


def squat_angles(reps: int, rng: np.random.Generator, frames_per_rep: int = 30) -> list[float]:
    """Knee angles of ``reps`` squats (170° standing, 75° at the bottom) with ±3° jitter, and
    pauses right at each threshold where the angle dithers across it."""
    out: list[float] = [170.0] * 10
    for _ in range(reps):
        down = np.linspace(170, 75, frames_per_rep // 2)
        up = np.linspace(75, 170, frames_per_rep // 2)
        out += list(down) + [100.0] * 6 + list(up) + [160.0] * 6  # hovering at both thresholds
        out += [170.0] * 6
    return list(np.array(out) + rng.normal(0, 3.0, len(out)))


def run_reps(angles: list[float | None], processor=None, spikes: dict[int, float] | None = None,
             dropped: set[int] = frozenset(), stream_id: int = 0) -> dict:
    """Feed pose.reps one synthetic body per angle; ``spikes`` replace single frames' angles,
    ``dropped`` frames lose the knees: visibility near 0 and the legs guessed folded at 40°."""
    processor = processor or registry.create("pose.reps", {"exercise": "squat"})
    values = {}
    for i, angle in enumerate(angles):
        angle = 40.0 if i in dropped else (spikes or {}).get(i, angle)
        unsure = (25, 26) if i in dropped else ()
        values = processor(frame_with(body(knee=angle, unsure=unsure), index=i,
                                      stream_id=stream_id)).values
    return values


def aigym_count(angles: list[float | None], down: float = 100.0, up: float = 160.0) -> int:
    """The single-step rule of Ultralytics' AIGym on the raw angle: count on entering "down"
    from "up"; no smoothing, no visibility check (a lost knee reads whatever the model
    guesses)."""
    count, stage = 0, None
    for angle in angles:
        if angle < down:
            if stage == "up":
                count += 1
            stage = "down"
        elif angle > up:
            stage = "up"
    return count


def test_clean_squats_are_counted_once_each():
    values = run_reps(squat_angles(5, np.random.default_rng(0)))
    assert values["count"] == 5 and values["phase"] == "up" and values["side"] == "both"
    assert values["exercise"] == "squat" and values["joint"] == "knee"


def test_spikes_and_dropped_landmarks_do_not_count_where_aigym_does():
    angles = squat_angles(4, np.random.default_rng(1))
    # squat_angles: 10 frames standing, then 48 per squat (15 down, 6 at 100°, 15 up, 6 at
    # 160°, 6 standing). One-frame spikes of a misdetected knee: folded while standing (frames
    # 5 and 103) and straight at the bottom of the third squat (frame 119); the knees lost for
    # three frames while standing after the first squat (the model then guesses them folded).
    spikes = {5: 60.0, 103: 60.0, 119: 175.0}
    dropped = {53, 54, 55}
    raw = [40.0 if i in dropped else spikes.get(i, a) for i, a in enumerate(angles)]
    assert aigym_count(raw) == 4 + 4  # each spike and the dropped knees add one
    assert run_reps(angles, spikes=spikes, dropped=dropped)["count"] == 4
    # Each defence matters: without visibility gating the lost knees count, without smoothing
    # and holding the spikes do.
    ungated = registry.create("pose.reps", {"exercise": "squat", "min_visibility": 0.0})
    assert run_reps(angles, ungated, dropped=dropped)["count"] == 5
    unsmoothed = registry.create("pose.reps", {"exercise": "squat", "smoothing_frames": 1,
                                               "hold_frames": 1})
    assert run_reps(angles, unsmoothed, spikes=spikes)["count"] > 4


def test_jitter_at_a_threshold_does_not_flip_the_phase():
    counter = RepCounter(100, 160, smoothing_frames=1, hold_frames=2)
    for angle in [170, 170] + [99, 101] * 10:  # dithering across the lower threshold
        counter.update(angle)
    assert counter.count == 0 and counter.phase == "extended"
    for angle in [80, 80, 80] + [159, 161] * 10 + [170, 170]:
        counter.update(angle)
    assert counter.count == 1 and counter.phase == "extended"


def test_starting_down_or_stopping_half_way_is_no_repetition():
    counter = RepCounter(100, 160)
    for angle in [80] * 10 + [170] * 10 + [80] * 10:  # up from a start already down, then down
        counter.update(angle)
    assert counter.count == 0 and counter.phase == "flexed"


@pytest.mark.parametrize(("exercise", "flexed_phase", "joint"), [
    ("biceps_curl", "up", "elbow"), ("push_up", "down", "elbow"), ("squat", "down", "knee")])
def test_presets_name_their_phases(exercise, flexed_phase, joint):
    reps = registry.create("pose.reps", {"exercise": exercise})
    preset = reps.settings()
    assert preset.joint == joint
    values = {}
    for i, angle in enumerate([175.0] * 6 + [30.0] * 6 + [175.0] * 6 + [30.0] * 6):
        marks = body(knee=angle) if joint == "knee" else body(elbow=angle)
        values = reps(frame_with(marks, index=i)).values
    assert values["count"] == 1 and values["phase"] == flexed_phase


def test_custom_exercise_and_its_rule():
    reps = registry.create("pose.reps", {"exercise": "custom", "joint": "elbow",
                                         "flexed_deg": 50.0, "extended_deg": 120.0})
    values = {}
    for i, angle in enumerate([130.0] * 5 + [40.0] * 5 + [130.0] * 5):
        values = reps(frame_with(body(elbow=angle), index=i)).values
    assert (values["count"], values["phase"], values["joint"]) == (1, "extended", "elbow")
    with pytest.raises(ParameterError, match="pose.reps.flexed_deg=150.0 must be below"):
        registry.create("pose.reps", {"exercise": "custom", "flexed_deg": 150.0,
                                      "extended_deg": 120.0})


def test_one_side_only_and_a_new_stream_starts_at_zero():
    reps = registry.create("pose.reps", {"exercise": "squat", "side": "right"})
    angles = squat_angles(2, np.random.default_rng(4))
    assert run_reps(angles, reps)["count"] == 2
    # The same processor on a new video (a new stream; its timestamps start again) counts
    # afresh.
    values = run_reps(angles[:20], reps, stream_id=1)
    assert values["count"] == 0 and values["side"] == "right"
    # Within one stream the count goes on, even where timestamps repeat (a frame shown again).
    assert run_reps(angles, reps, stream_id=1)["count"] == 2


def test_holistic_bodies_are_read_too():
    result = registry.create("pose.angles")(frame_with(body(90.0), source="mediapipe.holistic"))
    assert result.values["angles_deg"]["left_knee"] == pytest.approx(90.0, abs=0.2)


# ----------------------------------------------------------------------------- the real dancer


@pytest.fixture
def _models(shared, monkeypatch):
    monkeypatch.setenv("VISIONAPP_MODELS_DIR", str(shared("models/pose_landmarker_lite.task")
                                                   .parent))


def _dancer_run(path) -> list[tuple[dict, dict]]:
    chain = (registry.create("mediapipe.pose"), registry.create("pose.angles"),
             registry.create("pose.reps", {"exercise": "custom", "joint": "elbow",
                                           "flexed_deg": 100.0, "extended_deg": 150.0}))
    out = []
    with open_source(str(path)) as source:
        for frame in source:
            _, angles, reps = apply_chain(frame, chain)
            out.append((dict(angles.values["angles_deg"]), dict(reps.values)))
    return out


@pytest.mark.usefixtures("_models")
def test_dancer_angles_in_range_and_the_counter_is_stable(shared):
    path = shared("data/videos/pose_segmentation.mp4")
    first, second = _dancer_run(path), _dancer_run(path)
    assert first == second  # same video, same answers
    measured = [a for angles, _ in first for a in angles.values() if a is not None]
    assert len(measured) >= 0.9 * len(first) * len(JOINTS)
    assert all(0.0 <= a <= 180.0 for a in measured)
    # Legs bearing the weight of someone dancing upright: knees and hips never fold past 30°.
    legs = [a for angles, _ in first for j, a in angles.items()
            if a is not None and ("knee" in j or "hip" in j)]
    assert min(legs) > 30.0
    counts = [reps["count"] for _, reps in first]
    assert counts == sorted(counts) and counts[-1] <= 5  # never decreases; a few at most
