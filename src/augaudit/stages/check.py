"""check: validate the clean dataset before any compute, and report what real data tends to hide.

Fails (one line naming the file, and the line for labels) on a corrupt image, a malformed label line
or a class id the data yaml does not name; reports per split the class balance, background images
(no boxes), boxes out of range and duplicate boxes in results/check/data_check.json. Train and
perturb depend on it, so bad data stops the run before any training.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from augaudit import config, datasets, provenance
from augaudit.files import atomic_dir, write_json
from augaudit.paths import CHECK, CLEAN

def check_image(path: Path) -> tuple[int, int]:
    """The image's size as displayed; a file that does not decode fully is an error naming it."""
    try:
        with Image.open(path) as im:
            im.load()
        return datasets.image_size(path)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise datasets.DatasetError(f"{path}: corrupt or unreadable image ({e})") from None


def check_split(images_dir: Path, n_classes: int) -> dict:
    classes, sizes = Counter(), Counter()
    background, out_of_range, duplicates = [], [], []
    for image in datasets.list_images(images_dir):
        w, h = check_image(image)
        sizes[f"{w}x{h}"] += 1
        label = datasets.label_path(image)
        labels = datasets.read_labels(label)
        if len(labels) == 0:
            background.append(image.name)
            continue
        bad = labels[:, 0] >= n_classes
        if bad.any():
            line = int(np.argmax(bad)) + 1
            raise datasets.DatasetError(f"{label}:{line}: class {int(labels[bad][0, 0])} but the data yaml names "
                                        f"{n_classes} classes")
        classes.update(labels[:, 0].astype(int).tolist())
        x1, y1 = labels[:, 1] - labels[:, 3] / 2, labels[:, 2] - labels[:, 4] / 2
        x2, y2 = labels[:, 1] + labels[:, 3] / 2, labels[:, 2] + labels[:, 4] / 2
        tol = 1e-6
        outside = (x1 < -tol) | (y1 < -tol) | (x2 > 1 + tol) | (y2 > 1 + tol)
        if (outside | (labels[:, 3] <= 0) | (labels[:, 4] <= 0)).any():
            out_of_range.append(label.name)
        if len(np.unique(labels, axis=0)) < len(labels):
            duplicates.append(label.name)
    return {"images": sum(sizes.values()), "boxes_per_class": {str(k): v for k, v in sorted(classes.items())},
            "image_sizes": dict(sizes.most_common()), "background_images": background,
            "labels_with_boxes_out_of_range": out_of_range, "labels_with_duplicate_boxes": duplicates}


def run(params: dict) -> Path:
    info = datasets.read_data_yaml(CLEAN / "data.yaml")
    report = {"names": info["names"], "splits": {split: check_split(folder, len(info["names"]))
                                                  for split, folder in info["splits"].items()}}
    with atomic_dir(CHECK) as tmp:
        write_json(tmp / "data_check.json", report)
        provenance.write(tmp, "check", {"data": CLEAN}, config.stage_params(params, "check"), None)
    return CHECK
