"""Test-time perturbations: named severity ladders over Albumentations transforms.

The package: `catalogue` (names, factors, ladders, units: metadata only, re-exported here),
`kernels.<factor>` (the transforms), `pipeline` (build, apply, seeds).

A perturbation maps (image, YOLO labels, severity) to a perturbed image and its reference labels.

Boxes. Geometric perturbations (`geometric=True`) move the boxes with the image through
Albumentations' bbox machinery (format yolo, clip=True, min_visibility=MIN_VISIBILITY): a moved box
is clipped to the frame and leaves the labels when less than 30 % of its area is left visible (apply's
`details` still returns it, for scoring as an ignore region). All of them
place boxes by one convention: pixel (i, j) spans [j, j + 1) x [i, i + 1) in box coordinates, so a
warp M of OpenCV's pixel centres (pixel j at j) moves a box by HALF_PIXEL @ M @ HALF_PIXEL^-1, as
Albumentations' Affine and flips do; `_Perspective` makes perspective follow it, and
`_ElasticCorruption` gives a box the extent of its own pixels after the warp. Rotation uses
`rotate_method="ellipse"`: the new box encloses the rotated ellipse inscribed in the old box rather
than the rotated corners, which would inflate a box by up to 41 % per side at 45 degrees and make a
rotated object look missed. Every other perturbation leaves the labels as they are.

Seeds. Every random draw comes from the transform's own generator (`random_generator`,
`py_random`), reseeded on each call, so the same (name, image, severity, seed, ladder) gives the
same bytes; OpenCV's (per-thread) generator, where used, is seeded from it first. Nothing reads
NumPy's or Python's global random state.

imagecorruptions. The 19 corruptions of the `imagecorruptions` package (ImageNet-C, COCO-C) keep its
severity ladders, so scores compare with the literature; `Perturbation.imagecorruptions` names the
counterpart and `note` says where the match is only approximate (docs/perturbations.md has the
table). Where Albumentations lacks a corruption, or implements it differently, a small transform
here re-implements imagecorruptions' algorithm with vectorised NumPy/OpenCV. Like COCO-C, parameters
in pixel units are kept whatever the image size; those the package defines relative to the image
(elastic, fog, pixelate) stay relative. Float results are clipped and truncated to uint8, the cast
imagecorruptions ends with.
"""

from augaudit.perturbations.catalogue import (
    CATALOGUE,
    COCO_C,
    FACTORS,
    OCCLUDERS,
    UNITS,
    Perturbation,
    ladder_axis,
    ladder_value,
)

__all__ = ["CATALOGUE", "COCO_C", "FACTORS", "OCCLUDERS", "UNITS", "Perturbation", "ladder_axis", "ladder_value"]
