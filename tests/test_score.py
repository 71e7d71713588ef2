"""The score stage's references: labels, and label-free (clean predictions moved by the transform)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augaudit import datasets, synthetic
from augaudit.stages import score


@pytest.fixture
def clean_set(tmp_path):
    synthetic.generate(tmp_path, 0, 96, {"test": 3}, 3, 0)
    return tmp_path / "images" / "test"


def _detections(refs):
    rows = [(k, int(c), 0.9, *box) for k, (cls, xyxy) in refs.items() for c, box in zip(cls, xyxy)]
    return pd.DataFrame(rows, columns=["image_id", "class_id", "score", "x1", "y1", "x2", "y2"])


def test_label_free_references_follow_a_geometric_perturbation(clean_set):
    refs, sizes = score.references(datasets.list_images(clean_set))
    predicted = score._as_references(_detections(refs), refs, conf=0.25)
    params = {"seed": 0, "perturbations": {"vflip": {"severities": [1]}, "gaussian_blur": {"severities": [1]}}}
    moved = score._predicted_references(params, predicted, sizes, "vflip", 1, clean_set)
    for image_id, (cls, xyxy) in predicted.items():
        h = sizes[image_id][1]
        np.testing.assert_array_equal(moved[image_id][0], cls)
        np.testing.assert_allclose(moved[image_id][1][:, [1, 3]], h - xyxy[:, [3, 1]], atol=1e-3)
    assert score._predicted_references(params, predicted, sizes, "gaussian_blur", 1, clean_set) is predicted


def test_unconfident_detections_are_not_references(clean_set):
    refs, _ = score.references(datasets.list_images(clean_set))
    det = _detections(refs)
    det["score"] = 0.1
    predicted = score._as_references(det, refs, conf=0.25)
    assert all(len(cls) == 0 for cls, _ in predicted.values()) and set(predicted) == set(refs)


def test_slices_score_only_what_is_in_them():
    refs = {"a": (np.array([0, 1]), np.array([[0, 0, 10, 10], [0, 0, 50, 50]], float))}
    det = _detections({"a": (np.array([1]), np.array([[0, 0, 50, 50]], float))})
    frame, slices = score.score_test(refs, det, 0.25, 0.5, ["circle", "square"])
    assert frame[["tp", "fp", "fn"]].values.tolist() == [[1, 0, 1]]
    by = slices.set_index("slice")
    assert by.loc["class:square", "f1"] == 1.0 and by.loc["class:circle", "f1"] == 0.0
    assert by.loc["size:medium", "f1"] == 1.0 and by.loc["size:small", "f1"] == 0.0
