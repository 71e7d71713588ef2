"""A contact sheet of the perturbation catalogue: one image, every perturbation at every severity.

Rows are perturbations, columns severities; each cell is the perturbed image with its perturbed
labels drawn, so a reader sees at a glance what a severity means and where the boxes went.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from augaudit import perturbations
from augaudit.perturbations import pipeline
from augaudit.synthetic import make_image

LABEL_WIDTH = 132  # the column of row names
HEADER_HEIGHT = 22  # the row of severity numbers
GAP = 2  # between cells, after each cell
BACKGROUND = (255, 255, 255)
EMPTY = (230, 230, 230)  # a severity beyond a perturbation's ladder
BOX = (255, 0, 255)
TEXT = (0, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _draw_boxes(img: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The image with each (class, cx, cy, w, h) normalised box outlined."""
    out = img.copy()
    h, w = img.shape[:2]
    for _, cx, cy, bw, bh in labels:
        x1, y1 = round((cx - bw / 2) * w), round((cy - bh / 2) * h)
        x2, y2 = round((cx + bw / 2) * w) - 1, round((cy + bh / 2) * h) - 1
        cv2.rectangle(out, (x1, y1), (x2, y2), BOX, 1)
    return out


def _text(canvas: np.ndarray, text: str, x: int, y: int) -> None:
    cv2.putText(canvas, text, (x, y), FONT, 0.4, TEXT, 1, cv2.LINE_AA)


def gallery(image_rgb: np.ndarray, labels, names: list[str] | None = None,
            severities=None, seed: int = 0) -> np.ndarray:
    """One RGB uint8 grid: a row per perturbation in `names` (default: the whole catalogue), a
    column per severity in `severities` (default: 1 up to the longest ladder among `names`).

    Shape: (HEADER_HEIGHT + rows * (h + GAP), LABEL_WIDTH + columns * (w + GAP), 3) for an
    h x w image. Cells beyond a perturbation's ladder are left grey.
    """
    names = list(perturbations.CATALOGUE) if names is None else list(names)
    labels = np.asarray(labels, dtype=float).reshape(-1, 5)
    if severities is None:
        severities = range(1, max(len(perturbations.CATALOGUE[n].ladder) for n in names) + 1)
    severities = list(severities)
    h, w = image_rgb.shape[:2]
    canvas = np.full((HEADER_HEIGHT + len(names) * (h + GAP), LABEL_WIDTH + len(severities) * (w + GAP), 3),
                     BACKGROUND, np.uint8)
    for j, s in enumerate(severities):
        _text(canvas, f"severity {s}", LABEL_WIDTH + j * (w + GAP) + 4, HEADER_HEIGHT - 7)
    for i, name in enumerate(names):
        top = HEADER_HEIGHT + i * (h + GAP)
        _text(canvas, name, 4, top + h // 2 + 4)
        for j, s in enumerate(severities):
            left = LABEL_WIDTH + j * (w + GAP)
            if s > len(perturbations.CATALOGUE[name].ladder):
                canvas[top:top + h, left:left + w] = EMPTY
                continue
            img, boxes = pipeline.apply(name, image_rgb, labels, s, seed)
            canvas[top:top + h, left:left + w] = _draw_boxes(img, boxes)
    return canvas


def save_png(grid: np.ndarray, path: str | Path, colours: int = 128) -> None:
    """Write the grid as a palette PNG: a catalogue-wide sheet is ~6 MB in true colour, ~0.9 MB in 128."""
    Image.fromarray(grid).quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) \
        .save(path, optimize=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="docs/perturbation-gallery.png", help="the sheet to write (default: %(default)s)")


def command(args: argparse.Namespace) -> int:
    """Regenerate the documentation sheet: the catalogue at severities 1, 3, 5 on synthetic image 0."""
    img_bgr, labels = make_image(seed=0, size=160, max_objects=4, distractors=3)
    save_png(gallery(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB), labels, severities=[1, 3, 5]), args.out)
    print(f"wrote {args.out}")
    return 0
