"""The perturbation catalogue: coverage, determinism, box geometry against independent maths,
imagecorruptions' ladders, and the closed forms and samplers that stand in for its code."""

import importlib
import itertools
import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from augaudit import catalogue_sheet as catalogue_sheet
from augaudit import perturbations as P
from augaudit.perturbations import pipeline
from augaudit.perturbations.kernels import _shared as shared
from augaudit.perturbations.kernels import blur, colour, lighting, noise
from augaudit.synthetic import make_image

REQUIRED = {
    "blur": {"gaussian_blur", "motion_blur", "defocus_blur", "zoom_blur", "glass_blur"},
    "noise": {"gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "iso_noise"},
    "quality": {"jpeg_compression", "pixelate", "pixel_dropout", "packet_loss"},
    "lighting": {"brightness", "darken", "contrast", "gamma", "shadow"},
    "colour": {"grayscale", "hue_shift", "saturate", "channel_shuffle"},
    "geometry": {"hflip", "vflip", "rotate", "scale", "translate", "perspective", "elastic_transform"},
    "occlusion": {"coarse_dropout", "grid_dropout", "random_erasing"},
    "weather": {"fog", "rain", "snow", "frost", "sun_flare"},
}
SINGLE_LEVEL = {"hflip", "vflip", "grayscale", "channel_shuffle"}

# Copied from imagecorruptions 1.1.2 (corruptions.py), severities 1..5.
IMAGECORRUPTIONS_LADDERS = {
    "gaussian_noise": [.08, .12, 0.18, 0.26, 0.38],
    "shot_noise": [60, 25, 12, 5, 3],
    "impulse_noise": [.03, .06, .09, 0.17, 0.27],
    "speckle_noise": [.15, .2, 0.35, 0.45, 0.6],
    "gaussian_blur": [1, 2, 3, 4, 6],
    "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "zoom_blur": [(1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)],  # np.arange(1, max, step)
    "fog": [(1.5, 2), (2., 2), (2.5, 1.7), (2.5, 1.5), (3., 1.4)],
    "frost": [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
    "snow": [(0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
             (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)],
    "spatter": [(0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0), (0.65, 0.3, 2, 0.68, 0.5, 0),
                (0.65, 0.3, 1, 0.65, 1.5, 1), (0.67, 0.4, 1, 0.65, 1.5, 1)],
    "contrast": [0.4, .3, .2, .1, .05],
    "brightness": [.1, .2, .3, .4, .5],
    "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
    "jpeg_compression": [25, 18, 15, 10, 7],
    "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
    "elastic_transform": [250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12],
}


@pytest.fixture(scope="module")
def scene():
    """A synthetic non-square RGB image (so transposed axes show) and its labels."""
    img_bgr, labels = make_image(seed=0, size=96, max_objects=4, distractors=3)
    img = cv2.resize(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB), (96, 72), interpolation=cv2.INTER_AREA)
    return img, np.array(labels, dtype=float).reshape(-1, 5)


def test_catalogue_covers_every_factor():
    assert len(P.CATALOGUE) >= 30
    by_factor = {f: {n for n, p in P.CATALOGUE.items() if p.factor == f} for f in P.FACTORS}
    for factor, names in REQUIRED.items():
        assert names <= by_factor[factor], (factor, names - by_factor[factor])
    assert all(p.factor in P.FACTORS and p.name == n for n, p in P.CATALOGUE.items())


def test_ladders_have_five_levels_unless_binary():
    for name, p in P.CATALOGUE.items():
        assert len(p.ladder) == (1 if name in SINGLE_LEVEL else 5), name


def test_imagecorruptions_counterparts_use_its_ladders():
    mapped = {p.imagecorruptions: p for p in P.CATALOGUE.values() if p.imagecorruptions}
    assert set(mapped) == set(IMAGECORRUPTIONS_LADDERS)
    for ic_name, ladder in IMAGECORRUPTIONS_LADDERS.items():
        ours = mapped[ic_name].ladder
        assert np.allclose(np.array(ours, dtype=float), np.array(ladder, dtype=float)), ic_name
    assert all(p.note for p in mapped.values() if p.name in {"frost", "zoom_blur"})


@pytest.mark.parametrize("name", sorted(P.CATALOGUE))
def test_every_severity_is_uint8_deterministic_and_pure(name, scene):
    img, labels = scene
    img_before, labels_before = img.copy(), labels.copy()
    p = P.CATALOGUE[name]
    for severity in range(1, len(p.ladder) + 1):
        out, out_labels = pipeline.apply(name, img, labels, severity, seed=3)
        assert out.dtype == np.uint8 and out.shape == img.shape
        assert out_labels.ndim == 2 and out_labels.shape[1] == 5
        again, again_labels = pipeline.apply(name, img, labels, severity, seed=3)
        assert again.tobytes() == out.tobytes() and np.array_equal(again_labels, out_labels)
        others = {pipeline.apply(name, img, labels, severity, seed=s)[0].tobytes() for s in (4, 5, 6)}
        seed_matters = others != {out.tobytes()}  # three seeds: channel_shuffle has only five outcomes
        assert seed_matters == p.stochastic, (name, severity)
        assert not np.array_equal(out, img), (name, severity)
    assert np.array_equal(img, img_before) and np.array_equal(labels, labels_before)


def test_yaml_style_ladder_override_matches_the_default(scene):
    img, labels = scene
    default, _ = pipeline.apply("motion_blur", img, labels, 1, seed=7)
    override, _ = pipeline.apply("motion_blur", img, labels, 1, seed=7, ladder=[[10, 3]])
    assert default.tobytes() == override.tobytes()


def test_hflip_and_vflip_mirror_boxes_and_pixels(scene):
    img, labels = scene
    out, boxes = pipeline.apply("hflip", img, labels, 1, seed=0)
    assert np.array_equal(out, img[:, ::-1])
    assert np.allclose(boxes[:, 1], 1 - labels[:, 1]) and np.allclose(boxes[:, [0, 2, 3, 4]], labels[:, [0, 2, 3, 4]])
    out, boxes = pipeline.apply("vflip", img, labels, 1, seed=0)
    assert np.array_equal(out, img[::-1])
    assert np.allclose(boxes[:, 2], 1 - labels[:, 2]) and np.allclose(boxes[:, [0, 1, 3, 4]], labels[:, [0, 1, 3, 4]])


def _rotate_points(xy: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    """Counter-clockwise as displayed (y points down), about `centre`, in pixels."""
    t = np.deg2rad(degrees)
    d = xy - centre
    return centre + np.column_stack([d[:, 0] * np.cos(t) + d[:, 1] * np.sin(t),
                                     -d[:, 0] * np.sin(t) + d[:, 1] * np.cos(t)])


def _corner_box(x1, y1, x2, y2, degrees, centre):
    corners = _rotate_points(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float), degrees, centre)
    return np.r_[corners.min(0), corners.max(0)]


@pytest.mark.parametrize("degrees", [90, 10, 30])
def test_rotate_moves_pixels_and_boxes_like_an_independent_rotation(degrees):
    size = 120
    x1, y1, x2, y2 = 66, 24, 102, 48  # a white rectangle, well inside the frame at any angle
    img = np.zeros((size, size, 3), np.uint8)
    img[y1:y2, x1:x2] = 255
    label = np.array([[2, (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size]])
    out, boxes = pipeline.apply("rotate", img, label, 1, seed=0, ladder=[degrees])
    centre = np.array([size / 2, size / 2])
    enclosing = _corner_box(x1, y1, x2, y2, degrees, centre)
    ys, xs = np.nonzero(out[..., 0] > 127)
    assert np.allclose([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], enclosing, atol=1.5)
    # Documented box rule: the box of the rotated inscribed ellipse, centred on the rotated centre.
    t = np.deg2rad(degrees)
    a, b = (x2 - x1) / 2, (y2 - y1) / 2
    half = np.array([np.hypot(a * np.cos(t), b * np.sin(t)), np.hypot(a * np.sin(t), b * np.cos(t))])
    mid = _rotate_points(np.array([[(x1 + x2) / 2, (y1 + y2) / 2]]), degrees, centre)[0]
    assert boxes.shape == (1, 5) and boxes[0, 0] == 2
    assert np.allclose(boxes[0, 1:3] * size, mid, atol=0.6)
    assert np.allclose(boxes[0, 3:5] * size, 2 * half, atol=0.6)
    assert np.all(boxes[0, 3:5] * size <= enclosing[2:] - enclosing[:2] + 0.6)


def _clip_rule(box: np.ndarray, shift: np.ndarray) -> np.ndarray | None:
    """The documented rule, computed independently: move, clip to the frame, keep if >= 30 % visible."""
    cls, cx, cy, w, h = box
    lo, hi = np.array([cx - w / 2, cy - h / 2]) + shift, np.array([cx + w / 2, cy + h / 2]) + shift
    clo, chi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    visible = np.prod(np.maximum(chi - clo, 0)) / (w * h)
    if visible < pipeline.MIN_VISIBILITY:
        return None
    return np.r_[cls, (clo + chi) / 2, chi - clo]


def test_translate_drops_boxes_moved_out_of_the_frame_and_clips_the_rest():
    size, t = 100, 0.3  # severity 5: a 30-pixel shift on both axes
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    boxes = np.array([
        [0, 0.06, 0.06, 0.1, 0.1], [1, 0.94, 0.06, 0.1, 0.1],   # corner boxes: one of the four
        [2, 0.06, 0.94, 0.1, 0.1], [3, 0.94, 0.94, 0.1, 0.1],   # always survives
        [4, 0.5, 0.5, 0.2, 0.2],                                # stays inside
        [5, 0.8, 0.5, 0.3, 0.2], [6, 0.5, 0.2, 0.2, 0.3],       # partly out in some directions
        [7, 0.75, 0.75, 0.5, 0.5], [8, 0.2, 0.5, 0.3, 0.6],
    ])
    seen = set()
    for seed in range(12):
        out, got = pipeline.apply("translate", img, boxes, 5, seed=seed)
        direction = min(((sx, sy) for sx in (-1, 1) for sy in (-1, 1)),
                        key=lambda d: _shift_error(img, out, d, round(t * size)))
        assert _shift_error(img, out, direction, round(t * size)) == 0
        seen.add(direction)
        expected = [e for e in (_clip_rule(b, t * np.array(direction)) for b in boxes) if e is not None]
        assert len(expected) < len(boxes)
        assert got.shape == (len(expected), 5)
        assert np.allclose(got, np.array(expected), atol=1e-6)
    assert len(seen) == 4


def _shift_error(img: np.ndarray, out: np.ndarray, direction: tuple, px: int) -> float:
    """Mean absolute difference between `out` and `img` moved by px * direction (overlap only)."""
    sx, sy = direction
    h, w = img.shape[:2]
    src = img[max(0, -sy * px):h - max(0, sy * px), max(0, -sx * px):w - max(0, sx * px)]
    dst = out[max(0, sy * px):h - max(0, -sy * px), max(0, sx * px):w - max(0, -sx * px)]
    return float(np.abs(src.astype(int) - dst).mean())


# A frame with odd sides, so that half-pixel errors show, and filled rectangles given by their pixel edges:
# rectangle (x1, y1, x2, y2) fills columns x1..x2 - 1 and rows y1..y2 - 1, so its YOLO box spans [x1, x2] x [y1, y2].
FRAME = (97, 131)
RECTS = [(20, 15, 61, 48), (70, 40, 113, 83), (45, 60, 72, 89)]
GEOMETRIC = sorted(n for n, p in P.CATALOGUE.items() if p.geometric)
TO_EDGES = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])  # OpenCV puts pixel j's centre at j, boxes at j + 0.5


def _rect_scene() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The image, its YOLO labels (class k: rectangle k) and one mask per rectangle."""
    h, w = FRAME
    img = np.zeros((h, w, 3), np.uint8)
    masks = []
    for k, (x1, y1, x2, y2) in enumerate(RECTS):
        img[y1:y2, x1:x2] = (90 + 80 * k, 230 - 70 * k, 60 + 60 * k)
        masks.append(np.zeros((h, w), np.uint8))
        masks[-1][y1:y2, x1:x2] = 1
    labels = np.array([[k, (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
                       for k, (x1, y1, x2, y2) in enumerate(RECTS)])
    return img, labels, masks


def _perturbed(name: str, severity: int, seed: int) -> tuple:
    """pipeline.apply on the rectangles, and the same draw again through a Compose that records the transform's
    parameters and moves each rectangle's mask with the image (nearest interpolation)."""
    img, labels, masks = _rect_scene()
    image, boxes = pipeline.apply(name, img, labels, severity, seed=seed)
    build = pipeline.BUILDERS[name]
    compose = A.Compose([build(P.ladder_value(name, severity))], save_applied_params=True, seed=seed)
    out = compose(image=img, masks=masks)
    assert np.array_equal(out["image"], image)  # the same draw
    params = out["applied_transforms"][0][1] if out["applied_transforms"] else {}
    return img, image, boxes, params, out["masks"]


def _pixel_warp(name: str, params: dict, shape: tuple) -> np.ndarray:
    """The 3x3 matrix that moves pixel centres (OpenCV's coordinates) as the perturbation moves the image."""
    h, w = shape
    if name == "hflip":
        return np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], float)
    if name == "vflip":
        return np.array([[1, 0, 0], [0, -1, h - 1], [0, 0, 1]], float)
    if name == "perspective":  # warped to max_width x max_height, resized to the frame (keep_size)
        return np.diag([w / params["max_width"], h / params["max_height"], 1]) @ params["matrix"]
    return params["matrix"]  # Affine: rotate, scale, translate


