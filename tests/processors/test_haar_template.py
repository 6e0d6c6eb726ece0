import cv2
import numpy as np
import pytest

from visionapp.core import registry
from visionapp.core.demo import skimage_photo
from visionapp.core.errors import ParameterError
from visionapp.core.types import Frame


def faces(image, **params):
    result = registry.create("haar.faces", params)(Frame(image, 0, 0))
    d = result.detections
    return [d.xyxy[i] for i in range(len(d)) if d.labels[i] == "face"], result


def test_haar_finds_the_astronauts_face():
    (box,), _ = faces(skimage_photo("astronaut.png"))
    # The face in skimage's astronaut photo lies around x 170–290, y 70–210 (512×512 image).
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert 170 < cx < 290 and 70 < cy < 210


def test_haar_finds_lenas_face(shared):
    image = cv2.imread(str(shared("data/images/lena.jpg")))
    found, result = faces(image)
    assert len(found) == 1 and result.text == ("Haar: 1 face",)


def test_haar_eyes_inside_the_face():
    image = skimage_photo("astronaut.png")
    result = registry.create("haar.faces", {"eyes": True})(Frame(image, 0, 0))
    d = result.detections
    face = d.xyxy[list(d.labels).index("face")]
    eyes = [d.xyxy[i] for i in range(len(d)) if d.labels[i] == "eye"]
    assert eyes
    for e in eyes:
        assert face[0] <= e[0] and e[2] <= face[2] and face[1] <= e[1] and e[3] <= face[3]


def test_haar_nothing_on_blank():
    found, _ = faces(np.full((240, 320, 3), 128, np.uint8))
    assert found == []


def _matches(image, template_path, **params):
    proc = registry.create("template", {"template_path": str(template_path), **params})
    return proc(Frame(image, 0, 0)).detections


def test_template_finds_every_pasted_copy(tmp_path):
    rng = np.random.default_rng(1)
    patch = rng.integers(0, 255, (20, 30, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "t.png"), patch)
    image = rng.integers(0, 255, (200, 300, 3), np.uint8)
    spots = [(10, 15), (150, 40), (200, 160)]
    for x, y in spots:
        image[y : y + 20, x : x + 30] = patch
    d = _matches(image, tmp_path / "t.png")
    assert sorted((int(b[0]), int(b[1])) for b in d.xyxy) == sorted(spots)
    assert np.all(d.confidence > 0.99)


# Zero-mean correlation ignores a brightness offset; squared differences do not, so SQDIFF is
# checked on noise alone (the course's point about choosing the method).
@pytest.mark.parametrize(("method", "brighten"), [("TM_CCOEFF_NORMED", 30),
                                                  ("TM_SQDIFF_NORMED", 0)])
def test_template_on_real_photo_after_brightening_and_noise(shared, tmp_path, method, brighten):
    home = cv2.imread(str(shared("data/images/home.jpg")))
    x, y, w, h = 200, 150, 60, 50
    cv2.imwrite(str(tmp_path / "patch.png"), home[y : y + h, x : x + w])
    rng = np.random.default_rng(0)
    noisy = np.clip(home.astype(np.int16) + brighten + rng.normal(0, 8, home.shape), 0, 255)
    d = _matches(noisy.astype(np.uint8), tmp_path / "patch.png", method=method, threshold=0.7)
    assert len(d) >= 1
    best = d.xyxy[int(np.argmax(d.confidence))]
    assert abs(best[0] - x) <= 1 and abs(best[1] - y) <= 1


def test_template_no_match_on_unrelated_photo(shared, tmp_path):
    home = cv2.imread(str(shared("data/images/home.jpg")))
    cv2.imwrite(str(tmp_path / "patch.png"), home[150:200, 200:260])
    baboon = cv2.imread(str(shared("data/images/baboon.jpg")))
    assert len(_matches(baboon, tmp_path / "patch.png")) == 0


def test_template_with_mask(shared):
    image = cv2.imread(str(shared("data/images/lena_tmpl.jpg")))
    proc = registry.create("template", {
        "template_path": str(shared("data/images/tmpl.png")),
        "mask_path": str(shared("data/images/mask.png")),
        "method": "TM_CCORR_NORMED", "threshold": 0.6, "grayscale": False})
    d = proc(Frame(image, 0, 0)).detections
    # OpenCV's masked-matching sample image hides the 128×128 template at (192, 192).
    assert len(d) == 1 and d.xyxy[0].tolist() == [192, 192, 320, 320]


def test_template_missing_file_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        registry.create("template", {"template_path": str(tmp_path / "none.png")})


def test_template_larger_than_frame_says_so(tmp_path):
    cv2.imwrite(str(tmp_path / "big.png"), np.zeros((50, 50, 3), np.uint8))
    proc = registry.create("template", {"template_path": str(tmp_path / "big.png")})
    result = proc(Frame(np.zeros((20, 20, 3), np.uint8), 0, 0))
    assert "larger than" in result.text[0] and len(result.detections) == 0
