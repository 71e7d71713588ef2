"""Matching, per-image F1 and mAP through faster-coco-eval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augaudit import metrics


def test_worked_example_of_the_per_image_score():
    # two reference boxes; three detections: one good match, one wrong class, one below conf
    gt_cls = np.array([0, 1])
    gt = np.array([[10, 10, 50, 50], [60, 60, 100, 100]], float)
    det_cls = np.array([0, 0, 1])
    det_score = np.array([0.9, 0.8, 0.6])
    det = np.array([[12, 12, 50, 52], [60, 60, 100, 100], [200, 200, 220, 220]], float)
    tp, fp, fn = metrics.match(gt_cls, gt, det_cls, det_score, det, 0.5)
    assert (tp, fp, fn) == (1, 2, 1)
    assert metrics.f1(tp, fp, fn) == pytest.approx(2 / (2 + 2 + 1)) == pytest.approx(0.4)
    # docs/risk.md: d1's IoU with the class-0 box is 1444 / 1676 ~ 0.86; d2 overlaps the class-1 box exactly
    ious = metrics.iou_matrix(det, gt)
    assert ious[0, 0] == pytest.approx(1444 / 1676) and round(ious[0, 0], 2) == 0.86
    assert ious[1, 1] == 1.0 and ious[2].max() == 0.0


def test_one_reference_box_is_matched_once():
    gt = np.array([[0, 0, 10, 10]], float)
    det = np.array([[0, 0, 10, 10], [0, 0, 10, 11]], float)
    assert metrics.match(np.array([0]), gt, np.array([0, 0]), np.array([0.5, 0.9]), det, 0.5) == (1, 1, 0)


def test_empty_image_scores_one_and_missed_boxes_zero():
    assert metrics.f1(0, 0, 0) == 1.0
    assert metrics.f1(0, 0, 3) == 0.0


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(metrics.iou_matrix(a, b), [[50 / 150, 0]])


def _detections(refs, jitter=0.0):
    rows = [(k, int(c), 0.9, *(box + jitter)) for k, (cls, xyxy) in refs.items()
            for c, box in zip(cls, xyxy, strict=True)]
    return pd.DataFrame(rows, columns=["image_id", "class_id", "score", "x1", "y1", "x2", "y2"])


def test_coco_map_perfect_and_shifted():
    refs = {"a": (np.array([0, 1]), np.array([[10, 10, 50, 50], [60, 60, 90, 100]], float)),
            "b": (np.array([1]), np.array([[5, 5, 40, 30]], float))}
    sizes = {"a": (128, 128), "b": (128, 128)}
    perfect = metrics.coco_map(refs, sizes, _detections(refs), [0, 1])
    assert (perfect["map50"], perfect["map50_95"]) == (pytest.approx(1.0), pytest.approx(1.0))
    shifted = metrics.coco_map(refs, sizes, _detections(refs, jitter=4.0), [0, 1])
    assert shifted["map50"] == pytest.approx(1.0) and shifted["map50_95"] < 0.9
    nothing = metrics.coco_map(refs, sizes, _detections(refs).iloc[:0], [0, 1])
    assert (nothing["map50"], nothing["by_class"][1]["map50"]) == (0.0, 0.0)


def test_slices_per_class_and_size():
    refs = {"a": (np.array([0, 1]), np.array([[10, 10, 20, 20], [0, 0, 60, 60]], float))}
    sizes = {"a": (128, 128)}
    det = _detections(refs)
    det = det[det["class_id"] == 1]  # class 0 (small) missed, class 1 (medium) found
    m = metrics.coco_map(refs, sizes, det, [0, 1, 2])
    assert m["by_class"][1]["map50"] == pytest.approx(1.0) and m["by_class"][0]["map50"] == pytest.approx(0.0)
    assert np.isnan(m["by_class"][2]["map50"])  # no reference of class 2
    assert m["by_size"]["medium"]["map50"] == pytest.approx(1.0) and m["by_size"]["small"]["map50"] == 0.0
    assert metrics.size_bucket(np.array([[0, 0, 10, 10], [0, 0, 40, 40], [0, 0, 100, 100]])).tolist() == \
        ["small", "medium", "large"]


def test_slice_counts_ignore_what_is_outside_the_slice():
    gt_cls = np.array([0, 1])
    gt = np.array([[0, 0, 10, 10], [50, 50, 90, 90]], float)
    det_cls = np.array([1, 0])
    det = np.array([[50, 50, 90, 90], [100, 100, 110, 110]], float)
    assigned = metrics.assign(gt_cls, gt, det_cls, np.array([0.9, 0.8]), det, 0.5)
    assert assigned.tolist() == [1, -1]
    assert metrics.counts(assigned, gt_cls == 0, det_cls == 0) == (0, 1, 1)
    assert metrics.counts(assigned, gt_cls == 1, det_cls == 1) == (1, 0, 0)
