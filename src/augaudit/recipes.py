"""Training augmentation recipes: an Albumentations pipeline plus Ultralytics' built-in switches.

A recipe in params.yaml lists transforms as `{transform: ClassName, **arguments}`; they are built by
Albumentations' own deserialiser (`A.from_dict`), so names and arguments are checked by the library
and the recipe a model was trained with is recorded with `A.to_dict`. Ultralytics' built-in
augmentations are all switched off unless the recipe turns one on, so "no augmentation" means none.
"""

from __future__ import annotations

import re
import warnings

import albumentations as A

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
