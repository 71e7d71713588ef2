"""Training augmentation recipes: an Albumentations pipeline plus Ultralytics' built-in switches.

A recipe in params.yaml lists transforms as `{transform: ClassName, **arguments}`; they are built by
Albumentations' own deserialiser (`A.from_dict`), so names and arguments are checked by the library
and the recipe a model was trained with is recorded with `A.to_dict`. Ultralytics' built-in
augmentations are all switched off unless the recipe turns one on, so "no augmentation" means none.
"""

from __future__ import annotations

import copy
import math
import re
import warnings

import albumentations as A
import cv2
import numpy as np

# Ultralytics' own train-time augmentations; a recipe that does not name one gets 0 (off).
ULTRALYTICS_SWITCHES = ("mosaic", "mixup", "cutmix", "copy_paste", "hsv_h", "hsv_s", "hsv_v", "degrees",
                        "translate", "scale", "shear", "perspective", "flipud", "fliplr", "bgr")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# No argument of an image transform (a size, a kernel, a count, a pixel value, a factor) is meaningful
# beyond this; Albumentations accepts e.g. a blur kernel of 10**18, which would run for hours.
ARGUMENT_LIMIT = 100_000


def _numbers(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    return []


def build_transform(spec: dict) -> A.BasicTransform:
    """One transform from `{transform: Name, **args}`; unknown names or arguments raise."""
    args = {k: v for k, v in spec.items() if k != "transform"}
    for key, value in args.items():
        if any(abs(x) > ARGUMENT_LIMIT for x in _numbers(value)):
            raise ValueError(f"argument {key}: {value!r} is beyond ±{ARGUMENT_LIMIT:,} (no image is that large)")
    args.setdefault("p", 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Albumentations only warns on unknown arguments
        try:
            built = A.from_dict({"transform": {"__class_fullname__": spec["transform"], **args}})
        except KeyError:
            raise ValueError(f"Albumentations has no transform {spec['transform']!r}") from None
    # Ultralytics' trainer stores the transforms with A.to_dict and its dataset restores them with
    # A.from_dict; that round trip is what trains (it turns `contrast_limit: 0`'s (-0.0, 0.0) into
    # (-0.0, -0.0)), so checks, the log comparison and the recorded recipe use it too. Some
    # transforms' dicts carry a derived argument the restore warns about (PadIfNeeded's `padding`).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return A.from_dict(A.to_dict(built))


# Sample boxes (YOLO cx, cy, w, h; apart from each other), each painted in its own colour on black,
# so that where a transform moved a box's pixels can be compared with where it moved the box.
_SAMPLE_BOXES = [np.array([[0.3, 0.3, 0.2, 0.2], [0.6, 0.55, 0.3, 0.25], [0.85, 0.2, 0.2, 0.3]]),
                 np.array([[0.5, 0.5, 0.9, 0.9]])]
_COLOURS = np.array([[230, 40, 40], [40, 200, 40], [40, 60, 230]], np.int16)
# A pixel is a box's when it and its 3x3 neighbours are within 3 of the box's colour: edges blended
# by interpolation and isolated pixels of a random fill (Erasing, CoarseDropout) are no one's.
_COLOUR_TOLERANCE = 3
# A box is refused when more than this fraction of its pixels lie outside it (widened by 1 pixel).
# Correct spatial transforms leave none outside (the flips, crops, pads, resizes, rotations,
# distortions and dropouts of Albumentations, 20 seeds, 64 and 320 pixels); one that moves the
# image but not the boxes leaves most of them outside. The converse, that a box is mostly its own
# colour, is not asked: a rotated box encloses black corners, and Erasing empties most of a box.
_OUTSIDE = 0.1


def _pixels(box, width: int, height: int, margin: int = 0) -> tuple[slice, slice]:
    """The rows and columns of the pixels a YOLO box touches, widened by `margin`."""
    x, y, w, h = box
    return (slice(max(math.floor((y - h / 2) * height) - margin, 0), math.ceil((y + h / 2) * height) + margin),
            slice(max(math.floor((x - w / 2) * width) - margin, 0), math.ceil((x + w / 2) * width) + margin))


def _sample_images(imgsz: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two images with YOLO boxes at the training size (Ultralytics applies a recipe to the square
    imgsz x imgsz image its mosaic or letterbox made), to run a recipe on before training."""
    images = []
    for boxes in _SAMPLE_BOXES:
        image = np.zeros((imgsz, imgsz, 3), np.uint8)
        for i, box in enumerate(boxes):
            image[_pixels(box, imgsz, imgsz)] = _COLOURS[i]
        images.append((image, boxes))
    return images


def _check_boxes_follow_pixels(image: np.ndarray, boxes: np.ndarray, idx: np.ndarray) -> None:
    """Each returned box must hold its own pixels (a box can come back in pieces: RandomGridShuffle)."""
    height, width = image.shape[:2]
    for i in set(idx.tolist()):
        near = np.abs(image.astype(np.int16) - _COLOURS[i]).max(-1) <= _COLOUR_TOLERANCE
        own = cv2.erode(near.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        inside = np.zeros_like(own)
        for box in boxes[idx == i]:
            inside[_pixels(box, width, height, margin=1)] = True
        outside, total = np.count_nonzero(own & ~inside), np.count_nonzero(own)
        if outside > _OUTSIDE * total:
            raise ValueError(f"moves the image but not its boxes consistently: {outside / total:.0%} "
                             "of a box's pixels land outside the box it returns")


def check_runs(transform: A.BasicTransform, imgsz: int) -> None:
    """Run one transform (always applied) the way Ultralytics runs a recipe, on images with boxes.

    Raises ValueError naming what is wrong: it fails, needs targets detection training does not
    provide (masks), returns something other than a uint8 RGB image (Normalize, ToTensorV2 -- Ultralytics
    scales and converts images itself), loses boxes' validity, or does not move the boxes with the
    pixels: a spatial transform whose boxes do not hold their own pixels, or an image-only transform
    (Ultralytics gives it no boxes) that changes the image size.
    """
    t = copy.deepcopy(transform)
    t.p = 1.0
    spatial = isinstance(t, A.DualTransform)
    compose = A.Compose([t], bbox_params=A.BboxParams(format="yolo", label_fields=["class_labels", "idx"])
                        if spatial else None, seed=0)
    for image, boxes in _sample_images(imgsz):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = compose(image=image, **({"bboxes": boxes, "class_labels": np.zeros(len(boxes)),
                                                "idx": np.arange(len(boxes))} if spatial else {}))
        except Exception as e:  # the library's own message says why
            raise ValueError(f"fails on a {imgsz}x{imgsz} training image with boxes: "
                             f"{' '.join(str(e).split())[:200]}") from None
        result = out["image"]
        if not isinstance(result, np.ndarray) or result.dtype != np.uint8:
            kind = type(result).__name__ if not isinstance(result, np.ndarray) else f"{result.dtype} array"
            raise ValueError(f"returns a {kind}, not a uint8 image: detection training needs 0-255 pixels "
                             "(Ultralytics scales and converts images itself)")
        if result.ndim != 3 or result.shape[2] != 3:
            raise ValueError(f"returns an image of shape {result.shape}; training needs height x width x 3")
        if not spatial:
            if result.shape != image.shape:
                raise ValueError(f"changes the image size from {imgsz}x{imgsz} to {result.shape[1]}x{result.shape[0]} "
                                 "without moving the boxes (it is not a spatial transform, so it gets no boxes)")
            continue
        returned = np.asarray(out["bboxes"]).reshape(-1, 4)
        if not np.all(returned[:, 2:] > 0):
            raise ValueError("returns boxes with no area")
        _check_boxes_follow_pixels(result, returned, np.asarray(out["idx"], int))


def build(recipe: dict) -> tuple[list[A.BasicTransform], dict]:
    """The recipe's Albumentations transforms and the Ultralytics overrides that go with them."""
    transforms = [build_transform(spec) for spec in recipe["albumentations"]]
    switches = {name: 0.0 for name in ULTRALYTICS_SWITCHES}
    switches.update(recipe.get("ultralytics", {}))
    switches["close_mosaic"] = 0
    return transforms, switches


def serialise(transforms: list[A.BasicTransform]) -> dict:
    """The pipeline as Albumentations serialises it (restorable with `A.from_dict`)."""
    return A.to_dict(A.Compose(transforms))


def expected_log(transforms: list[A.BasicTransform]) -> str:
    """The text Ultralytics logs after `albumentations: ` when it applied exactly these transforms."""
    return ", ".join(f"{t}".replace("always_apply=False, ", "") for t in transforms if t.p)


def strip_ansi(text: str) -> str:
    """Ultralytics colours its log prefixes; logs and checks use the plain text."""
    return _ANSI.sub("", text)


def check_applied(log_lines: list[str], transforms: list[A.BasicTransform]) -> None:
    """Fail unless Ultralytics reported applying exactly this pipeline (it drops a failing one silently)."""
    lines = [strip_ansi(line) for line in log_lines]
    seen = [line.split("albumentations: ", 1)[1].strip() for line in lines if "albumentations: " in line]
    want = expected_log(transforms)
    if not seen:
        raise RuntimeError("Ultralytics logged no 'albumentations:' line; the recipe's pipeline was not built")
    bad = [s for s in seen if s != want]
    if bad:
        raise RuntimeError(f"Ultralytics did not apply the recipe: it logged 'albumentations: {bad[0]}', "
                           f"expected 'albumentations: {want}'")
