"""Noise kernels and builders: Gaussian, shot (Poisson), impulse and speckle noise after
imagecorruptions; ISO noise from Albumentations."""

from __future__ import annotations

import functools
import math

import albumentations as A
import cv2
import numpy as np

from augaudit.perturbations.kernels._shared import _c, _const, _to_uint8


def gaussian_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' gaussian_noise, x + N(0, std) on the 0..1 scale, computed exactly as
    Albumentations' GaussNoise computes it -- OpenCV's generator seeded from `rng`, float64 draws cast
    to float32 and scaled to grey levels, the noise truncated to whole levels before it is added --
    in integers rather than through GaussNoise's float copies."""
    cv2.setRNGSeed(int(rng.integers(0, 2 ** 16)))
    channels = img.shape[2]
    draws = np.empty(img.shape, np.float64)
    cv2.randn(draws, np.zeros(channels), np.full(channels, std, np.float32))
    noise = draws.astype(np.float32)
    noise *= 255
    out = noise.astype(np.int16)  # truncates towards zero, as np.trunc
    out += img
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _poisson_tables(c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse-CDF tables for Poisson(v * c / 255), v = 0..255, flattened one row per level: the
    CDF and the output grey level of each count, and per level a guide to the first count whose
    CDF reaches each 1/256 step of u."""
    lam = np.arange(256) * (c / 255)
    width = int(c + 12 * math.sqrt(c) + 20)  # the tail beyond holds < 1e-20 of the mass
    pmf = np.empty((256, width))
    pmf[:, 0] = np.exp(-lam)
    for k in range(1, width):
        pmf[:, k] = pmf[:, k - 1] * lam / k
    cdf = np.cumsum(pmf, axis=1)
    cdf[:, -1] = 1.0
    steps = np.arange(256) / 256
    guide = np.stack([np.searchsorted(row, steps) for row in cdf]) + np.arange(256)[:, None] * width
    grey = np.minimum(np.arange(width) * (255 / c), 255).astype(np.uint8)
    return cdf.ravel(), guide.ravel().astype(np.int32), np.tile(grey, 256)


def shot_noise(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' shot_noise: Poisson photon counts with `c` photons at full white.

    Sampled by inverting the CDF with a guide table (exact, and several times faster than
    Generator.poisson on 256 distinct rates); a count k becomes k * 255 / c, truncated."""
    cdf, guide, grey = _poisson_tables(float(c))
    u = rng.random(img.size)
    key = img.reshape(-1).astype(np.uint16)
    key <<= 8
    key |= (u * 256).astype(np.uint16)
    idx = guide.take(key)  # take: a plain gather, faster than fancy indexing
    pending = np.flatnonzero(cdf.take(idx) < u)
    while pending.size:
        idx[pending] += 1
        pending = pending[cdf.take(idx[pending]) < u[pending]]
    return grey.take(idx).reshape(img.shape)


def impulse_noise(img: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' impulse_noise (skimage 's&p'): each channel value independently becomes
    white or black, half each, with probability `amount`.

    As masks in OpenCV (255 where kept / white) rather than boolean indexing: a few times faster.
    The thresholds are cast to float32, the precision NumPy compares `u < amount` in."""
    h = img.shape[0]
    u = rng.random(img.shape, dtype=np.float32).reshape(h, -1)
    kept = cv2.compare(u, float(np.float32(amount)), cv2.CMP_GE)
    white = cv2.compare(u, float(np.float32(amount / 2)), cv2.CMP_LT)
    return cv2.bitwise_or(cv2.bitwise_and(img.reshape(h, -1), kept), white).reshape(img.shape)


def speckle_noise(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' speckle_noise: multiplicative Gaussian noise x * (1 + N(0, c)).

    The normal draws come from OpenCV's generator, seeded from `rng`: three times faster than
    NumPy's, which took most of the time."""
    cv2.setRNGSeed(int(rng.integers(0, 2 ** 31)))
    channels = img.shape[2]
    noise = np.empty(img.shape, np.float32)
    cv2.randn(noise, np.zeros(channels), np.full(channels, c))
    x = img.astype(np.float32)
    noise *= x
    noise += x
    return _to_uint8(noise)


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "gaussian_noise": _c(gaussian_noise),
    "shot_noise": _c(shot_noise),
    "impulse_noise": _c(impulse_noise),
    "speckle_noise": _c(speckle_noise),
    "iso_noise": lambda c: A.ISONoise(color_shift=_const(c[0]), intensity=_const(c[1]), p=1),
}
