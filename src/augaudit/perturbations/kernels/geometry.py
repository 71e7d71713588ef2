"""Geometric perturbations: they move the boxes with the image (the package's docstring has the
convention); elastic and perspective transforms adapted so boxes follow their pixels."""

from __future__ import annotations

import albumentations as A
import albumentations.augmentations.geometric.functional as fgeometric
import cv2
import numpy as np

from augaudit.perturbations.kernels._shared import HALF_PIXEL, _const


class _ElasticCorruption(A.ElasticTransform):
    """imagecorruptions' elastic_transform with Albumentations' remap; boxes cover their warped pixels.

    Displacement = alpha * Gaussian-smoothed uniform noise in +-0.5 % of the height, smoothed with
    sigma = 1 % of each side (truncated at 3 sigma, reflected border); sampled with reflection.
    """

    def __init__(self, alpha: float):
        super().__init__(alpha=alpha, sigma=1.0, interpolation=cv2.INTER_LINEAR,
                         border_mode=cv2.BORDER_REFLECT, p=1.0)

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        h, w = params["shape"][:2]
        reach = 0.005 * h
        fields = self.random_generator.uniform(-reach, reach, size=(2, h, w)).astype(np.float32)
        ksize = (2 * int(3 * 0.01 * w + 0.5) + 1, 2 * int(3 * 0.01 * h + 0.5) + 1)
        dx, dy = (cv2.GaussianBlur(f, ksize, sigmaX=0.01 * w, sigmaY=0.01 * h,
                                   borderType=cv2.BORDER_REFLECT) * np.float32(self.alpha) for f in fields)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return {"map_x": xs + dx, "map_y": ys + dy}

    def apply_to_bboxes(self, bboxes: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, **params) -> np.ndarray:
        """Each box becomes the box of its pixels (those whose centres it covers) moved by the field with
        nearest interpolation. Albumentations' own marks one pixel more on the right and bottom and reports
        the last pixel's index as the far edge, a pixel off wherever the field stretches or squeezes."""
        h, w = params["shape"][:2]
        size = np.array([w, h, w, h])
        out = bboxes.copy()
        for box in out:
            x1, y1, x2, y2 = np.clip(np.ceil(box[:4] * size - 0.5), 0, size).astype(int)
            mask = np.zeros((h, w), np.uint8)
            mask[y1:y2, x1:x2] = 1
            moved = cv2.remap(mask, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
            cols, rows = np.flatnonzero(moved.any(axis=0)), np.flatnonzero(moved.any(axis=1))
            if cols.size:  # a box that covers no pixel centre stays where it is
                box[:4] = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]) / size
        return out


class _Perspective(A.Perspective):
    """Perspective whose boxes follow the pixels. Albumentations maps box edges with the matrix that warps
    pixel centres, which puts a box up to half a pixel (a tenth on average) right of and below the warped
    object; here that matrix, with the keep_size resize to the frame, is taken to box coordinates by the
    half-pixel shift, as Affine's bbox_matrix is."""

    def __init__(self, scale: float):
        super().__init__(scale=(scale, scale), keep_size=True, border_mode=cv2.BORDER_CONSTANT, fill=0, p=1.0)

    def apply_to_bboxes(self, bboxes: np.ndarray, matrix_bbox: np.ndarray, max_height: int, max_width: int,
                        **params) -> np.ndarray:
        h, w = params["shape"][:2]
        to_frame = np.diag([w / max_width, h / max_height, 1.0])
        warp = HALF_PIXEL @ to_frame @ matrix_bbox @ np.linalg.inv(HALF_PIXEL)
        return fgeometric.perspective_bboxes(bboxes, params["shape"], warp, w, h, keep_size=True)


def _affine(**kw) -> A.Affine:
    """Affine with a black border, the fill every geometric perturbation here uses."""
    return A.Affine(border_mode=cv2.BORDER_CONSTANT, fill=0, p=1.0, **kw)


def _translate(t: float) -> A.BasicTransform:
    """Shift by `t` of the frame along both axes, in one of the four diagonal directions (seeded)."""
    return A.OneOf([_affine(translate_percent={"x": (sx * t, sx * t), "y": (sy * t, sy * t)})
                    for sx in (-1, 1) for sy in (-1, 1)], p=1.0)


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "hflip": lambda _: A.HorizontalFlip(p=1),
    "vflip": lambda _: A.VerticalFlip(p=1),
    "rotate": lambda d: _affine(rotate=_const(float(d)), rotate_method="ellipse"),
    "scale": lambda s: _affine(scale=_const(float(s))),
    "translate": _translate,
    "perspective": _Perspective,
    "elastic_transform": _ElasticCorruption,
}
