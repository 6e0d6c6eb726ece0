"""The overlay builders: colour codes, cells laid over the frame, mosaics and letterboxing."""

from __future__ import annotations

import numpy as np

from visionapp.processors.cnn_arithmetic import cell_at
from visionapp.processors.map_views import fit_to, mosaic, place_cells, signed_colour


def test_signed_colour_levels():
    values = np.array([[-2.0, -1.0, 0.0, 1.0, 4.0]], np.float32)
    image = signed_colour(values, scale=2.0)
    assert image[0, :, 0].tolist() == [255, 128, 0, 0, 0]  # blue: |v|/2·255, rounded
    assert image[0, :, 2].tolist() == [0, 0, 0, 128, 255]  # red, saturated at the scale
    assert not image[..., 1].any()


def test_cells_land_where_cell_at_finds_them():
    cells = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    shown = place_cells(cells, 3, 1, (16, 12), grid=False)
    assert shown.shape == (12, 16) and not shown[0].any() and not shown[:, 0].any()
    np.testing.assert_array_equal(shown[1:10, 1:13], np.kron(cells, np.ones((3, 3), np.uint8)))
    for y in range(12):
        for x in range(16):
            cell = cell_at((x, y), 1, 3, (4, 3))
            if cell is None:
                assert shown[y, x] == 0
            else:
                assert shown[y, x] == cells[cell[1], cell[0]]
    outlined = place_cells(cells, 4, 0, (16, 12))
    assert outlined[0, 0] == 0 and outlined[3, 5] == cells[0, 1] // 2  # last row of a cell


def test_mosaic_layout_and_letterbox():
    tiles = np.stack([np.full((2, 3), 10 * (k + 1), np.uint8) for k in range(5)])
    m = mosaic(tiles, gap=1)
    assert m.grid_rc == (2, 3) and m.image.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert [m.tile(k)[0, 0] for k in range(5)] == [10, 20, 30, 40, 50]
    assert m.tile_at((4, 3)) == 4 and m.tile_at((3, 0)) is None  # a gap column
    assert m.tile_at((9, 4)) is None  # the sixth cell is empty
    canvas, (x0, y0, scale) = fit_to(m.image, (40, 10))
    assert canvas.shape == (10, 40) and scale == 2.0 and (x0, y0) == (9, 0)
    assert canvas[y0, x0] == 10 and not canvas[:, :x0].any()
