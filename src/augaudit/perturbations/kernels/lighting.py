"""Lighting kernels and builders: brightness, darken and contrast as lookup tables (the closed
forms of imagecorruptions' HSV round trips); gamma and shadow from Albumentations."""

from __future__ import annotations

import functools

import albumentations as A
import cv2
import numpy as np

from augaudit.perturbations.kernels._shared import _c, _channel_extremes, _const, _to_uint8


def _lookup(table: np.ndarray, key: np.ndarray, img: np.ndarray) -> np.ndarray:
    """table[key, channel value] for every channel value, `key` being one uint8 per pixel."""
    index = (key.astype(np.uint16) << 8)[..., None] | img
    return table.ravel()[index]


@functools.lru_cache(maxsize=16)
def _value_shift_table(c: float) -> np.ndarray:
    """[V, x] -> x * V'/V with V' = clip(V + 255c): adding c to HSV value with hue and saturation
    fixed scales a pixel's channels by V'/V -- the closed form of imagecorruptions' rgb2hsv ->
    V + c -> hsv2rgb round trip; a black pixel (V = 0) becomes grey V'."""
    levels = np.arange(256, dtype=np.float32)
    target = np.clip(levels + np.float32(255 * c), 0, 255)
    scale = np.divide(target, levels, out=np.zeros(256, np.float32), where=levels > 0)
    table = scale[:, None] * levels[None, :]
    table[0] = target[0]
    return _to_uint8(table)


def brightness(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' brightness: HSV value + c."""
    return _lookup(_value_shift_table(c), _channel_extremes(img)[0], img)


def darken(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """The mirror of brightness: HSV value - c, an under-exposed frame."""
    return _lookup(_value_shift_table(-c), _channel_extremes(img)[0], img)


def contrast(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' contrast: (x - mean) * c + mean per channel, as a per-channel lookup table."""
    means = np.array(cv2.mean(img)[:3])
    lut = (np.arange(256)[:, None] - means) * c + means
    return cv2.LUT(img, _to_uint8(lut).reshape(256, 1, 3))


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "brightness": _c(brightness),
    "darken": _c(darken),
    "contrast": _c(contrast),
    "gamma": lambda g: A.RandomGamma(gamma_limit=_const(100 * g), p=1),
    "shadow": lambda c: A.RandomShadow(shadow_roi=(0, 0, 1, 1), num_shadows_limit=_const(c[0]),
                                    shadow_intensity_range=_const(c[1]), p=1),
}
