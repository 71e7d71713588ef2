"""The catalogue of test-time perturbations: named severity ladders over Albumentations transforms.

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

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import permutations

import albumentations as A
import albumentations.augmentations.geometric.functional as fgeometric
import albumentations.augmentations.pixel.functional as fpixel
import cv2
import numpy as np
from PIL import Image

from augaudit.runtime import derive_seed

FACTORS = ("blur", "noise", "quality", "lighting", "colour", "geometry", "occlusion", "weather")
MIN_VISIBILITY = 0.3
HALF_PIXEL = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])  # OpenCV's pixel-centre coordinates -> box coordinates


@dataclass(frozen=True)
class Perturbation:
    """One named perturbation: its factor, default ladder (severity 1..n) and transform builder.

    `stochastic` says whether the seed changes the result; `imagecorruptions` names the matching
    corruption of that package, and a non-empty `note` says why the match is only approximate.
    """

    name: str
    factor: str
    ladder: tuple
    build: Callable[[object], A.BasicTransform]
    geometric: bool = False
    stochastic: bool = True
    imagecorruptions: str | None = None
    note: str = ""
    domain: tuple[float, float] = (-math.inf, math.inf)  # what every number of a ladder level may be
    integers: tuple[int, ...] = ()  # positions of a level (0 for a one-number level) that count things

    def ladder_problem(self, value: object) -> str | None:
        """Why `value` cannot be a level of this perturbation's ladder, or None: a level has the shape and
        kinds of the catalogue's own (one number, or a list of as many items), every number finite and
        within `domain`, whole where it counts things (a JPEG quality of 1000 or -0.1 noise is refused,
        never clipped or mirrored into another test)."""
        ref = self.ladder[0]
        refs = ref if isinstance(ref, tuple) else (ref,)
        items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if isinstance(ref, tuple) != isinstance(value, (list, tuple)) or len(items) != len(refs):
            like = f"a list of {len(refs)}, like {list(ref)}" if isinstance(ref, tuple) else f"one number, like {ref}"
            return f"{value!r}: a level of {self.name} is {like}"
        lo, hi = self.domain
        for i, (x, r) in enumerate(zip(items, refs, strict=True)):
            if isinstance(r, str):
                if not isinstance(x, str):
                    return f"{x!r}: item {i} of a level of {self.name} is a name, like {r!r}"
            elif isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                return f"{x!r}: not a finite number"
            elif not lo <= x <= hi:
                return f"{x!r}: outside {self.name}'s domain {lo:g} to {hi:g}"
            elif i in self.integers and x != int(x):
                return f"{x!r}: item {i} of a level of {self.name} counts things (a whole number)"
        return None


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


# ---------------------------------------------------------------- shared helpers

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


# ---------------------------------------------------------------- blur

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


# ---------------------------------------------------------------- noise

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


# ---------------------------------------------------------------- quality

def pixelate(img: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' pixelate: PIL BOX-downscale to int(size * c), NEAREST-upscale back.

    Done with PIL itself: its BOX filter averages the whole pixels whose centres fall in a box, which
    neither OpenCV's INTER_AREA (fractional coverage) nor Albumentations' Downscale reproduces."""
    h, w = img.shape[:2]
    small = Image.fromarray(img).resize((max(1, int(w * c)), max(1, int(h * c))), Image.Resampling.BOX)
    return np.asarray(small.resize((w, h), Image.Resampling.NEAREST))