def _expected_boxes(name: str, warp: np.ndarray, labels: np.ndarray, shape: tuple) -> np.ndarray:
    """The documented box rule from the pixel warp alone: in box coordinates (pixel j spans [j, j + 1)) the warp
    is TO_EDGES @ warp @ TO_EDGES^-1; a box becomes the box of its warped corners (rotate: of its warped
    inscribed ellipse), is clipped to the frame and dropped when less than MIN_VISIBILITY of it is left."""
    h, w = shape
    m = TO_EDGES @ warp @ np.linalg.inv(TO_EDGES)
    kept = []
    for cls, cx, cy, bw, bh in labels * [1, w, h, w, h]:
        if name == "rotate":
            centre = m[:2] @ [cx, cy, 1]
            half = np.hypot(m[:2, 0] * bw / 2, m[:2, 1] * bh / 2)
            lo, hi = centre - half, centre + half
        else:
            corners = np.array([[cx + sx * bw / 2, cy + sy * bh / 2, 1] for sx in (-1, 1) for sy in (-1, 1)]) @ m.T
            xy = corners[:, :2] / corners[:, 2:]
            lo, hi = xy.min(0), xy.max(0)
        clo, chi = np.clip(lo, 0, [w, h]), np.clip(hi, 0, [w, h])
        if np.prod(chi - clo) >= pipeline.MIN_VISIBILITY * np.prod(hi - lo):
            kept.append([cls, *clo, *chi])
    return np.array(kept).reshape(-1, 5)


