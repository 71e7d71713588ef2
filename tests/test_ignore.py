"""Ignore regions: an object mostly hidden by an occluder, or mostly pushed out of the frame, is
neither found nor missed — in the per-image F1 and in mAP — on constructed images and boxes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augaudit import metrics, paths, perturbations, testsets
from augaudit.perturbations import pipeline
from augaudit.stages import score

GT = (np.array([0]), np.array([[10, 10, 40, 40]], float))        # the object that counts
HIDDEN = (np.array([0]), np.array([[60, 60, 90, 90]], float))    # an object an occluder hid


def _det(*boxes):
    return (np.zeros(len(boxes), int), np.array([0.9 - 0.1 * i for i in range(len(boxes))]),
            np.array(boxes, float).reshape(-1, 4))


def test_a_detection_in_an_ignore_region_is_no_false_positive_and_a_miss_no_false_negative():
    cls, score_, xyxy = _det([10, 10, 40, 40], [62, 62, 88, 88], [100, 100, 120, 120])
    with_ignore = metrics.assign(*GT, cls, score_, xyxy, 0.5, HIDDEN)
    assert metrics.counts(with_ignore, np.ones(1, bool), np.ones(3, bool)) == (1, 1, 0)
    # the same boxes with the hidden object counted as a reference: found is a TP, missed an FN
    both = (np.array([0, 0]), np.vstack([GT[1], HIDDEN[1]]))
    assert metrics.match(*both, cls[[0, 2]], score_[[0, 2]], xyxy[[0, 2]], 0.5) == (1, 1, 1)
    # and ignored as absent (the old rule): the detection of the hidden object is a false positive
    assert metrics.match(*GT, cls, score_, xyxy, 0.5) == (1, 2, 0)
    # a detection of another class in the region, or barely inside it, is still a false positive
    assert metrics.match(*GT, np.array([1]), np.array([0.9]), HIDDEN[1], 0.5, HIDDEN) == (0, 1, 1)
    assert metrics.match(*GT, np.zeros(1, int), np.array([0.9]), np.array([[80, 80, 120, 120.]]), 0.5, HIDDEN) \
        == (0, 1, 1)


def test_map_treats_ignore_regions_as_coco_crowd():
    refs, ignored, sizes = {"a": GT}, {"a": HIDDEN}, {"a": (128, 128)}
    det = pd.DataFrame([("a", 0, 0.95, 60, 60, 90, 90), ("a", 0, 0.9, 10, 10, 40, 40)],
                       columns=["image_id", "class_id", "score", "x1", "y1", "x2", "y2"])
    assert metrics.coco_map(refs, sizes, det, [0], ignored)["map50"] == pytest.approx(1.0)
    assert metrics.coco_map(refs, sizes, det, [0])["map50"] < 0.6  # the top detection would be a false positive


def test_hidden_fraction_counts_the_pixels_of_each_box():
    mask = np.zeros((100, 200), bool)
    mask[:, :100] = True  # the left half is blacked out
    labels = np.array([[0, 0.5, 0.5, 1.0, 1.0], [0, 0.25, 0.5, 0.2, 0.2], [0, 0.75, 0.5, 0.2, 0.2],
                       [0, 0.5, 0.5, 0.2, 0.2]])
    np.testing.assert_allclose(pipeline.hidden_fraction(mask, labels), [0.5, 1.0, 0.0, 0.5])


@pytest.mark.parametrize("name", sorted(perturbations.OCCLUDERS))
def test_occluders_report_what_they_hide(name):
    """On a white image, the hidden fraction reported per box is the fraction of its pixels that
    came out black."""
    rng = np.random.default_rng(0)
    image = np.full((96, 128, 3), 255, np.uint8)
    centres = rng.uniform(0.2, 0.8, (12, 2))
    labels = np.column_stack([np.zeros(12), centres, np.full((12, 2), 0.25)])
    out, boxes = pipeline.apply(name, image, labels, 5, 7, details=True)
    black = out.max(axis=2) == 0
    np.testing.assert_allclose(boxes[:, 7], pipeline.hidden_fraction(black, labels))
    assert boxes[:, 7].max() > 0  # something was hidden
    np.testing.assert_array_equal(boxes[:, :5], labels)  # the boxes themselves do not move


def test_a_box_pushed_mostly_out_of_the_frame_becomes_an_ignore_region():
    image = np.zeros((100, 100, 3), np.uint8)
    labels = np.array([[0, 0.3, 0.5, 0.2, 0.2], [1, 0.2, 0.5, 0.3, 0.2]])  # translate (seed 2): 50 % and 17 % left
    _, boxes = pipeline.apply("translate", image, labels, 5, 2, details=True)
    assert boxes[:, 5].tolist() == [0, 1] and boxes[:, 6].tolist() == [1, 0]
    _, kept = pipeline.apply("translate", image, labels, 5, 2)
    np.testing.assert_allclose(kept, boxes[:1, :5])  # the YOLO labels hold only what counts


def test_perturbed_references_split_counted_and_ignored(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = paths.PERTURBED / "random_erasing"
    (folder / "3").mkdir(parents=True)
    (folder / testsets.SET_FILE).write_text('{"perturbation": "random_erasing", "ladder": null, '
                                            '"source": "data/clean/images/test"}')
    pd.DataFrame([{"image_id": "a", "severity": 3, "seed": 1, "source": "a.png", "width": 200, "height": 100,
                   "pixels_sha256": "", "kept": 0}]).to_csv(folder / testsets.MANIFEST, index=False)
    pd.DataFrame([["a", 0, 0.25, 0.5, 0.2, 0.2, 0, 1, 0.7], ["a", 1, 0.75, 0.5, 0.2, 0.2, 1, 1, 0.1],
                  ["a", 2, 0.1, 0.1, 0.1, 0.1, 2, 0, 0.0]], columns=paths.BOX_COLUMNS).to_csv(
        paths.boxes_file("random_erasing", 3), index=False)
    refs, ignored, objects, sizes = score.reference_boxes("random_erasing", 3, "test", ignore_hidden=0.5)
    assert sizes == {"a": (200, 100)}
    np.testing.assert_array_equal(refs["a"][0], [1])                 # the one box that counts
    np.testing.assert_allclose(refs["a"][1], [[130, 40, 170, 60]])
    assert objects["a"].tolist() == [1]
    np.testing.assert_array_equal(ignored["a"][0], [0, 2])            # 70 % hidden; out of the frame
    refs, ignored, _, _ = score.reference_boxes("random_erasing", 3, "test", ignore_hidden=0.75)
    np.testing.assert_array_equal(refs["a"][0], [0, 1])               # 70 % is not mostly hidden at 0.75