def jpeg_compression(img: np.ndarray, quality: int, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' jpeg_compression: a JPEG round trip at `quality`. OpenCV is handed BGR so
    the luma/chroma split is the one PIL makes from RGB (Albumentations passes RGB as if BGR)."""
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), (cv2.IMWRITE_JPEG_QUALITY, int(quality)))
    return cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB)


MACROBLOCK = 16


def packet_loss(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A streamed frame with lost packets: the frame is coded in 16x16 macroblocks in raster order,
    one packet carries a run of a quarter row of them, and `fraction` of the packets (at least one)
    never arrive, leaving black runs of blocks."""
    h, w = img.shape[:2]
    rows, cols = -(-h // MACROBLOCK), -(-w // MACROBLOCK)
    run = max(1, cols // 4)
    packets = -(-rows * cols // run)
    lost = np.zeros(packets, bool)
    lost[rng.choice(packets, max(1, round(fraction * packets)), replace=False)] = True
    blocks = np.repeat(lost, run)[:rows * cols].reshape(rows, cols)
    mask = blocks.repeat(MACROBLOCK, 0).repeat(MACROBLOCK, 1)[:h, :w]
    out = img.copy()
    out[mask] = 0
    return out


# ---------------------------------------------------------------- lighting and colour

def _channel_extremes(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel max and min over the colour channels (OpenCV: far faster than NumPy's axis=2)."""
    r, g, b = cv2.split(img)
    return cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b)


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


# ---------------------------------------------------------------- geometry

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


# ---------------------------------------------------------------- weather
# The blends below run channel by channel (`_*_channel`): NumPy broadcasts a one-channel layer over
# three channels several times slower than it combines two contiguous planes. Same operations, same bytes.

def _plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' plasma_fractal (diamond-square height map in [0, 1]); size a power of 2."""
    grid = np.zeros((size, size), np.float64)
    step, wibble = size, 100.0

    def noisy_mean(total: np.ndarray) -> np.ndarray:  # total / 4 + wibble * U(-wibble, wibble), in place
        total /= 4
        noise = rng.uniform(-wibble, wibble, total.shape)
        noise *= wibble
        total += noise
        return total

    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        squares = corners + np.roll(corners, -1, axis=0)
        squares += np.roll(squares, -1, axis=1)
        grid[half:size:step, half:size:step] = noisy_mean(squares)
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        grid[0:size:step, half:size:step] = noisy_mean(
            centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1))
        grid[half:size:step, 0:size:step] = noisy_mean(
            centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0))
        step = half
        wibble /= decay
    grid -= grid.min()
    grid /= grid.max()
    return grid


def fog(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' fog: (strength, decay) -- add a plasma-fractal haze, rescale to the old max."""
    strength, decay = c
    h, w = img.shape[:2]
    size = 1 << (max(h, w) - 1).bit_length()
    haze = _plasma_fractal(size, decay, rng)[:h, :w].astype(np.float32)
    haze *= np.float32(255 * strength)
    peak = img.max() / 255.0
    scale = np.float32(peak / (peak + strength))
    return cv2.merge([_fog_channel(plane, haze, scale) for plane in cv2.split(img)])


def _fog_channel(plane: np.ndarray, haze: np.ndarray, scale: np.float32) -> np.ndarray:
    """(plane + haze) * scale, truncated to uint8."""
    x = plane.astype(np.float32)
    x += haze
    x *= scale
    return _to_uint8(x)


def snow(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' snow: (mean, std, zoom, threshold, blur radius, blur sigma, blend).

    Zoomed, thresholded Gaussian flakes streaked by a motion blur at [-135, -45) degrees, added
    twice (the second copy rotated 180 degrees) onto a brightened, partly greyed image.
    """
    loc, scale, zoom, threshold, radius, sigma, blend = c
    h, w = img.shape[:2]
    x = img.astype(np.float32)
    x /= 255
    noise = rng.standard_normal((h, w), dtype=np.float32)
    noise *= np.float32(scale)
    noise += np.float32(loc)
    flakes = _clipped_zoom(noise, zoom)
    flakes[flakes < threshold] = 0
    flakes = _motion_blur(np.clip(flakes, 0, 1, out=flakes), radius, sigma, rng.uniform(-135, -45))
    flakes *= 255
    flakes = np.round(flakes, out=flakes)[:h, :w]
    flakes /= 255
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    grey *= 1.5
    grey += 0.5
    return cv2.merge([_snow_channel(plane, grey, flakes, blend) for plane in cv2.split(x)])


def _snow_channel(x: np.ndarray, grey: np.ndarray, flakes: np.ndarray, blend: float) -> np.ndarray:
    """One channel of snow's blend: blend x + (1 - blend) max(x, grey), plus both copies of the flakes."""
    lifted = np.maximum(x, grey)
    lifted *= 1 - blend
    x *= blend
    x += lifted
    x += flakes
    x += flakes[::-1, ::-1]
    x *= 255
    return _to_uint8(x)


FROST_MEAN = np.array([145.9, 167.2, 178.9], np.float32)  # imagecorruptions' five frost photos (RGB)
FROST_STD = np.array([28.5, 26.5, 26.4], np.float32)


def _needle_kernel(angle: float, length: int = 7) -> np.ndarray:
    """A centred line of ones at `angle` degrees: the streak a frost crystal seed grows into."""
    kernel = np.zeros((length, length), np.float32)
    r = length // 2
    dx, dy = round(r * math.cos(math.radians(angle))), round(r * math.sin(math.radians(angle)))
    cv2.line(kernel, (r - dx, r - dy), (r + dx, r + dy), 1.0)
    return kernel


def _frost_relief(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A procedural stand-in for imagecorruptions' frost photos (which this project cannot ship):
    cloudy multi-octave noise under a dense mesh of short crystal needles (sparse seeds streaked
    along six random directions), standardised to mean 0 and spread 1; `frost` colours it."""
    cloud = np.zeros((h, w), np.float32)
    for cells, weight in ((4, 1.0), (8, 0.5), (16, 0.25), (32, 0.125)):
        octave = cv2.resize(rng.random((cells, cells), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        octave *= weight
        cloud += octave
    u = rng.random((h, w), dtype=np.float32)
    needles = np.zeros((h, w), np.float32)
    for i, angle in enumerate(rng.uniform(0, 180, 6)):
        # seeds where 0.02 i <= u < 0.02 (i + 1), bounds in float32 as NumPy would compare them; the
        # needle counts are small integers, exact in int16 as in float32, and uint8 masks are faster
        low, high = np.float32(0.02 * i), np.float32(0.02 * (i + 1))
        seeds = cv2.inRange(u, float(low), float(np.nextafter(high, np.float32(0))))
        seeds &= 1
        needles += cv2.filter2D(seeds, cv2.CV_16S, _needle_kernel(angle))
    cloud /= cloud.std()
    needles_std = max(float(needles.std()), 1e-6)
    needles *= 2
    needles /= needles_std
    texture = cloud
    texture += needles
    mean, std = texture.mean(), texture.std()
    texture -= mean
    texture /= std
    return texture


def frost(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' frost blend c_img * x + c_frost * frost on a procedural frost texture,
    coloured to the photos' mean and spread per channel."""
    relief = _frost_relief(*img.shape[:2], rng)
    return cv2.merge([_frost_channel(plane, relief, mean, std, c)
                      for plane, mean, std in zip(cv2.split(img), FROST_MEAN, FROST_STD, strict=True)])


def _frost_channel(plane: np.ndarray, relief: np.ndarray, mean: np.float32, std: np.float32, c: tuple) -> np.ndarray:
    """c_img * plane + c_frost * (mean + relief * std), truncated to uint8."""
    frost_layer = relief * std
    frost_layer += mean
    frost_layer *= c[1]
    x = plane.astype(np.float32)
    x *= c[0]
    x += frost_layer
    return _to_uint8(x)


def spatter(img: np.ndarray, c: tuple, rng: np.random.Generator) -> np.ndarray:
    """imagecorruptions' spatter: (mean, std, sigma, threshold, intensity or mud sigma, mud?).

    A blurred Gaussian 'liquid' layer above a threshold becomes pale-turquoise water drops with
    shaded rims (rain) or opaque brown blotches (mud).
    """
    loc, scale, sigma, threshold, strength, mud = c
    noise = rng.standard_normal(img.shape[:2], dtype=np.float32)
    noise *= np.float32(scale)
    noise += np.float32(loc)
    liquid = _gaussian(noise, sigma)
    liquid[liquid < threshold] = 0
    if mud:
        m = _gaussian((liquid > threshold).astype(np.float32), strength)
        m[m < 0.8] = 0
        keep = 1 - m
        return cv2.merge([_spatter_channel(plane, keep, m * colour) for plane, colour in
                          zip(cv2.split(img), np.array([63, 42, 20], np.float32) / 255, strict=True)])
    liquid = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
    dist = cv2.distanceTransform(255 - cv2.Canny(liquid, 50, 150), cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
    dist = cv2.filter2D(dist, cv2.CV_8U, np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32))
    m = liquid * cv2.blur(dist, (3, 3)).astype(np.float32)
    peak = m.max()
    if peak == 0:
        return img.copy()
    m /= peak
    m *= strength
    return cv2.merge([_spatter_channel(plane, None, m * colour) for plane, colour in
                      zip(cv2.split(img), np.array([175, 238, 238], np.float32) / 255, strict=True)])


def _spatter_channel(plane: np.ndarray, keep: np.ndarray | None, liquid: np.ndarray) -> np.ndarray:
    """One channel of spatter: (x * keep + liquid) * 255 for x = plane / 255 (keep omitted: 1),
    truncated to uint8."""
    x = plane.astype(np.float32)
    x /= 255
    if keep is not None:
        x *= keep
    x += liquid
    x *= 255
    return _to_uint8(x)


class _SunFlare(A.RandomSunFlare):
    """RandomSunFlare whose sun radius is a fraction of the image's shorter side, so a severity
    means the same at any image size."""

    def __init__(self, radius_fraction: float):
        super().__init__(method="overlay", p=1.0)
        self.radius_fraction = radius_fraction

    def apply(self, img: np.ndarray, flare_center: tuple, circles: list, **params) -> np.ndarray:
        radius = max(2, round(self.radius_fraction * min(img.shape[:2])))
        return fpixel.add_sun_flare_overlay(img, flare_center, radius, self.src_color, circles)


class _Erasing(A.Erasing):
    """Erasing of a fixed fraction of the image whose aspect-ratio range is narrowed, per image, to
    the ratios at which a hole of that area fits. Albumentations 2.0.8 sizes the range for
    near-square images only: at scale 0.33 and ratio (0.5, 2) any image wider or taller than
    about 3:2 (coco128's 640x360) gets no hole and a params dict without `seed`, and apply()
    raises TypeError. Images where the range fits are erased exactly as A.Erasing does."""

    RATIO = (0.5, 2.0)  # hole aspect w/h, where the image allows it

    def __init__(self, fraction: float):
        super().__init__(scale=(fraction, fraction), ratio=self.RATIO, fill=0, p=1)

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        height, width = params["shape"][:2]
        s = self.scale[0]
        # a hole of area s*H*W and aspect r = w/h fits when s*W/H <= r <= W/(s*H); Albumentations
        # checks the range's ends, so narrow it to that interval (a point when they do not meet)
        fit_lo, fit_hi = s * width / height * (1 + 1e-9), width / (s * height) * (1 - 1e-9)
        lo, hi = max(self.RATIO[0], fit_lo), min(self.RATIO[1], fit_hi)
        if lo > hi:
            lo = hi = fit_lo if fit_lo > self.RATIO[1] else fit_hi
        self.ratio = (lo, hi)
        return super().get_params_dependent_on_data(params, data)


# ---------------------------------------------------------------- the catalogue

def _const(v):
    return (v, v)


def _c(fn: Callable) -> Callable[[object], A.BasicTransform]:
    """Builder for a Corruption computed by `fn`."""
    return lambda v: Corruption(fn, v)


_P = Perturbation
CATALOGUE: dict[str, Perturbation] = {
    p.name: p
    for p in [
        # blur
        _P("gaussian_blur", "blur", (1, 2, 3, 4, 6),
           lambda s: A.GaussianBlur(blur_limit=0, sigma_limit=_const(float(s)), p=1),
           stochastic=False, imagecorruptions="gaussian_blur",
           note="kernel cut at 3.5 sigma (PIL) instead of skimage's 4, reflect-101 instead of replicated border",
           domain=(0.01, 100)),
        _P("motion_blur", "blur", ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)), _c(motion_blur),
           imagecorruptions="motion_blur", domain=(0.01, 200), integers=(0,)),
        _P("defocus_blur", "blur", ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
           lambda c: A.Defocus(radius=_const(c[0]), alias_blur=_const(c[1]), p=1),
           stochastic=False, imagecorruptions="defocus_blur", domain=(0, 100), integers=(0,)),
        _P("zoom_blur", "blur", ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
           lambda c: A.ZoomBlur(max_factor=_const(c[0]), step_factor=_const(c[1]), p=1),
           stochastic=False, imagecorruptions="zoom_blur",
           note="same zoom steps; OpenCV's half-pixel-centred resize instead of scipy's corner-aligned zoom "
                "(sub-pixel shifts)", domain=(0.001, 10)),
        _P("glass_blur", "blur", ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)), _c(glass_blur),
           imagecorruptions="glass_blur", domain=(0.01, 100), integers=(1, 2)),
        # noise
        _P("gaussian_noise", "noise", (0.08, 0.12, 0.18, 0.26, 0.38), _c(gaussian_noise),
           imagecorruptions="gaussian_noise", domain=(0, 10)),
        _P("shot_noise", "noise", (60, 25, 12, 5, 3), _c(shot_noise), imagecorruptions="shot_noise",
           domain=(0.01, 1e6)),
        _P("impulse_noise", "noise", (0.03, 0.06, 0.09, 0.17, 0.27), _c(impulse_noise),
           imagecorruptions="impulse_noise", domain=(0, 1)),
        _P("speckle_noise", "noise", (0.15, 0.2, 0.35, 0.45, 0.6), _c(speckle_noise),
           imagecorruptions="speckle_noise", domain=(0, 10)),
        _P("iso_noise", "noise", ((0.01, 0.1), (0.02, 0.2), (0.03, 0.3), (0.04, 0.4), (0.05, 0.5)),
           lambda c: A.ISONoise(color_shift=_const(c[0]), intensity=_const(c[1]), p=1), domain=(0, 1)),
        # quality
        _P("jpeg_compression", "quality", (25, 18, 15, 10, 7), _c(jpeg_compression), stochastic=False,
           imagecorruptions="jpeg_compression", domain=(1, 100), integers=(0,)),
        _P("pixelate", "quality", (0.6, 0.5, 0.4, 0.3, 0.25), _c(pixelate), stochastic=False,
           imagecorruptions="pixelate", domain=(0.01, 1)),
        _P("pixel_dropout", "quality", (0.01, 0.02, 0.05, 0.1, 0.2),
           lambda q: A.PixelDropout(dropout_prob=q, per_channel=False, drop_value=0, p=1), domain=(0, 1)),
        _P("packet_loss", "quality", (0.02, 0.05, 0.1, 0.2, 0.3), _c(packet_loss), domain=(0, 1)),
        # lighting
        _P("brightness", "lighting", (0.1, 0.2, 0.3, 0.4, 0.5), _c(brightness), stochastic=False,
           imagecorruptions="brightness", domain=(-1, 1)),
        _P("darken", "lighting", (0.1, 0.2, 0.3, 0.4, 0.5), _c(darken), stochastic=False, domain=(0, 1)),
        _P("contrast", "lighting", (0.4, 0.3, 0.2, 0.1, 0.05), _c(contrast), stochastic=False,
           imagecorruptions="contrast", domain=(0, 10)),
        _P("gamma", "lighting", (1.5, 2.0, 2.5, 3.0, 4.0),
           lambda g: A.RandomGamma(gamma_limit=_const(100 * g), p=1), stochastic=False, domain=(0.01, 100)),
        _P("shadow", "lighting", ((1, 0.3), (1, 0.5), (2, 0.5), (2, 0.7), (3, 0.8)),
           lambda c: A.RandomShadow(shadow_roi=(0, 0, 1, 1), num_shadows_limit=_const(c[0]),
                                    shadow_intensity_range=_const(c[1]), p=1), domain=(0, 10), integers=(0,)),
        # colour
        _P("grayscale", "colour", (1,), lambda _: A.ToGray(num_output_channels=3, p=1), stochastic=False,
           domain=(0, 1)),
        _P("hue_shift", "colour", (10, 20, 40, 60, 90),  # degrees; OpenCV's 8-bit hue counts 2 degrees a step
           lambda d: A.HueSaturationValue(hue_shift_limit=_const(d / 2), sat_shift_limit=0, val_shift_limit=0, p=1),
           stochastic=False, domain=(-180, 180)),
        _P("saturate", "colour", ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)), _c(saturate),
           stochastic=False, imagecorruptions="saturate", domain=(-1, 100)),
        _P("channel_shuffle", "colour", (1,), lambda _: _ChannelPermutation(p=1), domain=(0, 1)),
        # geometry
        _P("hflip", "geometry", (1,), lambda _: A.HorizontalFlip(p=1), geometric=True, stochastic=False, domain=(0, 1)),
        _P("vflip", "geometry", (1,), lambda _: A.VerticalFlip(p=1), geometric=True, stochastic=False, domain=(0, 1)),
        _P("rotate", "geometry", (5, 10, 15, 20, 30),
           lambda d: _affine(rotate=_const(float(d)), rotate_method="ellipse"), geometric=True, stochastic=False,
           domain=(-180, 180)),
        _P("scale", "geometry", (0.9, 0.8, 0.7, 0.6, 0.5), lambda s: _affine(scale=_const(float(s))),
           geometric=True, stochastic=False, domain=(0.01, 10)),
        _P("translate", "geometry", (0.05, 0.1, 0.15, 0.2, 0.3), _translate, geometric=True, domain=(-1, 1)),
        _P("perspective", "geometry", (0.02, 0.04, 0.06, 0.08, 0.1), _Perspective, geometric=True, domain=(0, 0.5)),
        _P("elastic_transform", "geometry", (12.5, 16.25, 21.25, 25.0, 30.0), _ElasticCorruption,
           geometric=True, imagecorruptions="elastic_transform", domain=(0, 1000)),
        # occlusion
        _P("coarse_dropout", "occlusion", (2, 4, 6, 8, 10),
           lambda n: A.CoarseDropout(num_holes_range=_const(int(n)), hole_height_range=(0.1, 0.1),
                                     hole_width_range=(0.1, 0.1), fill=0, p=1), domain=(1, 1000), integers=(0,)),
        _P("grid_dropout", "occlusion", (0.1, 0.2, 0.3, 0.4, 0.5),
           lambda r: A.GridDropout(ratio=r, random_offset=True, fill=0, p=1), domain=(0.01, 0.99)),
        _P("random_erasing", "occlusion", (0.02, 0.05, 0.1, 0.2, 0.33),
           _Erasing, domain=(0.001, 1)),
        # weather
        _P("fog", "weather", ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)), _c(fog),
           imagecorruptions="fog", domain=(0, 100)),
        _P("rain", "weather", (("drizzle", 0.9, 3), ("default", 0.85, 3), ("heavy", 0.8, 5), ("heavy", 0.7, 5),
                               ("torrential", 0.6, 7)),
           lambda c: A.RandomRain(rain_type=c[0], brightness_coefficient=c[1], blur_value=c[2], p=1),
           domain=(0, 100), integers=(2,)),
        _P("snow", "weather", ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                               (0.55, 0.3, 4, 0.9, 12, 8, 0.7), (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                               (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)), _c(snow), imagecorruptions="snow",
           domain=(0, 100)),
        _P("frost", "weather", ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)), _c(frost),
           imagecorruptions="frost",
           note="same blend weights over a procedural frost texture matched to the mean and spread of "
                "imagecorruptions' frost photos, which are not redistributed here", domain=(0, 10)),
        _P("sun_flare", "weather", (0.1, 0.15, 0.2, 0.3, 0.4), _SunFlare, domain=(0, 1)),
        _P("spatter", "weather", ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0),
                                  (0.65, 0.3, 2, 0.68, 0.5, 0), (0.65, 0.3, 1, 0.65, 1.5, 1),
                                  (0.67, 0.4, 1, 0.65, 1.5, 1)), _c(spatter), imagecorruptions="spatter",
           domain=(0, 10)),
    ]
}


