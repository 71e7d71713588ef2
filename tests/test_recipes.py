"""Recipes: Albumentations' own deserialiser, and the check that Ultralytics applied them."""

from __future__ import annotations

import pytest

from augaudit import recipes


def test_build_turns_every_builtin_off_unless_named():
    transforms, switches = recipes.build({"albumentations": [{"transform": "HorizontalFlip", "p": 0.5}],
                                          "ultralytics": {"mosaic": 1.0}})
    assert [type(t).__name__ for t in transforms] == ["HorizontalFlip"]
    assert switches["mosaic"] == 1.0 and switches["fliplr"] == 0 and switches["hsv_h"] == 0
    assert set(recipes.ULTRALYTICS_SWITCHES) <= set(switches)


def test_serialised_recipe_restores():
    import albumentations as A

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
