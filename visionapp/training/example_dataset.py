"""A small detection dataset in the YOLO layout, made on the spot, to show what one looks like
and to try training without labelling anything first.

Squares (class 0) and discs (class 1) of random size and colour on a noisy background, each
image with its label file: one line per box, ``class x_center y_center width height``, all four
as fractions of the image size. The dataset goes into a new folder (never into one that
exists), with a ``data.yaml`` and a ``README.txt`` that explains the layout.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from visionapp.core.errors import BadInput

CLASS_NAMES = ("square", "disc")
LAYOUT = """\
{name}/
  data.yaml        the folders and the class names:
                     path: /full/path/to/{name}
                     train: images/train
                     val: images/val
                     names: {{0: square, 1: disc}}
  images/train/    img_000.jpg, img_001.jpg, ...
  images/val/      a few images held back for mAP
  labels/train/    img_000.txt, ... (same names)
  labels/val/
A label file has one line per box:
  class x_center y_center width height
the four numbers as fractions (0..1) of the
image's width and height.
"""


def _draw(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[str]]:
    image = rng.integers(30, 90, (size, size, 3), np.uint8)
    image = cv2.GaussianBlur(image, (5, 5), 0)
    lines = []
    for _ in range(int(rng.integers(1, 4))):
        cls = int(rng.integers(0, 2))
        side = int(rng.integers(size // 8, size // 3))
        x, y = (int(v) for v in rng.integers(2, size - side - 2, 2))
        color = tuple(int(c) for c in rng.integers(120, 256, 3))
        if cls == 0:
            cv2.rectangle(image, (x, y), (x + side, y + side), color, -1)
        else:
            cv2.circle(image, (x + side // 2, y + side // 2), side // 2, color, -1,
                       cv2.LINE_AA)
        cx, cy = (x + side / 2) / size, (y + side / 2) / size
        lines.append(f"{cls} {cx:.5f} {cy:.5f} {side / size:.5f} {side / size:.5f}")
    return image, lines


def write_example_dataset(parent: Path, name: str = "example_shapes", *, n_train: int = 24,
                          n_val: int = 8, size: int = 320, seed: int = 0) -> Path:
    """Write the dataset into a new folder ``parent/name`` (``name_1``, … if taken); returns
    its ``data.yaml``. BadInput if ``parent`` is not a folder one can write in."""
    parent = Path(parent).expanduser()
    if not parent.is_dir():
        raise BadInput(f"{parent} is not a folder; choose an existing folder for the example")
    root = parent / name
    n = 1
    while root.exists():
        root = parent / f"{name}_{n}"
        n += 1
    rng = np.random.default_rng(seed)
    try:
        for split, count in (("train", n_train), ("val", n_val)):
            (root / "images" / split).mkdir(parents=True)
            (root / "labels" / split).mkdir(parents=True)
            for i in range(count):
                image, lines = _draw(rng, size)
                if not cv2.imwrite(str(root / "images" / split / f"img_{i:03d}.jpg"), image):
                    raise OSError(f"could not write an image into {root}")
                (root / "labels" / split / f"img_{i:03d}.txt").write_text("\n".join(lines) + "\n")
        names = ", ".join(f"{i}: {n}" for i, n in enumerate(CLASS_NAMES))
        data_yaml = root / "data.yaml"
        data_yaml.write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\n"
                             f"names: {{{names}}}\n")
        (root / "README.txt").write_text(
            "An example YOLO detection dataset made by visionapp.\n\n"
            + LAYOUT.format(name=root.name))
    except OSError as exc:
        raise BadInput(f"could not write the example dataset into {parent}: {exc.strerror or exc}"
                       "; choose a folder you can write in") from None
    return data_yaml
