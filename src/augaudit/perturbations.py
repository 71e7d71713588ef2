"""The catalogue of test-time perturbations, each a severity ladder over one Albumentations transform.

A perturbation maps (image, YOLO labels, severity) to a perturbed image and its reference labels.
Geometric ones move the boxes with the image through Albumentations' bbox machinery; the rule for
boxes that leave the frame is: clip to the frame, drop a box when less than `MIN_VISIBILITY` of its
area is left. Every application is seeded, so the same inputs give the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np

FACTORS = ("blur", "noise", "quality", "lighting", "colour", "geometry", "occlusion", "weather")
MIN_VISIBILITY = 0.3


@dataclass(frozen=True)
class Perturbation:
    """One named perturbation: its factor, default ladder (severity 1..n) and transform builder."""

    name: str
    factor: str
    ladder: tuple
    build: Callable[[object], A.BasicTransform]
    geometric: bool = False


def _const(v):
    return (v, v)


CATALOGUE: dict[str, Perturbation] = {
    p.name: p
    for p in [
        Perturbation("gaussian_blur", "blur", (1, 2, 3, 4, 6),
                     lambda s: A.GaussianBlur(blur_limit=0, sigma_limit=_const(float(s)), p=1)),
        Perturbation("motion_blur", "blur", (5, 9, 13, 17, 21),
                     lambda k: A.MotionBlur(blur_limit=_const(int(k)), allow_shifted=False, p=1)),
        Perturbation("gaussian_noise", "noise", (0.08, 0.12, 0.18, 0.26, 0.38),
                     lambda s: A.GaussNoise(std_range=_const(float(s)), mean_range=(0, 0), p=1)),
        Perturbation("jpeg_compression", "quality", (25, 18, 15, 10, 7),
                     lambda q: A.ImageCompression(compression_type="jpeg", quality_range=_const(int(q)), p=1)),
        Perturbation("brightness", "lighting", (0.1, 0.2, 0.3, 0.4, 0.5),
                     lambda b: A.RandomBrightnessContrast(brightness_limit=_const(float(b)), contrast_limit=0, p=1)),
        Perturbation("contrast", "lighting", (0.4, 0.3, 0.2, 0.1, 0.05),
                     lambda c: A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=_const(float(c) - 1),
                                                          p=1)),
        Perturbation("rotate", "geometry", (5, 10, 15, 20, 30),
                     lambda d: A.Affine(rotate=_const(float(d)), border_mode=cv2.BORDER_CONSTANT, fill=0, p=1),
                     geometric=True),
        Perturbation("vflip", "geometry", (1,), lambda _: A.VerticalFlip(p=1), geometric=True),
        Perturbation("coarse_dropout", "occlusion", (2, 4, 6, 8, 10),
                     lambda n: A.CoarseDropout(num_holes_range=_const(int(n)), hole_height_range=(0.1, 0.1),
                                               hole_width_range=(0.1, 0.1), fill=0, p=1)),
        Perturbation("fog", "weather", (0.2, 0.35, 0.5, 0.65, 0.8),
                     lambda c: A.RandomFog(fog_coef_range=_const(float(c)), alpha_coef=0.12, p=1)),
    ]
}


def ladder_value(name: str, severity: int, ladder: list | None = None) -> object:
    """The transform parameter at a severity (1-based) of the default or an overriding ladder."""
    values = ladder if ladder is not None else CATALOGUE[name].ladder
    return values[severity - 1]


def apply(name: str, image: np.ndarray, labels: np.ndarray, severity: int, seed: int,
          ladder: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Perturb an RGB uint8 image and its (N, 5) [class, cx, cy, w, h] labels at one severity."""
    p = CATALOGUE[name]
    transform = p.build(ladder_value(name, severity, ladder))
    if not p.geometric:
        return A.Compose([transform], seed=seed)(image=image)["image"], labels
    compose = A.Compose([transform], seed=seed,
                        bbox_params=A.BboxParams(format="yolo", label_fields=["cls"], clip=True,
                                                 min_visibility=MIN_VISIBILITY))
    out = compose(image=image, bboxes=labels[:, 1:5], cls=labels[:, 0])
    boxes = np.asarray(out["bboxes"], dtype=float).reshape(-1, 4)
    return out["image"], np.column_stack([np.asarray(out["cls"], dtype=float), boxes]).reshape(-1, 5)
