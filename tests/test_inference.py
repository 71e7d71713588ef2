"""inference.Detector against Ultralytics' own `model.predict(rect=False)`: on ../shared's yolov8n.pt and
coco8's 8 images, or where ../shared is absent on a model the suite trains (conftest's `detector`).

The detector decodes in loader threads and runs AutoBackend + NMS itself; it must return exactly the
boxes `predict` returns, whatever the batch size or the number of loader threads, and must not lose
boxes or images where `predict` would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from augaudit import inference, runtime
from augaudit.datasets import DatasetError

SETTINGS = {"imgsz": 320, "conf": 0.001, "iou": 0.7, "max_det": 300, "batch": 3, "half": True}


@pytest.fixture(scope="module")
def coco8(detector, tmp_path_factory) -> tuple[Path, list[Path]]:
    """The checkpoint and 8 images (coco8's train + val, or 8 synthetic test images), copied."""
    runtime.offline()
    dest = tmp_path_factory.mktemp("images")
    return detector["weights"], sorted(Path(shutil.copy(p, dest)) for p in detector["images"])


def _ultralytics(weights: Path, images: list[Path], settings: dict) -> pd.DataFrame:
    from ultralytics import YOLO

    results = YOLO(str(weights)).predict([str(p) for p in images], imgsz=settings["imgsz"], conf=settings["conf"],
                                         iou=settings["iou"], max_det=settings["max_det"], device="cpu",
                                         batch=len(images), rect=False, verbose=False)
    rows = [(Path(r.path).stem, *box) for r in results for box in r.boxes.data.float().cpu().numpy().tolist()]
    frame = pd.DataFrame(rows, columns=["image_id", "x1", "y1", "x2", "y2", "score", "class_id"])
    return frame[inference.COLUMNS]


def test_detector_returns_ultralytics_predict_boxes(coco8):
    """Same images, ids, classes and ranking as `model.predict`; coordinates and scores to 1e-4."""
    weights, images = coco8
    ours = inference.Detector(weights, SETTINGS, "cpu", workers=2)(images)  # 8 images: batches of 3, 3, 2
    theirs = _ultralytics(weights, images, SETTINGS)
    assert len(ours) == len(theirs) > 8 * 20, "conf 0.001 keeps a long ranking on every image"
    assert list(ours["image_id"]) == list(theirs["image_id"])
    assert (ours["class_id"].to_numpy() == theirs["class_id"].to_numpy()).all()
    cols = ["score", "x1", "y1", "x2", "y2"]
    np.testing.assert_allclose(ours[cols].to_numpy(float), theirs[cols].to_numpy(float), atol=1e-4, rtol=0)


def test_detections_do_not_depend_on_batch_loader_threads_or_prefetch(coco8):
    """The same boxes from batches of 1 decoded one at a time, and from batches of 3 decoded by 4
    threads two batches ahead (as on CUDA); coordinates agree to 0.001 px (oneDNN picks other kernels,
    so other float summation orders, for another batch size)."""
    weights, images = coco8
    one = inference.Detector(weights, {**SETTINGS, "batch": 1}, "cpu", workers=1, prefetch=0)(images)
    many = inference.Detector(weights, SETTINGS, "cpu", workers=4, prefetch=2)(images)
    pd.testing.assert_frame_equal(one, many, check_exact=False, atol=1e-3, rtol=0)
    assert one["image_id"].nunique() == len(images)


def test_nms_time_limit_loses_no_boxes(coco8, monkeypatch):
    """Ultralytics' NMS stops after 2 s + 0.05 s per image and returns nothing for a batch's remaining
    images; on a slow CPU that silently lost detections. A clock that jumps 10 s per reading makes
    every image exceed that limit: the detector must still return every image's boxes."""
    from ultralytics.utils import nms

    weights, images = coco8
    expected = inference.Detector(weights, SETTINGS, "cpu")(images)
    clock = iter(range(0, 10**6, 10))
    monkeypatch.setattr(nms.time, "time", lambda: float(next(clock)))
    slow = inference.Detector(weights, SETTINGS, "cpu")(images)
    pd.testing.assert_frame_equal(slow, expected)
    # the same clock does make Ultralytics' own default drop images (else this test proves nothing)
    assert _ultralytics(weights, images, SETTINGS)["image_id"].nunique() < len(images)


def test_unreadable_image_is_an_error_naming_it(coco8, tmp_path):
    weights, images = coco8
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a JPEG")
    with pytest.raises(DatasetError, match=r"broken\.jpg: not a readable image"):
        inference.Detector(weights, SETTINGS, "cpu")([*images[:2], broken])