# The 15 corruptions of the COCO-C / ImageNet-C benchmark (Michaelis et al. 2019; Hendrycks &
# Dietterich 2019): mPC and rPC are reported only when all of them ran at severities 1-5 on their own
# ladders. The catalogue's other four imagecorruptions counterparts are that package's extras.
COCO_C = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
          "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression")

# Breaking points are reported in a ladder's own unit: (unit, which element of a compound value, the
# value that means unperturbed). Ladders not listed -- single-level ones, compound ones whose
# parameters do not move together, shot noise (a clean image has infinitely many photons) -- and
# overriding ladders that do not move monotonically away from the unperturbed value use the severity.
UNITS: dict[str, tuple[str, int | None, float]] = {
    "gaussian_blur": ("sigma (px)", None, 0.0),
    "motion_blur": ("sigma (px)", 1, 0.0),
    "defocus_blur": ("radius (px)", 0, 0.0),
    "zoom_blur": ("zoom factor", 0, 1.0),
    "glass_blur": ("sigma (px)", 0, 0.0),
    "gaussian_noise": ("std (fraction of 255)", None, 0.0),
    "impulse_noise": ("fraction of values", None, 0.0),
    "speckle_noise": ("std (relative)", None, 0.0),
    "iso_noise": ("intensity", 1, 0.0),
    "jpeg_compression": ("JPEG quality", None, 100.0),
    "pixelate": ("scale", None, 1.0),
    "pixel_dropout": ("fraction of pixels", None, 0.0),
    "packet_loss": ("fraction of packets", None, 0.0),
    "brightness": ("value shift (fraction)", None, 0.0),
    "darken": ("value shift (fraction)", None, 0.0),
    "contrast": ("contrast factor", None, 1.0),
    "gamma": ("gamma", None, 1.0),
    "hue_shift": ("degrees", None, 0.0),
    "rotate": ("degrees", None, 0.0),
    "scale": ("scale", None, 1.0),
    "translate": ("fraction of the frame", None, 0.0),
    "perspective": ("corner shift (fraction)", None, 0.0),
    "elastic_transform": ("alpha", None, 0.0),
    "coarse_dropout": ("holes", None, 0.0),
    "grid_dropout": ("fraction dropped", None, 0.0),
    "random_erasing": ("fraction erased", None, 0.0),
    "sun_flare": ("radius (fraction)", None, 0.0),
}


