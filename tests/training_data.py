"""Tiny generated datasets for training tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def yolo_dataset(root: Path, n_train: int = 8, n_val: int = 4, size: int = 160) -> Path:
    """Squares (class 0) and discs (class 1) on noise, in YOLO layout with a data.yaml."""
    rng = np.random.default_rng(0)
    for split, count in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            image = rng.integers(0, 60, (size, size, 3), np.uint8)
            lines = []
            for cls in (0, 1):
                s = int(rng.integers(24, 48))
                x, y = (int(v) for v in rng.integers(4, size - s - 4, 2))
                if cls == 0:
                    cv2.rectangle(image, (x, y), (x + s, y + s), (255, 255, 255), -1)
                else:
                    cv2.circle(image, (x + s // 2, y + s // 2), s // 2, (0, 0, 255), -1)
                cx, cy = (x + s / 2) / size, (y + s / 2) / size
                lines.append(f"{cls} {cx:.4f} {cy:.4f} {s / size:.4f} {s / size:.4f}")
            cv2.imwrite(str(root / "images" / split / f"img_{i}.jpg"), image)
            (root / "labels" / split / f"img_{i}.txt").write_text("\n".join(lines) + "\n")
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnc: 2\n"
                    "names: [square, disc]\n")
    return data


def shapes_dataset(root: Path, per_class: int = 40, size: int = 64, seed: int = 0) -> Path:
    """Two classes of drawn shapes on noisy backgrounds: circles/ and squares/."""
    rng = np.random.default_rng(seed)
    for name in ("circles", "squares"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 90, (size, size, 3), np.uint8)
            s = int(rng.integers(size // 4, size // 2))
            x, y = (int(v) for v in rng.integers(2, size - s - 2, 2))
            color = tuple(int(c) for c in rng.integers(150, 256, 3))
            if name == "circles":
                cv2.circle(image, (x + s // 2, y + s // 2), s // 2, color, -1)
            else:
                cv2.rectangle(image, (x, y), (x + s, y + s), color, -1)
            cv2.imwrite(str(root / name / f"{name}_{i}.png"), image)
    return root
