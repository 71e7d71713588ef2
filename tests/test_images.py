"""One image reader: sizes and pixels agree for an EXIF-rotated JPEG, in every stage that reads one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augaudit import datasets
from augaudit.perturbations import pipeline
from augaudit.stages import check, score


@pytest.fixture
def rotated(tmp_path):
    """A 40x20 (w x h) JPEG stored sideways with EXIF orientation 6: displayed 20 wide, 40 high.
    Its label describes the displayed image: a box on the top quarter."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :10] = 255  # the stored left band is the displayed top band
    exif = Image.Exif()
    exif[datasets.EXIF_ORIENTATION] = 6
    image = tmp_path / "images" / "test" / "a.jpg"
    image.parent.mkdir(parents=True)
    Image.fromarray(stored).save(image, exif=exif.tobytes(), quality=95)
    label = tmp_path / "labels" / "test" / "a.txt"
    label.parent.mkdir(parents=True)
    label.write_text("0 0.5 0.125 1.0 0.25\n")
    return image


def test_size_and_pixels_agree_with_exif_applied(rotated):
    pixels = datasets.read_image(rotated)
    assert pixels.shape == (40, 20, 3)
    assert datasets.image_size(rotated) == (20, 40)
    assert pixels[:10].mean() > 200 and pixels[12:].mean() < 30  # the white band is on top, as displayed
    with Image.open(rotated) as im:
        assert im.size == (40, 20)  # what a reader that ignores EXIF would have used


def test_stages_see_the_displayed_image(rotated):
    assert check.check_image(rotated) == (20, 40)
    (cls, xyxy), = score.references([rotated])[0].values()
    np.testing.assert_allclose(xyxy, [[0, 0, 20, 10]])  # the white band, in displayed pixels
    image, labels = pipeline.apply("hflip", datasets.read_image(rotated),
                                        datasets.read_labels(datasets.label_path(rotated)), 1, 0)
    assert image.shape == (40, 20, 3)
    np.testing.assert_allclose(labels, [[0, 0.5, 0.125, 1.0, 0.25]], atol=1e-6)
