"""Values a user types or a file holds: NaN and ±inf, contradicting parameters, broken chain
files, damaged images, and the native libraries' own log lines (issue: trust)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import REPO
from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.errors import ParameterError
from visionapp.core.params import specs

NON_FINITE = ("nan", "inf", "-inf")


def cli(capsys, *args) -> tuple[int, list[str]]:
    """Exit status and the non-empty stderr lines of ``visionapp ARGS``."""
    code = main(list(args))
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def one_error(capsys, *args) -> str:
    code, lines = cli(capsys, *args)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("visionapp: error: ") and "Traceback" not in lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- NaN and ±inf


@pytest.mark.parametrize("setting", ["template.threshold", "adjust.brightness_contrast.alpha",
                                     "adjust.rotate.angle_deg", "haar.faces.scale_factor"])
@pytest.mark.parametrize("text", NON_FINITE)
def test_non_finite_set_values_name_the_parameter_and_range(capsys, tmp_path, setting, text):
    name, _, field = setting.rpartition(".")
    out = tmp_path / "out.mp4"
    line = one_error(capsys, "process", "demo:frames=2,size=64x48", "-p", name, "--set",
                     f"{setting}={text}", "--out", str(out), "-q")
    spec = next(s for s in specs(registry.load(name)) if s.name == field)
    assert f"{setting}='{text}' is not a finite number" in line
    assert f"[{spec.min:g}, {spec.max:g}]" in line
    assert not out.exists()  # nothing was written from a black frame


def test_every_float_parameter_of_every_processor_rejects_nan_and_inf():
    checked = 0
    for name in registry.names():
        for spec in specs(registry.load(name)):
            if spec.type is not float:
                continue
            for value in (math.nan, math.inf, -math.inf):
                with pytest.raises(ParameterError, match="not a finite number") as info:
                    registry.create(name, {spec.name: value})
                assert f"{name}.{spec.name}=" in str(info.value)
                assert info.value.fields == (spec.name,)
            checked += 1
    assert checked >= 20  # the built-ins alone have more than 20 float parameters


@pytest.mark.parametrize(("args", "option"), [
    (["process", "demo:frames=2", "--fps", "nan"], "--fps"),
    (["process", "demo:frames=2", "--fps", "inf"], "--fps"),
    (["process", "demo:frames=2", "--fps", "-1"], "--fps"),
    (["process", "demo:frames=2", "--camera-fps", "nan"], "--camera-fps"),
    (["process", "demo:frames=2", "--max-frames", "-3"], "--max-frames"),
])
def test_numeric_options_reject_non_finite_and_negative(capsys, args, option):
    line = one_error(capsys, *args, "-q")
    # The option is named first, then what it accepts ("up to 1000", "0 (all) or more").
    assert line.startswith(f"visionapp: error: {option} ")
    assert "up to" in line or "or more" in line


def test_make_video_fps_nan(capsys, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), np.zeros((16, 16, 3), np.uint8))
    out = tmp_path / "v.mp4"
    line = one_error(capsys, "make-video", str(frames), "--fps", "nan", "--out", str(out))
    assert "--fps nan is not a frame rate" in line and not out.exists()


# ----------------------------------------------------------------------------- cross-field rules


def test_canny_low_above_high_is_one_line(capsys):
    line = one_error(capsys, "process", "demo:frames=2", "-p", "canny", "--set", "canny.low=300",
                     "--set", "canny.high=100", "-q")
    assert "canny.low=300" in line and "canny.high=100" in line


def test_yolo_explain_beyond_max_det_is_refused():
    # Kept boxes are numbered from #1, so box #5 of 5 exists and #6 does not.
    assert registry.create("yolo.detect", {"explain": 5, "max_det": 5}).explain == 5
    with pytest.raises(ParameterError, match=r"yolo.detect.explain=6 .*yolo.detect.max_det=5"):
        registry.create("yolo.detect", {"explain": 6, "max_det": 5})


def test_rules_are_declared_for_the_gui_to_check_before_applying():
    from visionapp.core.params import broken_rules

    canny = registry.load("canny")
    values = {s.name: s.default for s in specs(canny)}
    assert broken_rules(canny, values) == []
    (error,) = broken_rules(canny, {**values, "low": 250, "high": 200})
    assert error.fields == ("low", "high") and "canny.low=250" in str(error)
    # An edit that keeps the rule is accepted (the GUI raises high before low, as a user would).
    assert registry.replace(canny(), high=900).high == 900


# ----------------------------------------------------------------------------- chain files

CHAINS = {
    "params_string": ('[[processors]]\nname = "canny"\nparams = "low=5"\n', 3,
                      "params must be a table"),
    "enabled_string": ('# mine\n[[processors]]\nname = "canny"\nenabled = "no"\n', 4,
                       "enabled must be true or false"),
    "unknown_top_key": ('titel = "x"\n[[processors]]\nname = "canny"\n', 1, "'titel'"),
    "unknown_processor_key": ('[[processors]]\nname = "sobel"\n\n[[processors]]\nname = "canny"'
                              '\nparam = { low = 5 }\n', 6, "processor 2 (canny): unknown key "
                              "'param'"),
    "inline_bad_value": ('processors = [\n  { name = "sobel" },\n  { name = "canny", params = '
                         '{ low = "5" } },\n]\n', 3, "canny.low='5'"),
    "subtable_nan": ('[[processors]]\nname = "adjust.rotate"\n\n[processors.params]\nscale = 1.0'
                     '\nangle_deg = nan\n', 6, "adjust.rotate.angle_deg=nan is not a finite"),
    "rule": ('[[processors]]\nname = "canny"\nparams.high = 10\nparams.low = 50\n', 4,
             "canny.low=50"),
    "name_missing": ('[[processors]]\nenabled = true\n', 1, "name is missing"),
}


@pytest.mark.parametrize("case", CHAINS)
def test_chain_file_errors_name_the_key_and_line(capsys, tmp_path, case):
    text, line_no, fragment = CHAINS[case]
    chain = tmp_path / "chain.toml"
    chain.write_text(text)
    line = one_error(capsys, "process", "demo:frames=2", "--chain", str(chain), "-q")
    assert f"line {line_no}:" in line and fragment in line


def test_chain_folder_unreadable_and_binary_files(capsys, tmp_path):
    folder = tmp_path / "some_folder"
    folder.mkdir()
    assert "is a folder" in one_error(capsys, "process", "demo:frames=2", "--chain",
                                      f"{folder}/", "-q")
    binary = tmp_path / "chain.toml"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    assert "not a text file" in one_error(capsys, "process", "demo:frames=2", "--chain",
                                          str(binary), "-q")
    # Reading through a file as if it were a folder fails with an OSError other than "missing"
    # (root can read any file, so permissions cannot make one unreadable in CI).
    assert "cannot be read" in one_error(capsys, "process", "demo:frames=2", "--chain",
                                         f"{binary}/inner.toml", "-q")


def test_chain_text_round_trips_without_files():
    from visionapp.core.chain import ChainEntry, dumps, loads

    entries = [ChainEntry("canny", {"low": 20, "view": "blend"}),
               ChainEntry("adjust.rotate", {"angle_deg": 12.5}, enabled=False)]
    again = loads(dumps(entries))
    assert [(e.name, e.params, e.enabled) for e in again] == [
        ("canny", {"low": 20, "view": "blend"}, True), ("adjust.rotate", {"angle_deg": 12.5},
                                                        False)]


def test_toml_key_lines_follow_headers_inline_tables_and_strings():
    from visionapp.core.toml_lines import key_lines, line_of

    text = ('# a chain\nnote = """two\nlines [[x]]"""\n[[processors]]\nname = "a # not a '
            'comment"\nparams = { low = 1,\n  high = 2 }\n\n[[processors]]\nname = "b"\n'
            '[processors.params]\n"view" = \'blend\'\n')
    lines = key_lines(text)
    assert lines[("note",)] == 2
    assert lines[("processors", 0)] == 4 and lines[("processors", 0, "name")] == 5
    assert lines[("processors", 0, "params", "high")] == 7
    assert lines[("processors", 1, "params", "view")] == 12
    assert line_of(lines, ("processors", 1, "params", "missing")) == 11


# ----------------------------------------------------------------------------- damaged images


def _jpeg(shared) -> bytes:
    return shared("data/images/lena.jpg").read_bytes()


def test_truncated_jpeg_alone_is_exit_2(capsys, shared, tmp_path):
    cut = tmp_path / "cut.jpg"
    data = _jpeg(shared)
    cut.write_bytes(data[: len(data) // 3])
    jsonl = tmp_path / "d.jsonl"
    line = one_error(capsys, "process", str(cut), "-p", "canny", "--detections", str(jsonl), "-q")
    assert line.endswith("cut.jpg' is a damaged image: it is truncated (no JPEG end-of-image "
                         "marker)")
    assert not jsonl.exists()


def test_truncated_png_alone_is_exit_2(capsys, tmp_path):
    ok, buf = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3),
                                                                        np.uint8))
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.tobytes()[:-20])  # the IEND chunk and some pixel data are gone
    line = one_error(capsys, "process", str(cut), "-p", "canny", "-q")
    assert line.endswith("cut.png' is a damaged image: it is truncated (its 'IDAT' chunk is cut "
                         "off)")


def test_damaged_images_in_a_folder_are_skipped_and_listed(capsys, shared, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    data = _jpeg(shared)
    (folder / "a_good.jpg").write_bytes(data)
    (folder / "b_cut.jpg").write_bytes(data[: len(data) - 4000])
    cv2.imwrite(str(folder / "c_good.png"), np.zeros((20, 30, 3), np.uint8))
    jsonl = tmp_path / "d.jsonl"
    code, lines = cli(capsys, "process", str(folder), "-p", "canny", "--detections", str(jsonl),
                      "-q")
    assert code == 0
    assert lines == ["visionapp: skipped 1 file(s) in " + str(folder) + " that are not readable "
                     "images: b_cut.jpg"]
    assert len(jsonl.read_text().splitlines()) == 2


def test_jpeg_check_is_not_fooled_by_a_thumbnail_or_a_trailer(shared):
    """An EXIF thumbnail carries its own end marker before the main image; a motion photo
    carries bytes after it. Only a cut main image is damaged."""
    from visionapp.core.images import structure_problem

    main_jpeg = _jpeg(shared)
    ok, thumb = cv2.imencode(".jpg", np.full((16, 16, 3), 90, np.uint8))
    payload = b"Exif\x00\x00" + thumb.tobytes()
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    with_thumb = main_jpeg[:2] + app1 + main_jpeg[2:]
    assert cv2.imdecode(np.frombuffer(with_thumb, np.uint8), cv2.IMREAD_COLOR) is not None
    assert structure_problem(with_thumb) is None
    assert structure_problem(main_jpeg + b"\x00" * 64 + b"ftypmp42 trailing video") is None
    assert "truncated" in structure_problem(with_thumb[: len(with_thumb) - 3000])
    assert "truncated" in structure_problem(main_jpeg[:300])  # cut inside the headers


# ----------------------------------------------------------------------------- native log lines


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OPENCV_LOG_LEVEL", None)
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)
    return subprocess.run([sys.executable, "-m", "visionapp.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=REPO)


def test_missing_camera_prints_exactly_one_line():
    quiet = _run_cli("process", "7", "-p", "canny", "-q")
    lines = quiet.stderr.strip().splitlines()
    assert quiet.returncode == 2 and len(lines) == 1, quiet.stderr
    assert lines[0].startswith("visionapp: error: camera 7 could not be opened")
    loud = _run_cli("-v", "process", "7", "-p", "canny", "-q")
    assert loud.returncode == 2 and ("[ WARN" in loud.stderr or "[ERROR" in loud.stderr)


def test_libjpeg_warnings_only_with_verbose(shared, tmp_path):
    """A JPEG damaged inside (not cut short) still decodes; libjpeg's complaint is hidden."""
    data = bytearray(_jpeg(shared))
    middle = len(data) // 2
    data[middle : middle + 10] = b"\xff\xd3" * 5  # stray restart markers in the scan
    image = tmp_path / "bitflip.jpg"
    image.write_bytes(bytes(data))
    quiet = _run_cli("process", str(image), "-p", "canny", "-q")
    assert quiet.returncode == 0 and quiet.stderr.strip() == "", quiet.stderr
    loud = _run_cli("-v", "process", str(image), "-p", "canny", "-q")
    assert loud.returncode == 0 and "Corrupt JPEG data" in loud.stderr


def test_filtered_stderr_passes_other_lines_through(capfd):
    from visionapp.core import logs

    was_quiet = logs.is_quiet()
    logs.configure(verbose=False)
    try:
        with logs.native_stderr_filtered():
            os.write(2, b"Corrupt JPEG data: 3 extraneous bytes before marker 0xd9\n")
            os.write(2, b"visionapp: keep this line\n")
        assert capfd.readouterr().err == "visionapp: keep this line\n"
    finally:
        logs.configure(verbose=not was_quiet)