def _corners(boxes: np.ndarray, shape: tuple) -> np.ndarray:
    """YOLO rows [class, cx, cy, w, h] as [class, x1, y1, x2, y2] in pixels."""
    h, w = shape
    cls, cx, cy, bw, bh = (boxes * [1, w, h, w, h]).T
    return np.column_stack([cls, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])


@pytest.mark.parametrize("name", [n for n in GEOMETRIC if n != "elastic_transform"])
def test_geometric_boxes_follow_the_pixel_warp(name):
    """One convention for every geometric perturbation: boxes move by the warp that moves the pixels."""
    h, w = FRAME
    labels = _rect_scene()[1]
    for severity, seed in itertools.product(range(1, len(P.CATALOGUE[name].ladder) + 1), range(4)):
        img, image, boxes, params, _ = _perturbed(name, severity, seed)
        warp = _pixel_warp(name, params, FRAME)
        affine = np.array_equal(warp[2], [0, 0, 1])  # the OpenCV call Albumentations makes: Affine, or Perspective
        warped = cv2.warpAffine(img, warp[:2], (w, h)) if affine else cv2.warpPerspective(img, warp, (w, h))
        assert np.array_equal(warped, image)
        expected = _expected_boxes(name, warp, labels, FRAME)
        assert boxes.shape == expected.shape, (severity, seed)
        assert np.allclose(_corners(boxes, FRAME), expected, rtol=0, atol=0.01), (severity, seed)