def ladder_axis(name: str, severities: list[int], ladder: list | None = None) -> tuple[str, list[float]] | None:
    """The unit of a perturbation's breaking points and the x values of clean followed by the given
    severities; None for a single-level ladder (nothing to interpolate)."""
    values = ladder if ladder is not None else CATALOGUE[name].ladder
    if len(values) < 2:
        return None
    if name in UNITS:
        unit, index, clean = UNITS[name]
        xs = [clean] + [float(v if index is None else v[index]) for v in (values[s - 1] for s in severities)]
        steps = np.diff(xs)
        if np.all(steps > 0) or np.all(steps < 0):
            return unit, xs
    return "severity", [0.0, *map(float, severities)]


def ladder_value(name: str, severity: int, ladder: list | None = None) -> object:
    """The transform parameter at a severity (1-based) of the default or an overriding ladder."""
    values = ladder if ladder is not None else CATALOGUE[name].ladder
    return values[severity - 1]


def _frozen(value: object) -> object:
    """A hashable copy of a ladder value (YAML gives lists where the catalogue has tuples)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


_pipelines = threading.local()

# Occlusion perturbations: what they black out hides objects, measured per box (`hidden`); a box
# mostly hidden becomes an ignore region when scored (score.ignore_hidden).
OCCLUDERS = frozenset({"coarse_dropout", "grid_dropout", "random_erasing", "packet_loss"})


def _pipeline(name: str, value: object, min_visibility: float = MIN_VISIBILITY) -> A.Compose:
    """The Compose for one ladder value, built once per thread: building costs more than most
    transforms, and a pipeline holds its random state, so threads must not share one."""
    cache = _pipelines.__dict__.setdefault("cache", {})
    key = (name, value, min_visibility)
    if key not in cache:
        p = CATALOGUE[name]
        bbox = (A.BboxParams(format="yolo", label_fields=["cls", "obj"], clip=True, min_visibility=min_visibility)
                if p.geometric else None)
        cache[key] = A.Compose([p.build(value)], bbox_params=bbox)
    return cache[key]


def _moved(compose: A.Compose, seed: int, image: np.ndarray, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    compose.set_random_seed(seed)
    out = compose(image=image, bboxes=labels[:, 1:5], cls=labels[:, 0], obj=np.arange(len(labels)))
    boxes = np.asarray(out["bboxes"], dtype=float).reshape(-1, 4)
    return out, np.column_stack([np.asarray(out["cls"], dtype=float), boxes, np.asarray(out["obj"], dtype=float)])


def hidden_fraction(mask: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per YOLO box, the fraction of its pixels (centres inside the box) that `mask` covers."""
    h, w = mask.shape
    out = np.zeros(len(labels))
    for i, (_, cx, cy, bw, bh) in enumerate(labels):
        c0, c1 = (int(np.clip(np.round(v * w), 0, w)) for v in (cx - bw / 2, cx + bw / 2))
        r0, r1 = (int(np.clip(np.round(v * h), 0, h)) for v in (cy - bh / 2, cy + bh / 2))
        if c1 > c0 and r1 > r0:
            out[i] = mask[r0:r1, c0:c1].mean()
    return out


