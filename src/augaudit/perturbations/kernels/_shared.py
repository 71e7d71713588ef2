"""What the kernels share: the Corruption transform, uint8 casts, Gaussian and motion-blur filters (blur
and snow), the zoom snow's flakes use, per-pixel channel extremes (lighting and colour), the box
convention (HALF_PIXEL) and builder helpers."""

from __future__ import annotations

import math
from collections.abc import Callable

import albumentations as A
import cv2
import numpy as np

HALF_PIXEL = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])  # OpenCV's pixel-centre coordinates -> box coordinates


class Corruption(A.ImageOnlyTransform):
    """An image-only transform computed by `fn(image, param, rng)`.

    For corruptions Albumentations lacks: `rng` is the transform's own seeded generator, so a seeded
    Compose reproduces the result.
    """

    def __init__(self, fn: Callable[[np.ndarray, object, np.random.Generator], np.ndarray], param: object):
        super().__init__(p=1.0)
        self.fn, self.param = fn, param

    def apply(self, img: np.ndarray, **params) -> np.ndarray:
        return self.fn(img, self.param, self.random_generator)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Clip a float image (0..255 scale) and truncate to uint8, as imagecorruptions' np.uint8 does."""
    return np.clip(x, 0, 255, out=x).astype(np.uint8)


def _round_to_uint8(x: np.ndarray) -> np.ndarray:
    """Round a float image half to even and saturate to uint8, as OpenCV's uint8 outputs do."""
    return np.clip(np.rint(x, out=x), 0, 255, out=x).astype(np.uint8)


def _gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """skimage.filters.gaussian as imagecorruptions calls it: radius int(4 sigma + 0.5), 'nearest' border."""
    k = 2 * int(4 * sigma + 0.5) + 1
    return cv2.GaussianBlur(img, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def _clipped_zoom(layer: np.ndarray, factor: float) -> np.ndarray:
    """imagecorruptions' clipped_zoom: zoom the centre crop by `factor` with scipy's corner-aligned
    linear interpolation (output round(crop * factor), at least the input size)."""
    h, w = layer.shape[:2]
    ch, cw = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = np.ascontiguousarray(layer[top:top + ch, left:left + cw])
    oh, ow = round(ch * factor), round(cw * factor)
    m = np.array([[(cw - 1) / max(ow - 1, 1), 0, 0], [0, (ch - 1) / max(oh - 1, 1), 0]])
    return cv2.warpAffine(crop, m, (ow, oh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _motion_taps(shape: tuple, radius: int, sigma: float, angle: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """imagecorruptions' _motion_blur sums 2r+1 edge-replicated shifts along `angle`, weighted by a
    one-sided Gaussian: output(y, x) = sum of weights * src(y + ky, x + kx). Shifts that reach
    past the image (and every later one) are dropped, as the original stops there."""
    width = 2 * radius + 1
    i = np.arange(width)
    weights = np.exp(-i ** 2 / (2 * sigma ** 2))
    weights /= weights.sum()
    rad = np.deg2rad(angle)
    dy = -np.ceil(i * np.sin(rad) - 0.5).astype(int)
    dx = -np.ceil(i * np.cos(rad) - 0.5).astype(int)
    inside = np.cumprod((np.abs(dy) < shape[0]) & (np.abs(dx) < shape[1])).astype(bool)
    return -dy[inside], -dx[inside], weights[inside]  # src(y - dy) is kernel row -dy


def _tap_kernel(ky: np.ndarray, kx: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The taps as a dense kernel whose top-left element is tap offset (ky.min(), kx.min())."""
    kernel = np.zeros((ky.max() - ky.min() + 1, kx.max() - kx.min() + 1), np.float32)
    np.add.at(kernel, (ky - ky.min(), kx - kx.min()), weights)
    return kernel


def _motion_blur(img: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """imagecorruptions' _motion_blur as one cv2.filter2D of the taps' sparse kernel. Snow streaks its
    one float channel with it: there the DFT is cheap, and _sparse_motion_blur would gain little
    for changing snow's bytes."""
    ky, kx, weights = _motion_taps(img.shape, radius, sigma, angle)
    return cv2.filter2D(img, -1, _tap_kernel(ky, kx, weights), anchor=(-kx.min(), -ky.min()),
                        borderType=cv2.BORDER_REPLICATE)


DFT_AREA = 130  # filter2D convolves float32 by DFT from this kernel area on, however many taps are zero


def _tap_runs(ky: np.ndarray, kx: np.ndarray):
    """Slices of consecutive taps whose bounding box stays under DFT_AREA."""
    start = 0
    while start < len(ky):
        stop = start + 1
        while stop < len(ky) and (np.ptp(ky[start:stop + 1]) + 1) * (np.ptp(kx[start:stop + 1]) + 1) < DFT_AREA:
            stop += 1
        yield slice(start, stop)
        start = stop


def _sparse_motion_blur(img: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """_motion_blur of a uint8 image, several times faster at 224 px: the line's 21-41 taps span a
    box of up to 41 x 41, which filter2D would convolve by DFT at full size; here runs of taps
    whose boxes stay under DFT_AREA are filtered directly (OpenCV skips zero taps) and summed in
    float32, then rounded as filter2D rounds. The sums' order differs, so about one value in 10^5
    lands a grey level apart."""
    ky, kx, weights = _motion_taps(img.shape, radius, sigma, angle)
    h, w = img.shape[:2]
    top, left = max(-ky.min(), 0), max(-kx.min(), 0)
    padded = cv2.copyMakeBorder(img, top, max(ky.max(), 0), left, max(kx.max(), 0),
                                cv2.BORDER_REPLICATE).astype(np.float32)
    out = np.zeros(img.shape, np.float32)
    for run in _tap_runs(ky, kx):
        kernel = _tap_kernel(ky[run], kx[run], weights[run])
        y, x = top + ky[run].min(), left + kx[run].min()
        # anchored at the kernel's corner, so output (i, j) reads padded[y + i:, x + j:] and never a border
        window = padded[y:y + h + kernel.shape[0] - 1, x:x + w + kernel.shape[1] - 1]
        out += cv2.filter2D(window, -1, kernel, anchor=(0, 0))[:h, :w]
    return _round_to_uint8(out)


def _const(v):
    return (v, v)


def _c(fn: Callable) -> Callable[[object], A.BasicTransform]:
    """Builder for a Corruption computed by `fn`."""
    return lambda v: Corruption(fn, v)


def _channel_extremes(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel max and min over the colour channels (OpenCV: far faster than NumPy's axis=2)."""
    r, g, b = cv2.split(img)
    return cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b)
