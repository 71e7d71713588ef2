"""Drawing for people, one way everywhere: boxes, captions and sheets of tiles, for the documentation's
catalogue sheet (augaudit.catalogue_sheet), the report's failure panels (augaudit.failures) and its test-set
sheet (stages/report.py). Images are uint8 arrays, 3 channels; colours in the image's own order."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def outline_normalised(img: np.ndarray, labels: np.ndarray, colour: tuple) -> np.ndarray:
    """A copy of the image with each (class, cx, cy, w, h) normalised box outlined on the pixels it
    covers (pixel (i, j) spans [j, j + 1) x [i, i + 1))."""
    out = img.copy()
    h, w = img.shape[:2]
    for _, cx, cy, bw, bh in labels:
        x1, y1 = round((cx - bw / 2) * w), round((cy - bh / 2) * h)
        x2, y2 = round((cx + bw / 2) * w) - 1, round((cy + bh / 2) * h) - 1
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 1)
    return out


def outline_pixels(img: np.ndarray, xyxy, colour: tuple) -> None:
    """Outline (x1, y1, x2, y2) pixel boxes in place."""
    for x1, y1, x2, y2 in xyxy:
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), colour, 1)


def text(img: np.ndarray, words: str, x: int, y: int, size: float = 0.4, colour: tuple = BLACK) -> None:
    """Words written in place, their baseline at y."""
    cv2.putText(img, words, (x, y), FONT, size, colour, 1, cv2.LINE_AA)


def captioned(img: np.ndarray, title: str, height: int = 16, size: float = 0.35) -> np.ndarray:
    """The image under a white bar holding `title`."""
    bar = np.full((height, img.shape[1], 3), 255, np.uint8)
    text(bar, title, 2, height - 4, size)
    return np.vstack([bar, img])


def row(tiles: list[np.ndarray], gap: int = 0) -> np.ndarray:
    """Tiles side by side, padded white at the bottom to the tallest, `gap` white columns between."""
    height = max(t.shape[0] for t in tiles)
    padded = [np.vstack([t, np.full((height - t.shape[0], t.shape[1], 3), 255, np.uint8)]) for t in tiles]
    out = [padded[0]]
    for t in padded[1:]:
        out += ([np.full((height, gap, 3), 255, np.uint8)] if gap else []) + [t]
    return np.hstack(out)


def column(rows: list[np.ndarray]) -> np.ndarray:
    """Rows one under another, padded white on the right to the widest."""
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.hstack([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)]) for r in rows])


def save_png(grid: np.ndarray, path: str | Path, colours: int = 128) -> None:
    """Write an RGB grid as a palette PNG: a catalogue-wide sheet is ~6 MB in true colour, ~0.9 MB in 128."""
    Image.fromarray(grid).quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) \
        .save(path, optimize=True)
