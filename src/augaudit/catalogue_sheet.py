"""A contact sheet of the perturbation catalogue: one image, every perturbation at every severity.

Rows are perturbations, columns severities; each cell is the perturbed image with its perturbed
labels drawn, so a reader sees at a glance what a severity means and where the boxes went.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from augaudit import drawing, perturbations
from augaudit.perturbations import pipeline
from augaudit.synthetic import make_image

LABEL_WIDTH = 132  # the column of row names
HEADER_HEIGHT = 22  # the row of severity numbers
GAP = 2  # between cells, after each cell
EMPTY = (230, 230, 230)  # a severity beyond a perturbation's ladder
BOX = (255, 0, 255)

def sheet(image_rgb: np.ndarray, labels, names: list[str] | None = None,
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
                     drawing.WHITE, np.uint8)
    for j, s in enumerate(severities):
        drawing.text(canvas, f"severity {s}", LABEL_WIDTH + j * (w + GAP) + 4, HEADER_HEIGHT - 7)
    for i, name in enumerate(names):
        top = HEADER_HEIGHT + i * (h + GAP)
        drawing.text(canvas, name, 4, top + h // 2 + 4)
        for j, s in enumerate(severities):
            left = LABEL_WIDTH + j * (w + GAP)
            if s > len(perturbations.CATALOGUE[name].ladder):
                canvas[top:top + h, left:left + w] = EMPTY
                continue
            img, boxes = pipeline.apply(name, image_rgb, labels, s, seed)
            canvas[top:top + h, left:left + w] = drawing.outline_normalised(img, boxes, BOX)
    return canvas


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="docs/perturbation-catalogue.png", help="the sheet to write (default: %(default)s)")


def command(args: argparse.Namespace) -> int:
    """Regenerate the documentation sheet: the catalogue at severities 1, 3, 5 on synthetic image 0."""
    img_bgr, labels = make_image(seed=0, size=160, max_objects=4, distractors=3)
    drawing.save_png(sheet(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB), labels, severities=[1, 3, 5]), args.out)
    print(f"wrote {args.out}")
    return 0
