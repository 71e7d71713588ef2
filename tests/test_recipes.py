"""Recipes: Albumentations' own deserialiser, and the check that Ultralytics applied them."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
from albumentations.core.serialization import SERIALIZABLE_REGISTRY

from augaudit import paramsfile, recipes

from conftest import default_params


def test_build_turns_every_builtin_off_unless_named():
    transforms, switches = recipes.build({"albumentations": [{"transform": "HorizontalFlip", "p": 0.5}],
                                          "ultralytics": {"mosaic": 1.0}})
    assert [type(t).__name__ for t in transforms] == ["HorizontalFlip"]
    assert switches["mosaic"] == 1.0 and switches["fliplr"] == 0 and switches["hsv_h"] == 0
    assert set(recipes.ULTRALYTICS_SWITCHES) <= set(switches)


def test_serialised_recipe_restores():
    transforms, _ = recipes.build({"albumentations": [{"transform": "GaussianBlur", "p": 0.3, "blur_limit": [3, 5]}]})
    restored = A.from_dict(recipes.serialise(transforms))
    assert str(restored.transforms[0]) == str(transforms[0])


@pytest.mark.parametrize("spec", [{"transform": "NoSuchTransform"}, {"transform": "GaussianBlur", "blurr": 3},
                                  {"transform": "GaussianBlur", "blur_limit": "x"}])
def test_bad_transform_raises(spec):
    with pytest.raises(Exception):  # noqa: B017 - Albumentations raises KeyError, ValueError or TypeError
        recipes.build_transform(spec)


def test_check_applied_requires_the_exact_pipeline():
    transforms, _ = recipes.build({"albumentations": [{"transform": "VerticalFlip", "p": 0.5}]})
    good = "\x1b[34m\x1b[1malbumentations: \x1b[0m" + recipes.expected_log(transforms)
    recipes.check_applied(["something else", good], transforms)
    with pytest.raises(RuntimeError, match="did not apply"):
        recipes.check_applied(["albumentations: 'NoneType' object is not iterable"], transforms)
    with pytest.raises(RuntimeError, match="no 'albumentations:' line"):
        recipes.check_applied(["nothing"], transforms)
    recipes.check_applied(["albumentations: "], [])  # the no-augmentation recipe


class FlipPixelsOnly(A.DualTransform):
    """Wrong on purpose: flips the image but leaves the boxes where they were."""

    def apply(self, img, **params):
        return np.ascontiguousarray(img[:, ::-1])

    def apply_to_bboxes(self, bboxes, **params):
        return bboxes


class PadPixelsOnly(A.DualTransform):
    """Wrong on purpose: pads the image above and on the left (a new size), but its boxes keep their
    coordinates relative to the image, so they stretch over the padding."""

    def apply(self, img, **params):
        return np.pad(img, ((img.shape[0] // 2, 0), (img.shape[1] // 4, 0), (0, 0)))

    def apply_to_bboxes(self, bboxes, **params):
        return bboxes


class ShrinkImage(A.ImageOnlyTransform):
    """Wrong on purpose: halves the image; as an image-only transform it is given no boxes to move."""

    def apply(self, img, **params):
        return cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("imgsz", [64, 320])
@pytest.mark.parametrize("transform", [FlipPixelsOnly(), PadPixelsOnly()], ids=type)
def test_a_spatial_transform_that_leaves_its_boxes_behind_is_refused(transform, imgsz):
    with pytest.raises(ValueError, match="^moves the image but not its boxes consistently: .* of a box's pixels"):
        recipes.check_runs(transform, imgsz)


@pytest.mark.parametrize("imgsz", [64, 320])
def test_an_image_only_transform_that_changes_the_size_is_refused(imgsz):
    with pytest.raises(ValueError, match=f"^changes the image size from {imgsz}x{imgsz} to {imgsz // 2}x{imgsz // 2} "
                                         "without moving the boxes"):
        recipes.check_runs(ShrinkImage(), imgsz)


def test_an_argument_no_image_could_use_is_refused_before_it_runs():
    """Albumentations accepts a blur kernel of 10**18 and then blurs for hours (found by the property
    test); the recipe is refused at once, naming the transform's line and argument."""
    params = default_params()
    params["recipes"]["mixed"]["albumentations"][0]["blur_limit"] = [3, 10**18]
    with pytest.raises(paramsfile.ParamsError, match=r"^params\.yaml:\d+: recipes\.mixed\.albumentations\[0\]: "
                                                 r"argument blur_limit: \[3, 1000000000000000000\] is beyond"):
        paramsfile.validate(params)
    params["recipes"]["mixed"]["albumentations"][0]["blur_limit"] = [3, 9]
    paramsfile.validate(params)  # large but sane: accepted


def test_the_refusal_names_the_recipe_the_transform_and_the_line(monkeypatch):
    monkeypatch.setitem(SERIALIZABLE_REGISTRY, "ShrinkImage", ShrinkImage)
    params = default_params()
    params["recipes"]["mixed"]["albumentations"].append({"transform": "ShrinkImage"})
    with pytest.raises(paramsfile.ParamsError,
                       match=r"^params\.yaml:\d+: recipes\.mixed\.albumentations\[4\]: ShrinkImage changes the "
                             r"image size from 128x128 to 64x64 without moving the boxes"):
        paramsfile.validate(params)


@pytest.mark.parametrize("imgsz", [64, 320])
@pytest.mark.parametrize("spec", [
    {"transform": "HorizontalFlip"},
    {"transform": "Resize", "height": 48, "width": 80},
    {"transform": "RandomCrop", "height": 40, "width": 40},
    {"transform": "LongestMaxSize", "max_size": 48},
    {"transform": "PadIfNeeded", "min_height": 480, "min_width": 400, "position": "random"},
    {"transform": "Affine", "scale": [0.5, 1.5], "translate_percent": [-0.2, 0.2], "rotate": [-45, 45],
     "shear": [-10, 10]},
    {"transform": "Perspective", "scale": [0.05, 0.15]},
    {"transform": "RandomSizedBBoxSafeCrop", "height": 32, "width": 32},
    {"transform": "RandomGridShuffle"},  # returns a box in pieces
    {"transform": "Erasing", "fill": "random"},  # empties most of a box, and random pixels may match its colour
], ids=lambda spec: spec["transform"])
def test_transforms_that_move_boxes_with_the_pixels_pass(spec, imgsz):
    recipes.check_runs(recipes.build_transform(spec), imgsz)


def test_the_pipeline_ultralytics_restores_is_the_one_checked():
    """Ultralytics' trainer stores the transforms with A.to_dict and its dataset restores and logs
    them; a signed zero (`contrast_limit: 0`) changed in that round trip and failed a real training."""
    import logging

    import albumentations as A
    from ultralytics.data.augment import Albumentations

    transforms, _ = recipes.build({"targets": [], "albumentations": [
        {"transform": "RandomBrightnessContrast", "p": 0.2, "contrast_limit": 0, "brightness_limit": [0, 0.191]},
        {"transform": "HorizontalFlip", "p": 0.5}]})
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(recipes.strip_ansi(record.getMessage()))
    logging.getLogger("ultralytics").addHandler(handler)
    try:
        Albumentations(p=1.0, transforms=[A.to_dict(t) for t in transforms])  # what the trainer hands the dataset
    finally:
        logging.getLogger("ultralytics").removeHandler(handler)
    recipes.check_applied(lines, transforms)