@pytest.mark.parametrize("name", GEOMETRIC)
def test_geometric_boxes_enclose_the_warped_pixels(name):
    """A box agrees with the box of its rectangle's mask warped like the image (the pixels whose centres land
    inside the warped rectangle): within half a pixel per side, a little more where a warped corner is sharp.
    Boxes cut by the frame are skipped (clipping keeps the extent of the corners cut off), and a rotated box
    encloses the rectangle's inscribed ellipse, so only its centre is compared."""
    h, w = FRAME
    checked = 0
    for severity, seed in itertools.product(range(1, len(P.CATALOGUE[name].ladder) + 1), range(4)):
        _, _, boxes, _, masks = _perturbed(name, severity, seed)
        for cls, *box in _corners(boxes, FRAME):
            mask = masks[int(cls)]
            cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
            pixels = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
            if pixels[0] == 0 or pixels[1] == 0 or pixels[2] == w or pixels[3] == h:
                continue
            if name == "rotate":
                box, pixels = np.add(box[:2], box[2:]) / 2, (pixels[:2] + pixels[2:]) / 2
            assert np.allclose(box, pixels, rtol=0, atol=0.6), (severity, seed, cls)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", ["gaussian_blur", "motion_blur", "gaussian_noise", "shot_noise", "impulse_noise",
                                  "contrast", "brightness", "fog", "pixel_dropout", "rotate", "coarse_dropout"])
