"""Colour kernels and builders: saturate (imagecorruptions' HSV saturation, in closed form), grayscale,
hue shift and a channel permutation that never draws the identity."""

from __future__ import annotations

import functools
from itertools import permutations

import albumentations as A
import numpy as np

from augaudit.perturbations.kernels._shared import _c, _channel_extremes, _const, _to_uint8


@functools.lru_cache(maxsize=16)
def _saturation_ratio(a: float, b: float) -> np.ndarray:
    """[V, min] -> s'/s, s = (V - min) / V, s' = clip(s * a + b, 0, 1); 0 where s = 0."""
    v, low = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(256, dtype=np.float32), indexing="ij")
    s = np.divide(v - low, v, out=np.zeros_like(v), where=v > low)
    return np.divide(np.clip(s * a + b, 0, 1), s, out=np.zeros_like(s), where=s > 0)


def saturate(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' saturate: HSV saturation s -> clip(s * a + b), hue and value fixed.

    Closed form of the HSV round trip: with V fixed each channel is V - (V - x) * s'/s; a grey pixel
    has hue 0 in skimage, so it becomes (V, V(1 - b), V(1 - b)).
    """
    a, b = c
    v, low = _channel_extremes(img)
    ratio = _saturation_ratio(float(a), float(b)).ravel()[(v.astype(np.uint16) << 8) | low]
    vf = v.astype(np.float32)[..., None]
    out = vf - (vf - img) * ratio[..., None]
    if b:
        grey = v == low
        out[grey] = vf[grey] * np.array([1, 1 - b, 1 - b], np.float32)
    return _to_uint8(out)


_SHUFFLES = tuple(p for p in permutations(range(3)) if p != (0, 1, 2))


class _ChannelPermutation(A.ChannelShuffle):
    """ChannelShuffle that never draws the identity, so the perturbation always changes colours."""

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        return {"channels_shuffled": list(self.py_random.choice(_SHUFFLES))}


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "grayscale": lambda _: A.ToGray(num_output_channels=3, p=1),
    # degrees; OpenCV's 8-bit hue counts 2 degrees a step
    "hue_shift": lambda d: A.HueSaturationValue(hue_shift_limit=_const(d / 2), sat_shift_limit=0, val_shift_limit=0,
                                                p=1),
    "saturate": _c(saturate),
    "channel_shuffle": lambda _: _ChannelPermutation(p=1),
}
