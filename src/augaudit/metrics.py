"""Matching, per-image F1 and COCO mAP (computed by faster-coco-eval, not by hand).

Per-image score: detections with confidence >= `conf` are matched greedily, highest score first, to
an unmatched reference box of the same class with IoU >= `match_iou`; F1 = 2TP / (2TP + FP + FN).
An image with no reference boxes and no detections scores 1 (nothing to find, nothing invented).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd


def to_pixels(labels: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLO [class, cx, cy, w, h] normalised → (classes, xyxy pixels)."""
    c, x, y, w, h = labels.T if len(labels) else np.zeros((5, 0))
    xyxy = np.stack([(x - w / 2) * width, (y - h / 2) * height, (x + w / 2) * width, (y + h / 2) * height], axis=1)
    return c.astype(int), xyxy.reshape(-1, 4)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) against every box in b (M, 4), xyxy."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def match(gt_cls: np.ndarray, gt_xyxy: np.ndarray, det_cls: np.ndarray, det_score: np.ndarray,
          det_xyxy: np.ndarray, match_iou: float) -> tuple[int, int, int]:
    """Greedy same-class matching, highest score first; returns (tp, fp, fn)."""
    if len(det_cls) == 0 or len(gt_cls) == 0:
        return 0, len(det_cls), len(gt_cls)
    order = np.argsort(-det_score, kind="stable")
    ious = iou_matrix(det_xyxy[order], gt_xyxy)
    ious[det_cls[order][:, None] != gt_cls[None, :]] = 0.0
    taken = np.zeros(len(gt_cls), bool)
    tp = 0
    for row in ious:
        row = np.where(taken, 0.0, row)
        j = int(np.argmax(row))
        if row[j] >= match_iou:
            taken[j] = True
            tp += 1
    return tp, len(det_cls) - tp, len(gt_cls) - tp


def f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def coco_map(references: dict[str, tuple[np.ndarray, np.ndarray]], sizes: dict[str, tuple[int, int]],
             detections: pd.DataFrame, class_ids: list[int]) -> dict[str, float]:
    """mAP50 and mAP50-95 (COCO protocol, faster-coco-eval) over the images in `references`."""
    from faster_coco_eval import COCO, COCOeval_faster

    ids = {image_id: i + 1 for i, image_id in enumerate(sorted(references))}
    images = [{"id": ids[k], "width": sizes[k][0], "height": sizes[k][1]} for k in ids]
    anns = []
    for k, (cls, xyxy) in references.items():
        for c, (x1, y1, x2, y2) in zip(cls, xyxy):
            anns.append({"id": len(anns) + 1, "image_id": ids[k], "category_id": int(c), "iscrowd": 0,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float((x2 - x1) * (y2 - y1))})
    if not anns:
        return {"map50": float("nan"), "map50_95": float("nan")}
    gt = COCO({"images": images, "annotations": anns, "categories": [{"id": int(c)} for c in class_ids]})
    det = detections[detections["image_id"].isin(ids)]
    if det.empty:
        return {"map50": 0.0, "map50_95": 0.0}
    res = [{"image_id": ids[r.image_id], "category_id": int(r.class_id), "score": float(r.score),
            "bbox": [float(r.x1), float(r.y1), float(r.x2 - r.x1), float(r.y2 - r.y1)]}
           for r in det.itertuples(index=False)]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval_faster(gt, gt.loadRes(res), "bbox", print_function=lambda *a, **k: None)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {"map50": float(evaluator.stats[1]), "map50_95": float(evaluator.stats[0])}
