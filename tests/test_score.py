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
    rows = [(k, int(c), 0.9, *box) for k, (cls, xyxy) in refs.items() for c, box in zip(cls, xyxy, strict=True)]
    return pd.DataFrame(rows, columns=["image_id", "class_id", "score", "x1", "y1", "x2", "y2"])


def test_label_free_references_follow_a_geometric_perturbation(clean_set):
    refs, sizes = score.references(datasets.list_images(clean_set))
    predicted = score._as_references(_detections(refs), refs, conf=0.25)
    params = {"seed": 0, "perturbations": {"vflip": {"severities": [1]}, "gaussian_blur": {"severities": [1]}},
              "score": {"ignore_hidden": 0.5}}
    moved, ignored, objects = score._predicted_references(params, predicted, sizes, "vflip", 1, clean_set)
    for image_id, (cls, xyxy) in predicted.items():
        h = sizes[image_id][1]
        np.testing.assert_array_equal(moved[image_id][0], cls)
        np.testing.assert_allclose(moved[image_id][1][:, [1, 3]], h - xyxy[:, [3, 1]], atol=1e-3)
        assert len(ignored[image_id][0]) == 0 and objects[image_id].tolist() == list(range(len(cls)))
    assert score._predicted_references(params, predicted, sizes, "gaussian_blur", 1, clean_set)[0] is predicted


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


def test_slices_keep_the_clean_objects_and_their_clean_size():
    """Under a geometric perturbation an object keeps the size bucket it had clean, and an image is
    scored only on the slices its clean image has (so slice risk counts only images with the slice)."""
    names = ["circle", "square"]
    clean = {"a": (np.array([0]), np.array([[0, 0, 40, 40]], float))}          # one medium circle (1,600 px)
    keys = score.slice_keys(clean, names)
    assert keys[1] == {"a": ["class:circle", "size:medium"]}
    halved = {"a": (np.array([0]), np.array([[0, 0, 20, 20]], float))}          # zoomed out: 400 px, "small"
    det = _detections(halved)
    _, slices = score.score_test(halved, det, 0.25, 0.5, names, objects={"a": np.array([0])}, clean=keys)
    by = slices.set_index("slice")
    assert sorted(by.index) == ["class:circle", "size:medium"]
    assert by.loc["size:medium", ["tp", "fp", "fn"]].tolist() == [1, 0, 0]
    # judged by its own size the found object would have moved to a slice the clean image lacks
    _, own = score.score_test(halved, det, 0.25, 0.5, names)
    assert "size:small" in set(own["slice"])
