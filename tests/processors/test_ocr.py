"""ocr: both engines on pages of known text rendered with a system font (character error rate
against the truth), a real scanned page, the ROI and upstream-box modes, offline operation and
the messages for a missing Tesseract; ``visionapp process --txt``."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.model_cache import MODELS
from visionapp.core.types import Detections, Frame, Result
from visionapp.processors import ocr_engines
from visionapp.processors.ocr_prep import ink_mask, to_gray
from visionapp.processors.ocr_samples import (
    CONDITIONS,
    character_error_rate,
    render_page,
    synthetic_set,
    system_fonts,
)

# The targets: clean rendered text, and pages skewed, turned, noisy or faint.
TARGET_CER = {"clean": 0.02, "skewed": 0.08, "turned": 0.08, "noisy": 0.08,
              "low_contrast": 0.08}
PAGE = {"auto_rotate": True, "deskew": True}


def still(image: np.ndarray, context: tuple[Result, ...] = ()) -> Frame:
    return Frame(image, 0, 0, still=True, context=context)


@pytest.fixture(scope="module")
def samples():
    if not system_fonts():
        pytest.fail("no system TrueType font (fonts-dejavu-core) to render test pages with")
    return synthetic_set(per_condition=3, seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_character_error_rate_on_rendered_pages(samples, engine):
    ocr = registry.create("ocr", {"engine": engine, **PAGE})
    by_condition: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    for sample in samples:
        result = ocr(still(sample.image))
        by_condition[sample.condition].append(
            character_error_rate(sample.truth, result.values["text"]))
        (region,) = result.values["regions"]
        if sample.condition == "turned":  # the page was turned upright first
            assert region["orientation_deg"] == 90 * sample.quarter_turns, sample.name
        if sample.condition == "skewed":
            assert region["skew_deg"] == pytest.approx(sample.skew_deg, abs=1.0), sample.name
        # Boxes land on the ink of the image as given (turned or tilted): together they cover it.
        ink = ink_mask(to_gray(sample.image)) > 0
        covered = np.zeros_like(ink)
        for x1, y1, x2, y2 in result.detections.xyxy.astype(int):
            covered[max(0, y1 - 2) : y2 + 3, max(0, x1 - 2) : x2 + 3] = True
        assert (covered & ink).sum() >= 0.97 * ink.sum(), sample.name
    means = {c: float(np.mean(v)) for c, v in by_condition.items()}
    assert all(means[c] <= TARGET_CER[c] for c in CONDITIONS), means


def test_cer_counts_edits():
    assert character_error_rate("hello world", "hello  world\n") == 0.0
    assert character_error_rate("abcd", "abxd") == pytest.approx(0.25)
    assert character_error_rate("abcd", "") == 1.0


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_a_real_scanned_page(shared, engine):
    page = cv2.imread(str(shared("data/images/ocr/eurotext.tif")))
    result = registry.create("ocr", {"engine": engine, "level": "word"})(still(page))
    words = set(re.findall(r"[a-z]+", result.values["text"].lower()))
    assert {"quick", "brown", "lazy", "dog", "spam"} <= words
    assert result.values["lines"] >= 10 and len(result.detections) >= 40  # one box per word
    assert all(0 <= s <= 1 for s in result.detections.confidence)
    assert result.values["regions"][0]["orientation_deg"] == 0  # already upright
    assert "quick" in " ".join(result.detections.labels).lower()


@pytest.fixture(scope="module")
def two_blocks() -> np.ndarray:
    """"ALPHA 123" on the left half, "OMEGA 789" on the right half."""
    font = system_fonts()[0]
    left = render_page(["ALPHA 123"], font, 32)
    right = render_page(["OMEGA 789"], font, 32)
    h = max(left.shape[0], right.shape[0])
    pad = [cv2.copyMakeBorder(p, 0, h - p.shape[0], 0, 0, cv2.BORDER_CONSTANT,
                              value=(250, 250, 250)) for p in (left, right)]
    return np.hstack(pad)


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_roi_reads_only_its_rectangle(two_blocks, engine):
    half = two_blocks.shape[1] // 2
    ocr = registry.create("ocr", {"engine": engine, "region": "roi", "roi_x": half,
                                  "auto_rotate": False})
    result = ocr(still(two_blocks))
    assert result.values["text"] == "OMEGA 789"
    assert result.values["regions"][0]["xyxy"] == [half, 0, two_blocks.shape[1],
                                                   two_blocks.shape[0]]
    assert (result.detections.xyxy[:, 0] >= half).all()  # boxes in frame pixels


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_each_upstream_box_is_read(two_blocks, engine):
    half = two_blocks.shape[1] // 2
    h = two_blocks.shape[0]
    finder = Result("template", detections=Detections.from_lists(
        [[half + 20, 20, two_blocks.shape[1] - 10, h - 20], [20, 20, half - 10, h - 20]],
        [1.0, 1.0], ["sign", "sign"]))
    ocr = registry.create("ocr", {"engine": engine, "region": "boxes", "auto_rotate": False})
    result = ocr(still(two_blocks, (finder,)))
    # (RapidOCR may split a line at a wide gap into two; the words and their order stay.)
    assert [" ".join(r["text"].split()) for r in result.values["regions"]] == [
        "OMEGA 789", "ALPHA 123"]
    assert " ".join(result.values["text"].split()) == "OMEGA 789 ALPHA 123"
    assert result.text[0].endswith("in 2 box(es)")
    nothing = ocr(still(two_blocks))
    assert nothing.values["text"] == "" and "add e.g. yolo.detect" in nothing.text[0]


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_no_text_is_an_empty_result(engine):
    blank = np.full((200, 300, 3), 240, np.uint8)
    result = registry.create("ocr", {"engine": engine})(still(blank))
    assert result.values["text"] == "" and result.values["lines"] == 0
    assert len(result.detections) == 0 and result.text[0] == f"OCR {engine}: 0 line(s)"


def test_preprocessing_preview(two_blocks):
    ocr = registry.create("ocr", {"engine": "tesseract", "threshold": "otsu",
                                  "show_prepared": True, "auto_rotate": False})
    result = ocr(still(two_blocks))
    assert result.overlay_mode == "side_by_side"
    assert result.overlay.shape == two_blocks.shape
    assert set(np.unique(result.overlay)) <= {0, 255}  # binarised, as the engine read it
    assert "ALPHA 123" in result.values["text"] and "OMEGA 789" in result.values["text"]


# ----------------------------------------------------------------------------- offline, errors


def test_rapidocr_runs_offline_with_local_files(monkeypatch, two_blocks):
    """RapidOCR never reaches its downloader: models from the wheel, a system font."""
    import rapidocr.utils.download_file as download

    def refuse(*args, **kwargs):
        raise AssertionError("RapidOCR tried to download something")

    monkeypatch.setattr(download.DownloadFile, "run", classmethod(refuse))
    MODELS.discard("rapidocr")
    try:
        rapid = ocr_engines.rapid_engine()
        assert rapid.engine.cfg.Global.font_path in {str(p) for p in system_fonts()}
        for key in ("Det", "Cls", "Rec"):
            assert str(rapid.engine.cfg[key].model_path).endswith(".onnx")
        lines = ocr_engines.read_rapidocr(two_blocks, line_flip=True)
        assert [line.text for line in lines] == ["ALPHA 123", "OMEGA 789"]
    finally:
        MODELS.discard("rapidocr")


def _one_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_missing_tesseract_names_the_debian_package(capsys, monkeypatch, tmp_path):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "tesseract"))
    with pytest.raises(BadInput, match="install the Debian package tesseract-ocr "):
        registry.create("ocr", {"engine": "tesseract"}).prepare()
    line = _one_error(capsys, "process", "demo:frames=2,size=64x48", "-p", "ocr", "-q")
    assert "Tesseract is not installed" in line and "tesseract-ocr" in line


def test_missing_language_pack_names_its_package(capsys):
    line = _one_error(capsys, "process", "demo:frames=2,size=64x48", "-p", "ocr", "--set",
                      "ocr.engine=tesseract", "--set", "ocr.language=eng+xyz", "-q")
    assert "no language pack 'xyz'" in line and "tesseract-ocr-xyz" in line
    assert ocr_engines.debian_package("chi_sim") == "tesseract-ocr-chi-sim"


def test_unreadable_language_setting_is_refused():
    with pytest.raises(ParameterError, match="ocr.language='eng deu' is not a Tesseract"):
        registry.create("ocr", {"language": "eng deu"})


# ----------------------------------------------------------------------------- --txt


def test_txt_writes_each_image_s_text(capsys, tmp_path):
    font = system_fonts()[0]
    folder = tmp_path / "pages"
    folder.mkdir()
    cv2.imwrite(str(folder / "page_2.png"), render_page(["Total due 348.50"], font, 32))
    cv2.imwrite(str(folder / "page_10.png"), render_page(["Order 5521 shipped"], font, 32))
    cv2.imwrite(str(folder / "page_3.png"), np.full((100, 200, 3), 250, np.uint8))
    txt = tmp_path / "out.txt"
    args = ["process", str(folder), "-p", "ocr", "--set", "ocr.engine=tesseract", "--txt",
            str(txt), "-q"]
    assert main(args) == 0
    assert txt.read_text() == ("=== page_2.png ===\nTotal due 348.50\n\n"
                               "=== page_3.png ===\n\n"
                               "=== page_10.png ===\nOrder 5521 shipped\n\n")
    assert not list(tmp_path.glob(".out.*"))  # no temporary file left behind
    line = _one_error(capsys, *args)  # an existing file is not overwritten
    assert "already exists" in line and txt.read_text().startswith("=== page_2.png")
    assert main([*args, "--force"]) == 0


def test_txt_writes_a_video_s_text_when_it_changes(tmp_path):
    font = system_fonts()[0]
    pages = [render_page([text], font, 32) for text in ("OPEN 24 HOURS", "CLOSED")]
    h = max(p.shape[0] for p in pages)
    w = max(p.shape[1] for p in pages)
    video = tmp_path / "sign.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for i in range(8):
        page = pages[0] if i < 5 else pages[1]
        writer.write(cv2.copyMakeBorder(page, 0, h - page.shape[0], 0, w - page.shape[1],
                                        cv2.BORDER_CONSTANT, value=(250, 250, 250)))
    writer.release()
    txt = tmp_path / "sign.txt"
    assert main(["process", str(video), "-p", "ocr", "--set", "ocr.engine=tesseract", "--set",
                 "ocr.auto_rotate=false", "--txt", str(txt), "-q"]) == 0
    assert txt.read_text() == ("=== sign.avi frame 0 (0 ms) ===\nOPEN 24 HOURS\n\n"
                               "=== sign.avi frame 5 (500 ms) ===\nCLOSED\n\n")


def test_txt_without_a_text_reader_is_refused(capsys, tmp_path):
    txt = tmp_path / "out.txt"
    line = _one_error(capsys, "process", "demo:frames=2", "-p", "canny", "--txt", str(txt),
                      "-q")
    assert "add -p ocr" in line and not txt.exists()


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_the_text_read_is_written_beside_the_page_not_over_it(two_blocks, engine):
    from visionapp.core.annotate import annotate

    ocr = registry.create("ocr", {"engine": engine, "auto_rotate": False})
    result = ocr(still(two_blocks))
    assert result.overlay is not None and result.overlay_mode == "side_by_side"
    assert not result.box_labels and result.text == (result.text[0],)  # the summary only
    drawn = annotate(two_blocks, [result])
    h, w = two_blocks.shape[:2]
    assert drawn.shape[:2] == (h, 2 * w)
    # The page beside holds dark text where each line was read, white elsewhere …
    page = drawn[:, w:]
    x1, y1, x2, y2 = (int(v) for v in result.detections.xyxy[0])
    assert (page[y1:y2, x1:x2] < 100).any()
    # … and the frame's words are not painted over: inside the boxes the frame is unchanged
    # but for the box outlines.
    inner = (slice(y1 + 4, y2 - 4), slice(x1 + 4, x2 - 4))
    assert np.array_equal(drawn[:, :w][inner], two_blocks[inner])
    labelled = registry.create("ocr", {"engine": engine, "auto_rotate": False,
                                       "show_text": "on boxes"})(still(two_blocks))
    assert labelled.box_labels and labelled.overlay is None