def test_effect_grows_with_severity(name, scene):
    img, labels = scene
    effect = [np.abs(pipeline.apply(name, img, labels, s, seed=5)[0].astype(int) - img).mean() for s in range(1, 6)]
    assert all(b > a for a, b in itertools.pairwise(effect)), (name, effect)


def _reference_glass_shuffle(x: np.ndarray, c: tuple, offsets: np.ndarray) -> np.ndarray:
    """imagecorruptions 1.1.2's glass-blur loop as written, on an H x W x 3 uint8 array (in place);
    visit k takes offsets[k] where the original draws np.random.randint(-c[1], c[1], size=(2,))."""
    x_shape = x.shape
    k = 0
    for _ in range(c[2]):
        for h in range(x_shape[0] - c[1], c[1], -1):
            for w in range(x_shape[1] - c[1], c[1], -1):
                dx, dy = offsets[k]
                k += 1
                h_prime, w_prime = h + dy, w + dx
                # swap
                x[h, w], x[h_prime, w_prime] = x[h_prime, w_prime], x[h, w]
    assert k == len(offsets)
    return x


def _reference_glass_blur(img: np.ndarray, c: tuple, offsets: np.ndarray) -> np.ndarray:
    """imagecorruptions 1.1.2's glass_blur and corrupt()'s final np.uint8; skimage's
    gaussian(multichannel=True) is the scipy call it makes (mode 'nearest', truncate 4, per channel)."""
    def gaussian(x, sigma):
        return gaussian_filter(x, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)

    x = np.uint8(gaussian(np.array(img) / 255., sigma=c[0]) * 255)
    x = _reference_glass_shuffle(x, c, offsets)
    return np.uint8(np.clip(gaussian(x / 255., sigma=c[0]), 0, 1) * 255)


