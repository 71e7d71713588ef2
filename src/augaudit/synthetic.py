"""The embedded default dataset: filled shapes on textured backgrounds, with unlabeled distractors.

Generated, not downloaded, so the whole workflow runs offline on a laptop. Triangles always point up,
so a vertical flip is a real distribution shift the `flips` recipe can be audited against. Every
image is drawn from its own generator seeded by (seed, split, index): the same params give
byte-identical files on any machine with the same OpenCV.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from augaudit.datasets import write_data_yaml
from augaudit.runtime import derive_seed

SHAPES = ("circle", "square", "triangle", "cross")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-frequency colour blotches + fine grain + a few stripes: texture the model must ignore."""
    coarse = rng.integers(40, 200, size=(rng.integers(3, 9), rng.integers(3, 9), 3)).astype(np.uint8)
    img = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    img += rng.normal(0, 8, size=(size, size, 3)).astype(np.int16)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(0, 4)):
        p1, p2 = rng.integers(0, size, 2), rng.integers(0, size, 2)
        cv2.line(img, tuple(map(int, p1)), tuple(map(int, p2)), _colour(rng), int(rng.integers(1, 3)))
    return img


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _draw(img: np.ndarray, shape: str, cx: int, cy: int, r: int, colour) -> tuple[int, int, int, int]:
    """Draw one filled shape; return its tight pixel box (x1, y1, x2, y2), exclusive max."""
    if shape == "circle":
        cv2.circle(img, (cx, cy), r, colour, -1, lineType=cv2.LINE_8)
        return cx - r, cy - r, cx + r + 1, cy + r + 1
    if shape == "square":
        cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), colour, -1)
        return cx - r, cy - r, cx + r + 1, cy + r + 1
    if shape == "triangle":
        pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
        cv2.fillPoly(img, [pts], colour)
        return cx - r, cy - r, cx + r + 1, cy + r + 1
    t = max(2, r // 3)  # cross: two bars
    cv2.rectangle(img, (cx - r, cy - t), (cx + r, cy + t), colour, -1)
    cv2.rectangle(img, (cx - t, cy - r), (cx + t, cy + r), colour, -1)
    return cx - r, cy - r, cx + r + 1, cy + r + 1


def _distractors(img: np.ndarray, rng: np.random.Generator, n: int) -> None:
    """Unlabeled clutter: outlines, arcs and dots that look shape-like but are not objects."""
    size = img.shape[0]
    for _ in range(n):
        kind = rng.integers(0, 3)
        c = tuple(map(int, rng.integers(0, size, 2)))
        if kind == 0:
            axes = tuple(int(a) for a in rng.integers(4, 20, 2))
            cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, float(rng.uniform(90, 300)), _colour(rng), 1)
        elif kind == 1:
            cv2.circle(img, c, int(rng.integers(1, 4)), _colour(rng), -1)
        else:
            d = rng.integers(-15, 16, 2)
            cv2.line(img, c, (c[0] + int(d[0]), c[1] + int(d[1])), _colour(rng), 2)


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def make_image(seed: int, size: int, max_objects: int, distractors: int) -> tuple[np.ndarray, list[tuple]]:
    """One image (BGR uint8) and its labels as (class, cx, cy, w, h) normalised."""
    rng = np.random.default_rng(seed)
    img = _background(rng, size)
    _distractors(img, rng, int(rng.integers(0, distractors + 1)))
    boxes, labels = [], []
    lo, hi = max(6, size // 16), max(8, size // 6)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            r = int(rng.integers(lo, hi))
            cx, cy = (int(v) for v in rng.integers(r + 1, size - r - 1, 2))
            box = (cx - r, cy - r, cx + r + 1, cy + r + 1)
            if all(_iou(box, b) < 0.05 for b in boxes):
                break
        else:
            continue
        cls = int(rng.integers(0, len(SHAPES)))
        x1, y1, x2, y2 = _draw(img, SHAPES[cls], cx, cy, r, _colour(rng))
        boxes.append(box)
        labels.append((cls, (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size))
    return img, labels


def generate(out: Path, seed: int, imgsz: int, splits: dict[str, int], max_objects: int, distractors: int) -> None:
    """Write a YOLO dataset (images/<split>/*.png, labels/<split>/*.txt, data.yaml) into `out`."""
    for split, count in splits.items():
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img, labels = make_image(derive_seed(seed, "synthetic", split, i), imgsz, max_objects, distractors)
            stem = f"{split}_{i:05d}"
            ok, png = cv2.imencode(".png", img)
            assert ok, "OpenCV failed to encode a PNG"
            (out / "images" / split / f"{stem}.png").write_bytes(png.tobytes())
            text = "".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in labels)
            (out / "labels" / split / f"{stem}.txt").write_text(text)
    write_data_yaml(out, list(SHAPES), list(splits))