def _perturb_image(compose: A.Compose, seed: int, image: np.ndarray) -> np.ndarray:
    """A non-geometric pipeline's image, seeded. A Corruption is called directly with the generator
    the seeded Compose would hand it (same draws, same bytes): Compose's checks cost as much as the
    fastest corruptions themselves."""
    transform = compose.transforms[0]
    if isinstance(transform, Corruption):
        return transform.fn(image, transform.param, np.random.default_rng(seed))
    compose.set_random_seed(seed)
    return compose(image=image)["image"]


def apply(name: str, image: np.ndarray, labels: np.ndarray, severity: int, seed: int,
          ladder: list | None = None, details: bool = False):
    """Perturb an RGB uint8 image and its (N, 5) [class, cx, cy, w, h] labels at one severity.

    Returns (image, labels): the reference boxes that count. With `details`, (image, boxes), where
    `boxes` is (M, 8) [class, cx, cy, w, h, object, in_frame, hidden] for every object still
    visible at all: `object` is its row in the input labels, `in_frame` 0 when a geometric
    perturbation left less than MIN_VISIBILITY of it in the frame (clipped, no longer a reference:
    an ignore region), `hidden` the fraction an occluder blacked out.
    """
    p = CATALOGUE[name]
    value = _frozen(ladder_value(name, severity, ladder))
    compose = _pipeline(name, value)
    if not p.geometric:
        out = _perturb_image(compose, seed, image)
        if not details:
            return out, labels.copy()
        hidden = np.zeros(len(labels))
        if name in OCCLUDERS and len(labels):  # the same draw on a white frame shows what was blacked out
            mask = _perturb_image(compose, seed, np.full_like(image, 255)).max(axis=2) == 0
            hidden = hidden_fraction(mask, labels)
        return out, np.column_stack([labels, np.arange(len(labels)), np.ones(len(labels)), hidden]).reshape(-1, 8)
    out, kept = _moved(compose, seed, image, labels)
    if not details:
        return out["image"], kept[:, :5]
    _, loose = _moved(_pipeline(name, value, 0.0), seed, image, labels)  # every box with any part left
    in_frame = np.isin(loose[:, 5], kept[:, 5]).astype(float)
    return out["image"], np.column_stack([loose, in_frame, np.zeros(len(loose))]).reshape(-1, 8)


def image_seed(seed: int, name: str, severity: int, image_id: str) -> int:
    """The seed of one image's perturbation; label-free scoring replays it to move clean predictions."""
    return derive_seed(seed, "perturb", name, severity, image_id)
