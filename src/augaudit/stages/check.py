"""check: validate the clean dataset before any compute, and report what real data tends to hide.

Fails (one line naming the file, and the line for labels) on a corrupt image, a malformed label line, a
class id the data yaml does not name, or a split whose label files hold no box at all; reports per split
the class balance, background images (no boxes), boxes out of range and duplicate boxes in
results/check/data_check.json. Train and perturb depend on it, so bad data stops the run before any
training.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from augaudit import datasets, provenance, stageparams
from augaudit.files import atomic_dir, write_json
from augaudit.paths import CHECK, CLEAN

# the registry (augaudit.stages): one job, reading no params
JOBS = {}
PARAMS = ()


def check_image(path: Path) -> tuple[int, int]:
    """The image's size as displayed; a file that does not decode fully is an error naming it."""
    try:
        with Image.open(path) as im:
            im.load()
        return datasets.image_size(path)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise datasets.DatasetError(f"{path}: corrupt or unreadable image ({e})") from None


def check_split(images_dir: Path, n_classes: int) -> dict:
    classes, sizes = Counter(), Counter()
    background, out_of_range, duplicates = [], [], []
    images = datasets.list_images(images_dir)
    ids: dict[str, Path] = {}
    for image in images:  # an image's id is its file stem: two with one id would overwrite each other's results
        if image.stem in ids:
            raise datasets.DatasetError(f"{ids[image.stem]} and {image}: two images with the id {image.stem!r} in "
                                        "one split (ids are file names without folder or extension); rename one")
        ids[image.stem] = image
    for image in images:
        w, h = check_image(image)
        sizes[f"{w}x{h}"] += 1
        label = datasets.label_path(image)
        labels = datasets.read_labels(label)
        if len(labels) == 0:
            background.append(image.name)
            continue
        bad = labels[:, 0] >= n_classes
        if bad.any():
            line = _line_of(label, int(np.argmax(bad)))
            raise datasets.DatasetError(f"{label}:{line}: class {int(labels[bad][0, 0])} but the data yaml names "
                                        f"{n_classes} classes")
        classes.update(labels[:, 0].astype(int).tolist())
        x1, y1 = labels[:, 1] - labels[:, 3] / 2, labels[:, 2] - labels[:, 4] / 2
        x2, y2 = labels[:, 1] + labels[:, 3] / 2, labels[:, 2] + labels[:, 4] / 2
        empty = (labels[:, 3] <= 0) | (labels[:, 4] <= 0) | (x2 <= 0) | (y2 <= 0) | (x1 >= 1) | (y1 >= 1)
        if empty.any():
            row = int(np.argmax(empty))
            raise datasets.DatasetError(f"{label}:{_line_of(label, row)}: box {labels[row, 1:].tolist()} has no area "
                                        "inside the image; fix or remove the line")
        tol = 1e-6
        outside = (x1 < -tol) | (y1 < -tol) | (x2 > 1 + tol) | (y2 > 1 + tol)
        if (outside | (labels[:, 3] <= 0) | (labels[:, 4] <= 0)).any():
            out_of_range.append(label.name)
        if len(np.unique(labels, axis=0)) < len(labels):
            duplicates.append(label.name)
    return {"images": sum(sizes.values()), "boxes_per_class": {str(k): v for k, v in sorted(classes.items())},
            "image_sizes": dict(sizes.most_common()), "background_images": background,
            "labels_with_boxes_out_of_range": out_of_range, "labels_with_duplicate_boxes": duplicates}


def _line_of(label: Path, row: int) -> int:
    """The file line of a label row (read_labels skips blank lines)."""
    lines = [n for n, text in enumerate(label.read_text().splitlines(), start=1) if text.strip()]
    return lines[row]


def run(params: dict) -> Path:
    info = datasets.read_data_yaml(CLEAN / "data.yaml")
    try:
        report = {"names": info["names"], "splits": {split: check_split(folder, len(info["names"]))
                                                      for split, folder in info["splits"].items()}}
    except datasets.DatasetError as e:  # name the user's file, not its copy
        raise datasets.DatasetError(datasets.in_source(str(e), CLEAN)) from None
    for split, summary in report["splits"].items():  # unlabeled: scoring against labels refuses it (score)
        summary["labels_folder"] = (CLEAN / "labels" / split).is_dir()
        if summary["labels_folder"] and summary["images"] and not summary["boxes_per_class"]:
            raise datasets.DatasetError(datasets.in_source(
                f"{CLEAN / 'labels' / split}: {summary['images']} images and not one box in their label files: "
                "training on it learns nothing and scoring against it finds nothing to break; label it, or (an "
                "evaluated split) remove its labels folder and score label-free (score.reference: predictions)", CLEAN))
    with atomic_dir(CHECK) as tmp:
        write_json(tmp / "data_check.json", report)
        provenance.write(tmp, "check", {"data": CLEAN}, stageparams.stage_params(params, "check"), None)
    return CHECK
