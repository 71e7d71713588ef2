"""The embedded default dataset: deterministic bytes, valid YOLO labels, every class present."""

from __future__ import annotations

import numpy as np

from augaudit import datasets, synthetic
from augaudit.files import hash_path


def test_same_seed_gives_byte_identical_dataset(tmp_path):
    splits = {"train": 6, "test": 3}
    synthetic.generate(tmp_path / "a", 7, 96, splits, 4, 3)
    synthetic.generate(tmp_path / "b", 7, 96, splits, 4, 3)
    synthetic.generate(tmp_path / "c", 8, 96, splits, 4, 3)
    assert hash_path(tmp_path / "a") == hash_path(tmp_path / "b")
    assert hash_path(tmp_path / "a") != hash_path(tmp_path / "c")


def test_labels_are_valid_and_cover_every_class(tmp_path):
    synthetic.generate(tmp_path, 0, 128, {"train": 40}, 4, 3)
    info = datasets.read_data_yaml(tmp_path / "data.yaml")
    assert info["names"] == list(synthetic.SHAPES)
    images = datasets.list_images(info["splits"]["train"])
    assert len(images) == 40
    labels = np.concatenate([datasets.read_labels(datasets.label_path(p)) for p in images])
    assert set(labels[:, 0].astype(int)) == set(range(len(synthetic.SHAPES)))
    xyxy = np.column_stack([labels[:, 1] - labels[:, 3] / 2, labels[:, 2] - labels[:, 4] / 2,
                            labels[:, 1] + labels[:, 3] / 2, labels[:, 2] + labels[:, 4] / 2])
    assert (xyxy >= 0).all() and (xyxy <= 1).all() and (labels[:, 3:] > 0.03).all()


def test_shape_is_drawn_inside_its_box():
    img, labels = synthetic.make_image(3, 128, 1, 0)
    (_, cx, cy, w, h), = labels
    x1, y1, x2, y2 = (int(round(v * 128)) for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    inside = img[y1:y2, x1:x2].reshape(-1, 3)
    _, counts = np.unique(inside, axis=0, return_counts=True)
    assert counts.max() / len(inside) > 0.3  # the filled shape's one colour dominates its box
    ring = np.concatenate([img[y1 - 2, x1:x2], img[y2 + 1, x1:x2]])
    assert not (ring == inside[np.argmax(counts)]).all(axis=1).any()  # and does not spill outside it
