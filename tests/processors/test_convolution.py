"""conv.kernel and conv.pool: the course notes' arithmetic, exactly, against hand computations
and against cv2 / SciPy / plain NumPy references on random arrays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import signal

from visionapp.cli import main
from visionapp.core import registry
from visionapp.core.errors import BadInput, ParameterError
from visionapp.core.types import Frame, Result
from visionapp.processors import cnn_arithmetic as ca
from visionapp.processors.convolution import ConvKernel, ConvPool

VERTICAL_EDGE = np.array([[1, 0, -1]] * 3, np.float64)


def frame_of(gray: np.ndarray) -> Frame:
    return Frame(cv2.cvtColor(gray.astype(np.uint8), cv2.COLOR_GRAY2BGR), 0, 0, still=True)


# ----------------------------------------------------------------------------- worked examples


def test_six_by_six_worked_example_first_value_is_minus_five():
    """The classic hand example: the vertical-edge kernel over the top-left 3×3 patch
        3 0 1          1 0 -1
        1 5 8    ·     1 0 -1    = (3 + 1 + 2)·1 + 0 + (1 + 8 + 2)·(−1) = 6 − 11 = −5,
        2 7 2          1 0 -1
    and along the first row −5, −4, 0, 8 (e.g. the 2nd: (0+5+7) − (2+9+5) = −4)."""
    image = np.array([[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
                      [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]], np.uint8)
    out = ca.correlate(image, VERTICAL_EDGE)
    assert out.shape == (4, 4)  # (6 − 3 + 2×0)/1 + 1 = 4
    assert out[0].tolist() == [-5, -4, 0, 8]
    inspection = ConvKernel().inspect(frame_of(image), (1, 1))  # valid map: cells start at 1
    assert inspection.out_xy == (0, 0) and inspection.window_xy == (0, 0)
    assert inspection.patch.tolist() == [[3, 0, 1], [1, 5, 8], [2, 7, 2]]
    assert inspection.products.tolist() == [[3, 0, -1], [1, 0, -8], [2, 0, -2]]
    assert inspection.total == -5 and inspection.value == -5
    assert "sum: 3 + 0 + (-1) + 1 + 0 + (-8) + 2 + 0 + (-2) = -5" in inspection.lines()
    assert inspection.width_formula == "(6 − 3 + 2×0)/1 + 1 = 4"


def test_eight_by_eight_bright_left_dark_right_finds_the_edge_in_the_middle():
    """Left half 10, right half 0. A window wholly on one side gives 10·3 − 10·3 = 0 or 0; a
    window with its left column(s) bright and right column dark gives 10·3 − 0 = 30: the
    6-wide output rows are 0 0 30 30 0 0 — the edge, two pixels wide, in the middle."""
    image = np.zeros((8, 8), np.uint8)
    image[:, :4] = 10
    out = ConvKernel()(frame_of(image)).values
    assert out["out_wh"] == [6, 6] and out["width_formula"] == "(8 − 3 + 2×0)/1 + 1 = 6"
    full = ca.correlate(image, VERTICAL_EDGE)
    assert full.tolist() == [[0, 0, 30, 30, 0, 0]] * 6
    assert (out["min"], out["max"]) == (0, 30)
    first = ca.inspect_conv(image, VERTICAL_EDGE, (0, 0))
    assert first.total == 10 * 3 - 10 * 3 == 0
    third = ca.inspect_conv(image, VERTICAL_EDGE, (2, 0))
    assert third.patch.tolist() == [[10, 10, 0]] * 3 and third.value == 30


def test_notes_output_size_and_pooling_halves():
    assert ca.size_formula(28, 3, 0, 1) == "(28 − 3 + 2×0)/1 + 1 = 26"
    assert ca.size_formula(26, 2, 0, 2) == "(26 − 2 + 2×0)/2 + 1 = 13"  # pooling halves
    assert ca.size_formula(29, 2, 0, 2) == "⌊(29 − 2 + 2×0)/2⌋ + 1 = 14"
    assert ca.ascii_formula("⌊(29 − 2 + 2×0)/2⌋ + 1 = 14") == "floor((29 - 2 + 2×0)/2) + 1 = 14"


# ----------------------------------------------------------------------------- references


def test_cnns_compute_correlation_not_convolution():
    """cv2.filter2D and scipy's correlate2d equal the layer; convolve2d flips the kernel, which
    for the (antisymmetric) edge kernel flips the sign."""
    image = np.random.default_rng(0).integers(0, 256, (20, 30)).astype(np.float64)
    ours = ca.correlate(image.astype(np.uint8), VERTICAL_EDGE)
    assert np.array_equal(ours, signal.correlate2d(image, VERTICAL_EDGE, mode="valid"))
    reference = cv2.filter2D(image.astype(np.float32), -1, VERTICAL_EDGE.astype(np.float32),
                             borderType=cv2.BORDER_CONSTANT)[1:-1, 1:-1]
    assert np.array_equal(ours, reference)
    flipped = signal.convolve2d(image, VERTICAL_EDGE, mode="valid")
    assert np.array_equal(ours, -flipped) and np.abs(ours).max() > 0


@pytest.mark.parametrize("seed", range(6))
def test_random_kernels_strides_and_paddings_match_scipy(seed):
    rng = np.random.default_rng(seed)
    f = int(rng.choice([1, 3, 5, 7]))
    h, w = (int(v) for v in rng.integers(f, 40, 2))
    image = rng.integers(0, 256, (h, w)).astype(np.uint8)
    kernel = rng.integers(-4, 5, (f, f)).astype(np.float64)
    for padding in ("valid", "same"):
        for stride in (1, 2, 3):
            out = ca.correlate(image, kernel, stride, padding)
            p = ca.pad_of(f, padding)
            padded = np.pad(image.astype(np.float64), p)
            expected = signal.correlate2d(padded, kernel, mode="valid")[::stride, ::stride]
            assert out.shape == expected.shape == (ca.output_size(h, f, p, stride),
                                                   ca.output_size(w, f, p, stride))
            assert np.array_equal(out, expected), (f, padding, stride)


def naive_pool(image: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    rows = (image.shape[0] - size) // stride + 1
    cols = (image.shape[1] - size) // stride + 1
    out = np.zeros((rows, cols, *image.shape[2:]))
    for i in range(rows):
        for j in range(cols):
            window = image[i * stride : i * stride + size, j * stride : j * stride + size]
            out[i, j] = window.max(axis=(0, 1)) if mode == "max" else window.mean(axis=(0, 1))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_pooling_matches_a_plain_loop(seed):
    rng = np.random.default_rng(100 + seed)
    size = int(rng.integers(1, 6))
    stride = int(rng.integers(1, 6))
    h, w = (int(v) for v in rng.integers(size, 33, 2))
    for shape in ((h, w), (h, w, 3)):
        image = rng.integers(0, 256, shape).astype(np.uint8)
        for mode in ("max", "average"):
            out = ca.pool(image, size, stride, mode)
            expected = naive_pool(image, size, stride, mode)
            assert out.shape == expected.shape
            np.testing.assert_allclose(out, expected, atol=1e-4)


def test_max_pool_inspector_names_the_winning_pixel():
    image = np.array([[1, 3, 2, 0], [4, 9, 5, 6], [7, 2, 8, 1], [0, 3, 6, 2]], np.uint8)
    out = ca.pool(image, 2, 2, "max")
    assert out.tolist() == [[9, 6], [7, 8]]
    assert ca.pool(image, 2, 2, "average").tolist() == [[4.25, 3.25], [3.0, 4.25]]
    inspection = ConvPool().inspect(frame_of(image), (2, 0))  # the top-right cell
    assert inspection.out_xy == (1, 0) and inspection.window.tolist() == [[2, 0], [5, 6]]
    assert inspection.winner_xy == (3, 1) and inspection.value == 6  # image[1, 3]
    assert "max = 6, won by input pixel (3, 1)" in inspection.lines()
    mean = ConvPool(mode="average").inspect(frame_of(image), (0, 3))
    assert mean.winner_xy is None and mean.value == (7 + 2 + 0 + 3) / 4


# ----------------------------------------------------------------------------- the processors


def test_processor_map_and_inspector_agree_at_every_cell():
    """What the view shows at a pixel is the inspector's value there: the map is laid out cell
    by cell over the frame, and the inspector finds the same cell."""
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (23, 31)).astype(np.uint8)
    frame = frame_of(gray)
    for params in ({"padding": "valid"}, {"padding": "same", "stride": 2},
                   {"preset": "laplacian", "stride": 3, "relu": True}):
        proc = ConvKernel(**params)
        result = proc(frame)
        assert result.overlay.shape == (23, 31, 3)  # frame-sized: nothing gets stretched
        out = ca.correlate(gray, proc.effective_kernel(), proc.stride, proc.padding)
        if proc.relu:
            out = np.maximum(out, 0)
        scale = np.abs(out).max()
        for y in range(0, 23, 2):
            for x in range(0, 31, 2):
                found = proc.inspect(frame, (x, y))
                if found is None:
                    assert not result.overlay[y, x].any()  # a border without outputs
                    continue
                col, row = found.out_xy
                assert found.value == out[row, col]
                expected_red = round(max(out[row, col], 0) * 255 / scale)
                assert abs(int(result.overlay[y, x, 2]) - expected_red) <= 1


def test_signed_map_is_blue_for_negative_and_red_for_positive():
    image = np.zeros((8, 8), np.uint8)
    image[:, 4:] = 200  # dark left, bright right: the vertical-edge kernel goes negative
    result = ConvKernel(padding="same")(frame_of(image))
    b, g, r = cv2.split(result.overlay)
    # At x = 3: (0 + 0 + 0)·1 − (200 + 200 + 200)·1 = −600; at x = 7 the window's right
    # column is the zero padding: 600 − 0 = 600; flat areas give 0.
    assert result.values["min"] == -600 and result.values["max"] == 600
    assert b[4, 3] == 255 and r[4, 3] == 0 and not g.any()  # −600: full blue
    assert r[4, 7] == 255 and b[4, 7] == 0  # +600: full red
    assert not result.overlay[4, 0].any() and not result.overlay[4, 5].any()  # 0: black
    relu = ConvKernel(padding="same", relu=True)(frame_of(image))
    assert relu.values["min"] == 0 and not relu.overlay[..., 0].any()  # no blue after ReLU
    magnitude = ConvKernel(padding="same", view="magnitude")(frame_of(image))
    assert magnitude.overlay.ndim == 2 and magnitude.overlay[4, 3] == 255


def test_presets_and_a_custom_kernel():
    assert ConvKernel(preset="sobel_x").effective_kernel().tolist() == [
        [-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert ConvKernel(preset="box_blur").effective_kernel().sum() == pytest.approx(1)
    gauss = ConvKernel(preset="gaussian_5x5").effective_kernel()
    assert gauss.shape == (5, 5) and gauss.sum() == pytest.approx(1) and gauss[2, 2] == 36 / 256
    custom = ConvKernel(preset="custom", kernel="1 2 1\n2 4 2\n1,2,1", normalise=True)
    assert custom.effective_kernel()[1, 1] == 4 / 16
    assert ca.parse_kernel("−1 0 1; −2 0 2; −1 0 1")[1, 0] == -2  # a typographic minus
    assert ca.kernel_text(ca.parse_kernel(ca.PRESETS["sharpen"])) == "0 -1 0; -1 5 -1; 0 -1 0"
    flat = np.full((9, 9), 100, np.uint8)  # a uniform patch keeps its value under a blur
    assert ConvKernel(preset="gaussian")(frame_of(flat)).values["max"] == pytest.approx(100)


def test_stride_shows_visible_cells():
    gray = np.random.default_rng(5).integers(0, 256, (40, 48)).astype(np.uint8)
    result = ConvKernel(padding="same", stride=8, view="magnitude")(frame_of(gray))
    assert result.values["out_wh"] == [6, 5]  # ⌈48/8⌉, ⌈40/8⌉
    cell = result.overlay[0:8, 0:8].astype(int)
    assert (cell[:7, :7] == cell[0, 0]).all()  # one value per 8×8 block …
    assert (cell[7, :7] == cell[0, 0] // 2).all()  # … its last row darkened as the outline
    pooled = ConvPool(size=4, stride=4)(frame_of(gray))
    assert pooled.values["out_wh"] == [12, 10] and pooled.overlay.shape == (40, 48)


@pytest.mark.parametrize(("params", "words"), [
    ({"preset": "custom"}, "is empty"),
    ({"preset": "custom", "kernel": "1 0; 0 1"}, "even size"),
    ({"preset": "custom", "kernel": "1 2 3; 4 5"}, "not square"),
    ({"preset": "custom", "kernel": "1 x 1; 1 1 1; 1 1 1"}, "not a number"),
    ({"preset": "custom", "kernel": "; ".join(["1 " * 17] * 17)}, "too large"),
    ({"kernel": "1 1 1; 1 1 1; 1 1 1"}, "ignored while conv.kernel.preset='vertical_edge'"),
    ({"normalise": True}, "sums to 0, so it cannot be normalised"),
    ({"preset": "custom", "kernel": "1 -1 0; 0 0 0; 0 0 0", "normalise": True}, "sums to 0"),
])
def test_bad_kernels_are_one_clear_line(params, words):
    with pytest.raises(ParameterError) as caught:
        ConvKernel(**params)
    message = str(caught.value)
    assert words in message and "\n" not in message and caught.value.fields


def test_window_larger_than_the_frame_is_reported(capsys, tmp_path):
    tiny = frame_of(np.zeros((4, 6), np.uint8))
    with pytest.raises(BadInput, match="5×5 kernel is larger than the 6×4 input"):
        ConvKernel(preset="gaussian_5x5")(tiny)
    assert ConvKernel(preset="gaussian_5x5", padding="same")(tiny).values["out_wh"] == [6, 4]
    with pytest.raises(BadInput, match="stride 5 is larger than the 6×4 input"):
        ConvKernel(stride=5, padding="same")(tiny)
    with pytest.raises(BadInput, match="the 8×8 pool is larger"):
        ConvPool(size=8)(tiny)
    image = tmp_path / "small.png"
    cv2.imwrite(str(image), np.zeros((6, 6, 3), np.uint8))
    out = tmp_path / "out.mp4"
    assert main(["process", str(image), "-p", "conv.pool", "--set", "conv.pool.size=9",
                 "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the 9×9 pool is larger than the 6×6 input" in err[0]
    assert not out.exists()
    assert main(["process", str(image), "-p", "conv.kernel", "--set",
                 "conv.kernel.preset=custom", "--set", "conv.kernel.kernel=1 2; 3 4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "even size" in err[0]


def test_pool_the_previous_processors_map():
    gray = np.random.default_rng(7).integers(0, 256, (12, 12)).astype(np.uint8)
    frame = frame_of(gray)
    edges = ConvKernel(relu=True, view="magnitude")(frame)
    pooled = ConvPool(source="previous")(frame.with_context((edges,)))
    assert pooled.values["in_wh"] == [12, 12] and pooled.values["out_wh"] == [6, 6]
    np.testing.assert_array_equal(pooled.overlay[::2, ::2], naive_pool(edges.overlay, 2, 2,
                                                                     "max"))
    lonely = ConvPool(source="previous")(frame.with_context((Result("x"),)))
    assert lonely.overlay is None and "no map to pool" in lonely.text[0]
    colour = ConvPool(source="color", mode="average", size=3, stride=3)(frame)
    assert colour.overlay.shape == (12, 12, 3)


def test_registered_and_listed():
    for name in ("conv.kernel", "conv.pool"):
        proc = registry.create(name)
        assert proc.name == name
        assert isinstance(proc(frame_of(np.zeros((16, 16), np.uint8))), Result)