class _ReplayedOffsets:
    """Stands in for glass_blur's generator: hands it the given offsets, in the reference's order."""

    def __init__(self, offsets: np.ndarray):
        self.offsets = offsets

    def integers(self, low, high, size, dtype):
        assert size == self.offsets.shape and low <= self.offsets.min() and self.offsets.max() < high
        return self.offsets.astype(dtype)


def _glass_offsets(shape: tuple, c: tuple, seed: int) -> np.ndarray:
    """The (dx, dy) of every visit, drawn per visit as the reference draws them."""
    visits = c[2] * max(0, shape[0] - 2 * c[1]) * max(0, shape[1] - 2 * c[1])
    rs = np.random.RandomState(seed)
    return np.array([rs.randint(-c[1], c[1], size=(2,)) for _ in range(visits)]).reshape(visits, 2)


@pytest.mark.parametrize("c", [*P.CATALOGUE["glass_blur"].ladder, (1, 1, 5), (1, 3, 1)], ids=str)
def test_glass_shuffle_matches_the_reference_loop(c):
    """The reference's tuple assignment copies (its right-hand side holds views), it does not swap."""
    h, w = 23, 31
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    offsets = _glass_offsets(img.shape, c, seed=10 * c[1] + c[2])
    expected = _reference_glass_shuffle(img.copy(), c, offsets)
    got = img.reshape(h * w, 3)[blur._glass_sources(h, w, c[1], offsets)].reshape(img.shape)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("severity", range(1, 6))
def test_glass_blur_matches_the_reference_function(severity, scene):
    c = P.CATALOGUE["glass_blur"].ladder[severity - 1]
    img = scene[0][:41, :53]  # odd sides
    offsets = _glass_offsets(img.shape, c, seed=severity)
    expected = _reference_glass_blur(img, c, offsets).astype(int)
    got = blur.glass_blur(img, c, _ReplayedOffsets(offsets))
    diff = np.abs(got - expected)
    assert diff.max() <= 1 and diff.mean() < 0.05  # float32 against float64 at the two truncations


@pytest.mark.parametrize("angle", [-135.0, -90.0, -60.5, -45.0, -20.3, 0.0, 17.0, 44.9])
def test_sparse_motion_blur_matches_the_one_kernel_convolution(angle, scene):
    """Runs of taps filtered directly and summed agree with filter2D of the whole line kernel up to
    float rounding: a grey level apart in a few values at most."""
    img = scene[0]
    for radius, sigma in P.CATALOGUE["motion_blur"].ladder:
        diff = np.abs(shared._sparse_motion_blur(img, radius, sigma, angle).astype(int)
                      - shared._motion_blur(img, radius, sigma, angle))
        assert diff.max() <= 1 and np.count_nonzero(diff) <= 5, (radius, angle, np.count_nonzero(diff))


@pytest.mark.parametrize("std", P.CATALOGUE["gaussian_noise"].ladder)
def test_gaussian_noise_is_albumentations_gaussnoise(std, scene):
    transform = A.GaussNoise(std_range=(std, std), mean_range=(0, 0), p=1)
    transform.set_random_seed(5)
    assert np.array_equal(noise.gaussian_noise(scene[0], std, np.random.default_rng(5)),
                          transform(image=scene[0])["image"])


