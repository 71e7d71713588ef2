"""Failure gallery: for each variant and factor, the images whose F1 dropped most, shown clean and
perturbed side by side with the reference boxes (green) and the counted detections (red) drawn."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from augaudit import datasets, metrics, testsets
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
    img = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST) if scale > 1 else img
    _, xyxy = metrics.to_pixels(labels, w, h)
    for box in xyxy * scale:
        cv2.rectangle(img, tuple(map(int, box[:2])), tuple(map(int, box[2:])), TRUE, 1)
    for r in detections[detections["score"] >= conf].itertuples(index=False):
        cv2.rectangle(img, (int(r.x1 * scale), int(r.y1 * scale)), (int(r.x2 * scale), int(r.y2 * scale)), PREDICTED, 1)
    bar = np.full((16, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def pair(row, eval_split: str, conf: float) -> np.ndarray:
    """Clean and perturbed panels of one failure, side by side (BGR)."""
    panels = []
    for name, severity, f1 in (("clean", 0, row.clean_f1), (row.perturbation, row.severity, row.f1)):
        image = next(i for i in testsets.images(name, severity, eval_split) if i.stem == row.image_id)
        det = pd.read_parquet(prediction_file(row.variant, name, row.replicate, severity))
        det = det[det["image_id"] == row.image_id]
        title = f"{name}{'' if name == 'clean' else f'/{severity}'} {row.replicate} F1 {f1:.2f}"
        panels.append(_panel(testsets.bgr(image), _labels(name, severity, image), det, conf, title))
    height = max(p.shape[0] for p in panels)
    panels = [np.vstack([p, np.full((height - p.shape[0], p.shape[1], 3), 255, np.uint8)]) for p in panels]
    return np.hstack([panels[0], np.full((height, 4, 3), 255, np.uint8), panels[1]])
