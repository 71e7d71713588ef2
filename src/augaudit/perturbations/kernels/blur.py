"""Blur kernels and builders: motion and glass blur re-implemented after imagecorruptions; Gaussian,
defocus and zoom blur from Albumentations."""

from __future__ import annotations

import albumentations as A
import numpy as np

from augaudit.perturbations.kernels._shared import _c, _const, _gaussian, _sparse_motion_blur, _to_uint8


def motion_blur(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' motion_blur: (radius, sigma), direction uniform in [-45, 45) degrees."""
    return _sparse_motion_blur(img, c[0], c[1], rng.uniform(-45, 45))


def _glass_visitors(h: int, w: int, delta: int) -> np.ndarray:
    """The flat indices imagecorruptions' glass-blur loop visits, in its order (bottom-right first)."""
    ys = np.arange(h - delta, delta, -1)
    xs = np.arange(w - delta, delta, -1)
    return (ys[:, None] * w + xs[None, :]).ravel().astype(np.int32)


def _glass_sources(h: int, w: int, delta: int, offsets: np.ndarray) -> np.ndarray:
    """Where each pixel's value comes from after imagecorruptions' glass-blur shuffle.

    The original visits the inner pixels (`_glass_visitors`, once per iteration) and runs
    `x[h, w], x[h', w'] = x[h', w'], x[h, w]` with the neighbour at the visit's (dx, dy) offset. The
    right-hand side holds NumPy views, so this copies rather than swaps: the visited pixel takes the
    neighbour's value and the neighbour keeps it. Each visit thus reads what the neighbour's last
    visit before it left there (visitor k is visited at i * len(visitors) + k), or the neighbour's
    original value; pointer jumping follows these chains of copies back to an original pixel in
    O(log length) vectorised passes. `offsets`: (visits, 2) of (dx, dy).
    """
    visitors = _glass_visitors(h, w, delta)
    count, n = len(visitors), len(offsets)
    src = np.arange(h * w, dtype=np.int32)
    if n == 0:
        return src
    ys, xs = np.divmod(np.resize(visitors, n), w)
    ys += offsets[:, 1]
    xs += offsets[:, 0]
    rank = (h - delta - ys) * (w - 2 * delta) + (w - delta - xs)  # the neighbour's place in the visiting order
    inner = (ys > delta) & (ys <= h - delta) & (xs > delta) & (xs <= w - delta)
    last = (np.arange(n, dtype=np.int32) - 1 - rank) // count * count + rank  # its last visit before this one
    ptr = np.concatenate([np.where(inner & (last >= 0), last, n + ys * w + xs), n + src])  # >= n: original pixel
    while True:
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    src[visitors] = ptr[n - count:n] - n
    return src


def glass_blur(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' glass_blur: (sigma, max_delta, iterations) -- blur, shuffle locally, blur.

    Both blurs are truncated to uint8, as the original's np.uint8 casts do (blurring the uint8 image
    in OpenCV would round, a grey level brighter on average)."""
    sigma, delta, iterations = c
    h, w = img.shape[:2]
    visits = iterations * max(0, h - 2 * delta) * max(0, w - 2 * delta)
    offsets = rng.integers(-delta, delta, size=(visits, 2), dtype=np.int8)
    blurred = _to_uint8(_gaussian(img.astype(np.float32), sigma)).reshape(h * w, -1)
    shuffled = blurred[_glass_sources(h, w, delta, offsets)].reshape(img.shape)
    return _to_uint8(_gaussian(shuffled.astype(np.float32), sigma))


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "gaussian_blur": lambda s: A.GaussianBlur(blur_limit=0, sigma_limit=_const(float(s)), p=1),
    "motion_blur": _c(motion_blur),
    "defocus_blur": lambda c: A.Defocus(radius=_const(c[0]), alias_blur=_const(c[1]), p=1),
    "zoom_blur": lambda c: A.ZoomBlur(max_factor=_const(c[0]), step_factor=_const(c[1]), p=1),
    "glass_blur": _c(glass_blur),
}