def test_corruptions_run_as_the_seeded_compose_would(scene):
    """apply() calls a Corruption directly, skipping Compose: same draws, same bytes."""
    img = scene[0]
    for name, p in P.CATALOGUE.items():
        transform = pipeline.BUILDERS[p.name](p.ladder[-1])
        if isinstance(transform, shared.Corruption):
            compose = A.Compose([transform])
            compose.set_random_seed(11)
            assert np.array_equal(pipeline.apply(name, img, np.zeros((0, 5)), len(p.ladder), seed=11)[0],
                                  compose(image=img)["image"]), name


def test_shot_noise_sampler_is_poisson():
    c, level = 12, 64  # rate ~3: counts of c or more (clipped to white) are negligible
    img = np.full((300, 300, 3), level, np.uint8)
    out = noise.shot_noise(img, c, np.random.default_rng(0))
    counts = np.round(out.astype(float) * c / 255).astype(int)  # undo k * 255 / c, truncated
    lam = level * c / 255
    freq = np.bincount(counts.ravel(), minlength=c)[:c] / counts.size
    k = np.arange(c)
    pmf = np.exp(-lam + k * np.log(lam) - np.cumsum(np.r_[0, np.log(k[1:])]))
    assert np.abs(freq - pmf).max() < 0.005
    assert abs(counts.mean() - lam) < 0.03


def test_impulse_noise_hits_channel_values_independently():
    amount = 0.27
    out = noise.impulse_noise(np.full((200, 200, 3), 128, np.uint8), amount, np.random.default_rng(0))
    assert abs((out == 255).mean() - amount / 2) < 0.005 and abs((out == 0).mean() - amount / 2) < 0.005
    assert abs((out != 128).all(axis=2).mean() - amount ** 3) < 0.005  # per value, not per pixel


def _hsv_round_trip(img: np.ndarray, edit) -> np.ndarray:
    """imagecorruptions' rgb2hsv -> edit -> hsv2rgb, via OpenCV's float HSV (hue 0 for greys too)."""
    hsv = cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2HSV)
    edit(hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255


@pytest.mark.parametrize("c", [0.1, 0.5, -0.3])
def test_value_shift_matches_the_hsv_round_trip(c, scene):
    img = scene[0].copy()
    img[:4] = 0  # black rows: brightening turns them grey

    def edit(hsv):
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)

    fn = lighting.brightness if c > 0 else lighting.darken
    ours = fn(img, abs(c), None).astype(float)
    assert np.abs(ours - _hsv_round_trip(img, edit)).max() <= 1.01


@pytest.mark.parametrize("c", [(0.3, 0), (2, 0), (20, 0.2)])
def test_saturate_matches_the_hsv_round_trip(c, scene):
    img = scene[0].copy()
    img[:4] = 90  # grey rows: hue 0, so b turns them red

    def edit(hsv):
        hsv[..., 1] = np.clip(hsv[..., 1] * c[0] + c[1], 0, 1)

    assert np.abs(colour.saturate(img, c, None).astype(float) - _hsv_round_trip(img, edit)).max() <= 1.01


def test_catalogue_sheet_grid_size(scene):
    img, labels = scene
    names, severities = ["gaussian_blur", "hflip", "rotate"], [1, 3, 5]
    grid = catalogue_sheet.sheet(img, labels, names=names, severities=severities)
    h, w = img.shape[:2]
    gap = catalogue_sheet.GAP
    assert grid.dtype == np.uint8
    assert grid.shape == (catalogue_sheet.HEADER_HEIGHT + len(names) * (h + gap),
                          catalogue_sheet.LABEL_WIDTH + len(severities) * (w + gap), 3)


