"""Building and applying a perturbation: one Albumentations Compose per ladder level (cached per
thread), the boxes moved or hidden, and the seed of every image's draw. The package's docstring has
the box and seed conventions."""

from __future__ import annotations

import threading

import albumentations as A
import numpy as np

from augaudit.perturbations.catalogue import CATALOGUE, OCCLUDERS, ladder_value
from augaudit.perturbations.kernels import blur, colour, geometry, lighting, noise, occlusion, quality, weather
from augaudit.perturbations.kernels._shared import Corruption
from augaudit.runtime import derive_seed

MIN_VISIBILITY = 0.3
BUILDERS = {name: build for module in (blur, noise, quality, lighting, colour, geometry, occlusion, weather)
            for name, build in module.BUILDERS.items()}


def _frozen(value: object) -> object:
    """A hashable copy of a ladder value (YAML gives lists where the catalogue has tuples)."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


_pipelines = threading.local()


def _pipeline(name: str, value: object, min_visibility: float = MIN_VISIBILITY) -> A.Compose:
    """The Compose for one ladder value, built once per thread: building costs more than most
    transforms, and a pipeline holds its random state, so threads must not share one."""
    cache = _pipelines.__dict__.setdefault("cache", {})
    key = (name, value, min_visibility)
    if key not in cache:
        p = CATALOGUE[name]
        bbox = (A.BboxParams(format="yolo", label_fields=["cls", "obj"], clip=True, min_visibility=min_visibility)
                if p.geometric else None)
        cache[key] = A.Compose([BUILDERS[name](value)], bbox_params=bbox)
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
