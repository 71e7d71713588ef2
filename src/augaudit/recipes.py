"""Training augmentation recipes: an Albumentations pipeline plus Ultralytics' built-in switches.

A recipe in params.yaml lists transforms as `{transform: ClassName, **arguments}`; they are built by
Albumentations' own deserialiser (`A.from_dict`), so names and arguments are checked by the library
and the recipe a model was trained with is recorded with `A.to_dict`. Ultralytics' built-in
augmentations are all switched off unless the recipe turns one on, so "no augmentation" means none.
"""

from __future__ import annotations

import copy
import re
import warnings

import albumentations as A
import numpy as np

# Ultralytics' own train-time augmentations; a recipe that does not name one gets 0 (off).
ULTRALYTICS_SWITCHES = ("mosaic", "mixup", "cutmix", "copy_paste", "hsv_h", "hsv_s", "hsv_v", "degrees",
                        "translate", "scale", "shear", "perspective", "flipud", "fliplr", "bgr")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build_transform(spec: dict) -> A.BasicTransform:
    """One transform from `{transform: Name, **args}`; unknown names or arguments raise."""
    args = {k: v for k, v in spec.items() if k != "transform"}
    args.setdefault("p", 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Albumentations only warns on unknown arguments
        try:
            return A.from_dict({"transform": {"__class_fullname__": spec["transform"], **args}})
        except KeyError:
            raise ValueError(f"Albumentations has no transform {spec['transform']!r}") from None


def _sample_images(imgsz: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two images with YOLO boxes at the training size (Ultralytics applies a recipe to the square
    imgsz x imgsz image its mosaic or letterbox made), to run a recipe on before training."""
    rng = np.random.default_rng(0)
    boxes = [np.array([[0.3, 0.3, 0.2, 0.2], [0.6, 0.55, 0.3, 0.25], [0.85, 0.2, 0.2, 0.3]]),
             np.array([[0.5, 0.5, 0.9, 0.9]])]
    return [(rng.integers(0, 256, (imgsz, imgsz, 3), dtype=np.uint8), b) for b in boxes]


def check_runs(transform: A.BasicTransform, imgsz: int) -> None:
    """Run one transform (always applied) the way Ultralytics runs a recipe, on images with boxes.

    Raises ValueError naming what is wrong: it fails, needs targets detection training does not
    provide (masks), returns something other than a uint8 RGB image (Normalize, ToTensorV2 -- Ultralytics
    scales and converts images itself), or loses boxes' validity.
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
        if spatial and len(out["bboxes"]) and not np.all(np.asarray(out["bboxes"])[:, 2:] > 0):
            raise ValueError("returns boxes with no area")


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
