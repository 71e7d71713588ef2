"""Failure gallery: for each variant and factor, the images whose F1 dropped most, shown clean and
perturbed side by side with the reference boxes (green) and the counted detections (red) drawn."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from augaudit import datasets, drawing, metrics, testsets
from augaudit.paths import boxes_file, prediction_file

TRUE, PREDICTED = (40, 200, 40), (30, 30, 230)  # BGR


def worst(per_image: pd.DataFrame, per_variant: int) -> pd.DataFrame:
    """Per (variant, factor), the `per_variant` images with the largest F1 drop from clean, over every
    replicate (ties: test order)."""
    keys = ["variant", "replicate", "image_id"]
    clean = per_image[per_image["test"] == "clean"].set_index(keys)["f1"]
    perturbed = per_image[per_image["test"] != "clean"].copy()
    perturbed["clean_f1"] = clean.reindex(pd.MultiIndex.from_frame(perturbed[keys])).to_numpy()
    perturbed["drop"] = perturbed["clean_f1"] - perturbed["f1"]
    perturbed = perturbed[perturbed["drop"] > 0].sort_values(["variant", "factor", "drop"],
                                                             ascending=[True, True, False], kind="stable")
    return perturbed.groupby(["variant", "factor"], sort=True).head(per_variant)


def _labels(name: str, severity: int, image) -> np.ndarray:
    """The reference boxes of one test image: the clean label file, or what boxes.csv keeps in the frame."""
    if name == "clean":
        return datasets.read_labels(datasets.label_path(image))
    table = pd.read_csv(boxes_file(name, severity), dtype={"image_id": str})
    rows = table[(table["image_id"] == image.stem) & (table["in_frame"] == 1)]
    return rows[["class", "cx", "cy", "w", "h"]].to_numpy(float)


def _panel(img: np.ndarray, labels: np.ndarray, detections: pd.DataFrame, conf: float, title: str) -> np.ndarray:
    h, w = img.shape[:2]
    scale = max(1, 192 // max(h, w))
    img = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST) if scale > 1 else img.copy()
    drawing.outline_pixels(img, metrics.to_pixels(labels, w, h)[1] * scale, TRUE)
    counted = detections[detections["score"] >= conf]
    drawing.outline_pixels(img, counted[["x1", "y1", "x2", "y2"]].to_numpy(float) * scale, PREDICTED)
    return drawing.captioned(img, title)


def pair(row, eval_split: str, conf: float) -> np.ndarray:
    """Clean and perturbed panels of one failure, side by side (BGR)."""
    panels = []
    for name, severity, f1 in (("clean", 0, row.clean_f1), (row.perturbation, row.severity, row.f1)):
        image = next(i for i in testsets.images(name, severity, eval_split) if i.stem == row.image_id)
        det = pd.read_parquet(prediction_file(row.variant, name, row.replicate, severity))
        det = det[det["image_id"] == row.image_id]
        title = f"{name}{'' if name == 'clean' else f'/{severity}'} {row.replicate} F1 {f1:.2f}"
        panels.append(_panel(testsets.bgr(image), _labels(name, severity, image), det, conf, title))
    return drawing.row(panels, gap=4)
