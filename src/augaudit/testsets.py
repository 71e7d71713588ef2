"""The images of a test as a model sees them: the clean split's files, or a perturbed set's images.

A perturbed set (data/perturbed/<perturbation>/) is versioned by its manifest: `set.json` names the
perturbation, its ladder and the clean split it was made from; `manifest.csv` has a row per (severity,
image) with the image's seed, the source's SHA-256, the size and the SHA-256 of the perturbed pixels.
The pixels are a pure function of those, so perturb keeps them on disk only where asked
(`perturb.materialize`): a kept image is read back, any other is regenerated from the clean image;
either way its pixels are checked against the manifest, so another CPU or library version that would
draw other pixels is an error naming the perturbation, severity and image, never a silent change of data.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from augaudit import datasets, paths

SET_FILE = "set.json"
MANIFEST = "manifest.csv"


def pixels_sha256(rgb: np.ndarray) -> str:
    """SHA-256 of an image's pixels (uint8, C order) and shape: what a regeneration must reproduce."""
    h = hashlib.sha256(f"{rgb.dtype}:{'x'.join(map(str, rgb.shape))}:".encode())
    h.update(np.ascontiguousarray(rgb).data)
    return h.hexdigest()


@dataclass(frozen=True)
class TestImage:
    """One image of one perturbed test, readable whether or not its pixels were kept."""

    stem: str
    folder: Path          # data/perturbed/<perturbation>
    perturbation: str
    severity: int
    seed: int
    ladder: list | None   # the set's own ladder (None: the catalogue's)
    source: Path          # the clean image it is made from
    size: tuple[int, int]  # (width, height)
    sha256: str           # of the pixels (pixels_sha256)
    kept: Path | None     # the stored PNG, when perturb kept it

    def rgb(self) -> np.ndarray:
        """The perturbed image (RGB uint8): read back if kept, else regenerated; checked either way."""
        if self.kept is not None:
            image = datasets.read_image(self.kept)
        else:
            from augaudit.perturbations import pipeline  # the kernels: only where pixels are made

            clean = datasets.read_image(self.source)
            labels = datasets.read_labels(datasets.label_path(self.source))
            image, _ = pipeline.apply(self.perturbation, clean, labels, self.severity, self.seed, self.ladder)
        if pixels_sha256(image) != self.sha256:
            how = f"the kept {self.kept}" if self.kept is not None else f"regenerated from {self.source}"
            raise datasets.DatasetError(
                f"{self.folder / MANIFEST}: {self.perturbation} severity {self.severity} image {self.stem}: {how} "
                "does not match the manifest's pixel hash (another CPU, library version or edited file): re-run "
                "perturb on this machine (snakemake --forcerun perturb, or dvc repro -f perturb)")
        return image

    def bgr(self) -> np.ndarray:
        import cv2

        return cv2.cvtColor(self.rgb(), cv2.COLOR_RGB2BGR)


@cache
def _read(folder: Path, version: tuple[int, int]) -> tuple[dict, tuple[dict, ...]]:
    """set.json and the manifest's rows of one perturbed set (`version`: their mtimes, so a re-run perturb
    is read afresh)."""
    spec = json.loads((folder / SET_FILE).read_text())
    with open(folder / MANIFEST, newline="") as f:
        rows = tuple(csv.DictReader(f))
    return spec, rows


def perturbed(perturbation: str, severity: int) -> list[TestImage]:
    """The images of one perturbed test, in the manifest's (sorted) order."""
    folder = paths.PERTURBED / perturbation
    try:
        spec, rows = _read(folder.resolve(), tuple((folder / f).stat().st_mtime_ns for f in (SET_FILE, MANIFEST)))
    except (OSError, ValueError, KeyError) as e:
        raise datasets.DatasetError(f"{folder}: not a perturbed set (run perturb): {e}") from None
    source = Path(spec["source"])
    out = []
    for row in rows:
        if int(row["severity"]) != severity:
            continue
        kept = folder / str(severity) / "images" / f"{row['image_id']}.png" if row["kept"] == "1" else None
        out.append(TestImage(row["image_id"], folder, perturbation, severity, int(row["seed"]), spec["ladder"],
                             source / row["source"], (int(row["width"]), int(row["height"])), row["pixels_sha256"],
                             kept))
    if not out:
        raise datasets.DatasetError(f"{folder / MANIFEST}: no images at severity {severity} (re-run perturb)")
    return out


def images(perturbation: str, severity: int, split: str) -> list:
    """What a model is shown for one test: the clean split's image files, or the perturbed test's images."""
    if perturbation == "clean":
        return datasets.list_images(paths.CLEAN / "images" / split)
    return perturbed(perturbation, severity)


def bgr(image) -> np.ndarray:
    """Any test image (a clean file or a TestImage) as BGR uint8."""
    import cv2

    return image.bgr() if isinstance(image, TestImage) else cv2.cvtColor(datasets.read_image(image), cv2.COLOR_RGB2BGR)


def size(image) -> tuple[int, int]:
    """(width, height) of any test image."""
    return image.size if isinstance(image, TestImage) else datasets.image_size(image)