@pytest.mark.parametrize("shape", [(60, 160), (160, 60)], ids=["wide", "tall"])
def test_every_perturbation_takes_elongated_images(shape, scene):
    """Real datasets mix aspect ratios (coco128 has 640x360 and 480x640); a transform whose
    parameters only fit near-square images must still perturb every severity."""
    img = cv2.resize(scene[0], shape[::-1], interpolation=cv2.INTER_AREA)
    labels = np.array([[0, 0.5, 0.5, 0.2, 0.2]])
    for name, p in sorted(P.CATALOGUE.items()):
        for severity in range(1, len(p.ladder) + 1):
            out, _ = pipeline.apply(name, img, labels, severity, seed=1)
            assert out.shape == img.shape and out.dtype == np.uint8, (name, severity)
            assert not np.array_equal(out, img), (name, severity)


@pytest.mark.parametrize("shape", [(96, 96), (60, 160), (160, 60), (20, 300)])
def test_random_erasing_erases_its_fraction_at_any_aspect(shape):
    img = np.full((*shape, 3), 128, np.uint8)
    labels = np.zeros((0, 5))
    for severity, fraction in enumerate(P.CATALOGUE["random_erasing"].ladder, 1):
        out, _ = pipeline.apply("random_erasing", img, labels, severity, seed=2)
        erased = (out == 0).all(axis=2).mean()
        assert erased == pytest.approx(fraction, rel=0.1, abs=2 / img[..., 0].size), (shape, severity)


def test_random_erasing_matches_albumentations_where_its_range_fits(scene):
    import albumentations as A

    img, labels = scene  # 96x72: ratio (0.5, 2) fits every ladder value
    for severity, fraction in enumerate(P.CATALOGUE["random_erasing"].ladder, 1):
        ref = A.Compose([A.Erasing(scale=(fraction, fraction), ratio=(0.5, 2.0), fill=0, p=1)])
        ref.set_random_seed(7)
        ours = pipeline.apply("random_erasing", img, labels, severity, seed=7)[0]
        assert np.array_equal(ours, ref(image=img)["image"])


def test_every_catalogue_level_is_in_its_own_domain_and_neighbours_outside_are_not():
    """The domains bound what a user ladder may hold; the catalogue's own levels must pass them, and a
    value just past a bound, a NaN, a flag or a wrong shape must not."""
    for name, p in P.CATALOGUE.items():
        for level in p.ladder:
            assert p.ladder_problem(level) is None, (name, level)
        first = p.ladder[0]
        lo, hi = p.bounds(1 if isinstance(first, tuple) and isinstance(first[0], str) else 0)
        for bad in (lo - 1, hi + 1, float("nan"), float("inf"), True):
            value = [bad, *first[1:]] if isinstance(first, tuple) and not isinstance(first[0], str) else bad
            if isinstance(first, tuple) and isinstance(first[0], str):
                value = [first[0], bad, *first[2:]]
            assert p.ladder_problem(value) is not None, (name, value)
        assert p.ladder_problem([first, first]) is not None  # a level of levels


def test_schema_factors_catalogue_and_kernels_agree():
    """The params schema's factor enums are the catalogue's FACTORS, every entry's factor is one of them,
    and each factor's kernel module builds exactly that factor's perturbations."""
    import yaml

    schema = yaml.safe_load((Path(P.__file__).parents[1] / "schemas" / "params.schema.yaml").read_text())

    def enums(node):
        if isinstance(node, dict):
            if "blur" in node.get("enum", []):
                yield node["enum"]
            for v in node.values():
                yield from enums(v)
        elif isinstance(node, list):
            for v in node:
                yield from enums(v)

    found = list(enums(schema))
    assert len(found) >= 2 and all(e == list(P.FACTORS) for e in found), found
    for factor in P.FACTORS:
        module = importlib.import_module(f"augaudit.perturbations.kernels.{factor}")
        assert set(module.BUILDERS) == {n for n, p in P.CATALOGUE.items() if p.factor == factor}, factor
    assert set(pipeline.BUILDERS) == set(P.CATALOGUE)
