"""Matching, per-image F1 and COCO mAP (computed by faster-coco-eval, not by hand).

Per-image score: detections with confidence >= `conf` are matched greedily, highest score first, to
an unmatched reference box of the same class with IoU >= `match_iou`; F1 = 2TP / (2TP + FP + FN).
An image with no reference boxes and no detections scores 1 (nothing to find, nothing invented).

Ignore regions (an object mostly hidden by an occluder, or mostly pushed out of the frame): a
detection that matches no reference box but lies in an ignore region of its class (intersection over
the detection's area >= `match_iou`) is neither a TP nor an FP, and a missed ignore region is no FN —
COCO's crowd rule, which mAP applies too (ignore regions enter faster-coco-eval as iscrowd boxes).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd

SIZES = ("small", "medium", "large")
SIZE_LIMITS = (32**2, 96**2)


def to_pixels(labels: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLO [class, cx, cy, w, h] normalised → (classes, xyxy pixels)."""
    c, x, y, w, h = labels.T if len(labels) else np.zeros((5, 0))
    xyxy = np.stack([(x - w / 2) * width, (y - h / 2) * height, (x + w / 2) * width, (y + h / 2) * height], axis=1)
    return c.astype(int), xyxy.reshape(-1, 4)


def to_yolo(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel xyxy → YOLO normalised (cx, cy, w, h)."""
    x1, y1, x2, y2 = xyxy.T
    return np.stack([(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height], axis=1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) against every box in b (M, 4), xyxy."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


IGNORED = -2  # `assign`'s mark for a detection inside an ignore region


def intersection_over_first(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of every box in a (N, 4) with every box in b (M, 4) over the area of the a box."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    return inter / np.maximum(np.prod(a[:, 2:] - a[:, :2], axis=1)[:, None], 1e-12)


def assign(gt_cls: np.ndarray, gt_xyxy: np.ndarray, det_cls: np.ndarray, det_score: np.ndarray,
           det_xyxy: np.ndarray, match_iou: float, ignore: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Greedy same-class matching, highest score first: the matched reference index per detection,
    -1 (unmatched) or IGNORED (unmatched, inside an ignore region (classes, xyxy) of its class)."""
    assigned = np.full(len(det_cls), -1)
    if len(det_cls) == 0:
        return assigned
    if len(gt_cls):
        order = np.argsort(-det_score, kind="stable")
        ious = iou_matrix(det_xyxy[order], gt_xyxy)
        ious[det_cls[order][:, None] != gt_cls[None, :]] = 0.0
        taken = np.zeros(len(gt_cls), bool)
        for i, row in zip(order, ious, strict=True):
            row = np.where(taken, 0.0, row)
            j = int(np.argmax(row))
            if row[j] >= match_iou:
                taken[j] = True
                assigned[i] = j
    if ignore is not None and len(ignore[0]):
        inside = intersection_over_first(det_xyxy, ignore[1])
        inside[det_cls[:, None] != ignore[0][None, :]] = 0.0
        assigned[(assigned == -1) & (inside.max(axis=1) >= match_iou)] = IGNORED
    return assigned


def counts(assigned: np.ndarray, gt_in: np.ndarray, det_in: np.ndarray) -> tuple[int, int, int]:
    """(tp, fp, fn) restricted to a slice, the way COCO restricts to an area range: references
    outside the slice are ignored, as are detections matched to them and unmatched ones outside it."""
    matched = assigned >= 0
    tp = int(np.sum(gt_in[assigned[matched]])) if matched.any() else 0
    fp = int(np.sum((assigned == -1) & det_in))
    return tp, fp, int(np.sum(gt_in)) - tp


def match(gt_cls: np.ndarray, gt_xyxy: np.ndarray, det_cls: np.ndarray, det_score: np.ndarray,
          det_xyxy: np.ndarray, match_iou: float, ignore: tuple[np.ndarray, np.ndarray] | None = None
          ) -> tuple[int, int, int]:
    """(tp, fp, fn) of the greedy matching over the whole image."""
    assigned = assign(gt_cls, gt_xyxy, det_cls, det_score, det_xyxy, match_iou, ignore)
    return counts(assigned, np.ones(len(gt_cls), bool), np.ones(len(det_cls), bool))


def size_bucket(xyxy: np.ndarray) -> np.ndarray:
    """COCO's object sizes by pixel area: small < 32², medium < 96², large."""
    area = np.prod(np.clip(xyxy[:, 2:] - xyxy[:, :2], 0, None), axis=1)
    return np.array(SIZES)[np.searchsorted(SIZE_LIMITS, area, side="right")]


def f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def coco_map(references: dict[str, tuple[np.ndarray, np.ndarray]], sizes: dict[str, tuple[int, int]],
             detections: pd.DataFrame, class_ids: list[int],
             ignored: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> dict[str, float]:
    """mAP50 and mAP50-95 (COCO protocol, faster-coco-eval) over the images in `references`;
    `ignored` boxes are COCO crowd regions (a detection in one is neither TP nor FP)."""
    from faster_coco_eval import COCO, COCOeval_faster

    ids = {image_id: i + 1 for i, image_id in enumerate(sorted(references))}
    images = [{"id": ids[k], "width": sizes[k][0], "height": sizes[k][1]} for k in ids]
    anns = []
    for crowd, boxes in ((0, references), (1, ignored or {})):
        for k, (cls, xyxy) in boxes.items():
            for c, (x1, y1, x2, y2) in zip(cls, xyxy, strict=True):
                anns.append({"id": len(anns) + 1, "image_id": ids[k], "category_id": int(c), "iscrowd": crowd,
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float((x2 - x1) * (y2 - y1))})
    class_ids = sorted(int(c) for c in class_ids)
    det = detections[detections["image_id"].isin(ids)]
    counted = [a for a in anns if not a["iscrowd"]]
    if not counted or det.empty:  # COCOeval cannot run: nothing to find (NaN) or nothing found (0)
        return _constant(float("nan") if not counted else 0.0, counted, class_ids)
    gt = COCO({"images": images, "annotations": anns, "categories": [{"id": c} for c in class_ids]})
    res = [{"image_id": ids[r.image_id], "category_id": int(r.class_id), "score": float(r.score),
            "bbox": [float(r.x1), float(r.y1), float(r.x2 - r.x1), float(r.y2 - r.y1)]}
           for r in det.itertuples(index=False)]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval_faster(gt, gt.loadRes(res), "bbox", print_function=lambda *a, **k: None)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {"map50": float(evaluator.stats[1]), "map50_95": float(evaluator.stats[0]),
            **_slices(evaluator.eval["precision"], [int(c) for c in class_ids])}


def _constant(value: float, anns: list[dict], class_ids: list[int]) -> dict:
    present = {a["category_id"] for a in anns}
    areas = [a["area"] for a in anns]
    sizes = set(np.array(SIZES)[np.searchsorted(SIZE_LIMITS, areas, side="right")]) if areas else set()
    both = {"map50": value, "map50_95": value}
    nan = {"map50": float("nan"), "map50_95": float("nan")}
    return {**both, "by_class": {c: both if c in present else nan for c in class_ids},
            "by_size": {s: both if s in sizes else nan for s in SIZES}}


def _ap(precision: np.ndarray) -> float:
    """Mean of the valid (> -1) entries of a COCO precision block; -1 (nothing to evaluate) → NaN."""
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else float("nan")


def _slices(precision: np.ndarray, class_ids: list[int]) -> dict:
    """Per-class and per-size mAP50 / mAP50-95 from COCOeval's precision[T, R, K, A, M] array."""
    by_class = {c: {"map50": _ap(precision[0, :, k, 0, -1]), "map50_95": _ap(precision[:, :, k, 0, -1])}
                for k, c in enumerate(class_ids)}
    by_size = {s: {"map50": _ap(precision[0, :, :, a, -1]), "map50_95": _ap(precision[:, :, :, a, -1])}
               for a, s in enumerate(SIZES, start=1)}
    return {"by_class": by_class, "by_size": by_size}
