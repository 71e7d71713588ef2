"""Quality kernels and builders: pixelate, JPEG compression, pixel dropout and packet loss."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
from PIL import Image

from augaudit.perturbations.kernels._shared import _c


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


BUILDERS = {  # perturbation name -> its transform at one ladder level
    "jpeg_compression": _c(jpeg_compression),
    "pixelate": _c(pixelate),
    "pixel_dropout": lambda q: A.PixelDropout(dropout_prob=q, per_channel=False, drop_value=0, p=1),
    "packet_loss": _c(packet_loss),
}
