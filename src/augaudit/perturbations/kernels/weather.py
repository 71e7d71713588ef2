"""Weather kernels and builders: fog, snow, frost and spatter after imagecorruptions (channel by
channel), rain and a size-relative sun flare from Albumentations."""

from __future__ import annotations

import math

import albumentations as A
import albumentations.augmentations.pixel.functional as fpixel
import cv2
import numpy as np

from augaudit.perturbations.kernels._shared import _c, _clipped_zoom, _gaussian, _motion_blur, _to_uint8

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


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "fog": _c(fog),
    "rain": lambda c: A.RandomRain(rain_type=c[0], brightness_coefficient=c[1], blur_value=c[2], p=1),
    "snow": _c(snow),
    "frost": _c(frost),
    "sun_flare": _SunFlare,
    "spatter": _c(spatter),
}
