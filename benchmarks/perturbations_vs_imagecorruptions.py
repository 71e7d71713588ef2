"""Time imagecorruptions' `corrupt` against augaudit's `perturbations.apply` on the same images.

For every corruption both provide, each image is corrupted at severities 1..5 by both; the table
gives each side's throughput (images/s, one image at one severity), their ratio, and how strongly
each changes the image (mean absolute difference from the input, grey levels), plus, for the
deterministic corruptions, the mean absolute difference between the two outputs. The overall ratio
is the time to run every corruption at every severity on one image, theirs over ours; the
geometric mean of the per-corruption ratios is printed beside it because glass_blur dominates the
total.

imagecorruptions and scikit-image are test dependencies (`make setup` installs them; imagecorruptions
without its dependencies, whose `opencv-python` would shadow the project's opencv-python-headless);
tests/imagecorruptions_compat.py imports it under today's NumPy, scikit-image and setuptools.

Run from the repository root:

    NO_ALBUMENTATIONS_UPDATE=1 .venv/bin/python benchmarks/perturbations_vs_imagecorruptions.py

Images: the first `--images` of ../shared/datasets/coco128/images (relative to the repository root),
resized to `--size` pixels square; imagecorruptions' glass_blur and zoom_blur take about a second
and a tenth of a second per image, so they run on the first `--slow-images` only (both sides).

Both sides run single-threaded: imagecorruptions' NumPy, SciPy and PIL code uses one core, and
OpenCV (most of ours), BLAS and torch are held to one thread too, so the ratios compare algorithms,
not core counts.
"""

from __future__ import annotations

import os

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # read as NumPy, torch load

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from augaudit import perturbations
from augaudit.perturbations import pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the import shims, shared with the tests
from imagecorruptions_compat import load_imagecorruptions

DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "coco128" / "images"
SLOW = {"glass_blur", "zoom_blur"}
SEVERITIES = range(1, 6)


def load_images(folder: Path, count: int, size: int) -> list[np.ndarray]:
    """The first `count` images under `folder` (sorted), RGB, resized to size x size."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:count]
    return [cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (size, size),
                       interpolation=cv2.INTER_AREA) for p in paths]


def run(fn, images: list[np.ndarray]) -> tuple[float, float, list[np.ndarray]]:
    """Seconds spent in `fn(image, severity)` over all images and severities, the mean absolute
    change it makes, and its outputs."""
    spent, change, outputs = 0.0, 0.0, []
    for s in SEVERITIES:
        for i, img in enumerate(images):
            start = time.perf_counter()
            out = fn(img, s, i)
            spent += time.perf_counter() - start
            change += np.abs(out.astype(np.int16) - img).mean()
            outputs.append(out)
    return spent, change / len(outputs), outputs


def compare(name: str, corrupt, images: list[np.ndarray]) -> dict:
    """Both sides on the same images; warm-up calls first, so one-off set-up is not timed."""
    empty = np.zeros((0, 5))

    def ours(img, s, i):
        return pipeline.apply(name, img, empty, s, seed=1000 * s + i)[0]

    def theirs(img, s, i):
        return corrupt(img, corruption_name=name, severity=s)

    for fn in (ours, theirs):
        for s in SEVERITIES:
            fn(images[0], s, 0)
    t_theirs, d_theirs, out_theirs = run(theirs, images)
    t_ours, d_ours, out_ours = run(ours, images)
    gap = (np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(out_ours, out_theirs, strict=True)])
           if not perturbations.CATALOGUE[name].stochastic else None)
    calls = len(images) * len(SEVERITIES)
    return {"name": name, "images": len(images), "theirs": t_theirs / calls, "ours": t_ours / calls,
            "d_theirs": d_theirs, "d_ours": d_ours, "gap": gap}


def report(rows: list[dict]) -> None:
    """Print the per-corruption table and the overall ratios."""
    print(f"{'corruption':18s} {'images':>6s} {'theirs img/s':>12s} {'ours img/s':>11s} {'speedup':>8s} "
          f"{'change theirs':>13s} {'change ours':>11s} {'|ours-theirs|':>13s}")
    for r in rows:
        gap = f"{r['gap']:13.2f}" if r["gap"] is not None else f"{'-':>13s}"
        print(f"{r['name']:18s} {r['images']:6d} {1 / r['theirs']:12.1f} {1 / r['ours']:11.1f} "
              f"{r['theirs'] / r['ours']:7.1f}x {r['d_theirs']:13.2f} {r['d_ours']:11.2f} {gap}")
    total_theirs = sum(r["theirs"] for r in rows) * len(SEVERITIES)
    total_ours = sum(r["ours"] for r in rows) * len(SEVERITIES)
    geo = math.exp(np.mean([math.log(r["theirs"] / r["ours"]) for r in rows]))
    print(f"\none image through all {len(rows)} corruptions x {len(SEVERITIES)} severities: "
          f"theirs {total_theirs:.3f} s, ours {total_ours:.3f} s")
    print(f"overall ratio (total time theirs / total time ours): {total_theirs / total_ours:.1f}x")
    print(f"geometric mean of per-corruption ratios: {geo:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100, help="images for the fast corruptions")
    parser.add_argument("--slow-images", type=int, default=10, help="images for glass_blur and zoom_blur")
    parser.add_argument("--size", type=int, default=224, help="square side the images are resized to")
    parser.add_argument("--folder", type=Path, default=DATASET, help="image folder (searched recursively)")
    parser.add_argument("--corruptions", nargs="+", metavar="NAME", help="only these corruptions (default: all)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if "torch" in sys.modules:  # Albumentations imports it; nothing here should run on its threads either
        sys.modules["torch"].set_num_threads(1)
    if not args.folder.is_dir():
        print(f"skipped: no image folder at {args.folder} (pass --folder)")
        return 0
    try:
        imagecorruptions = load_imagecorruptions()
    except ImportError as e:
        print(f"skipped: imagecorruptions is not importable ({e}); see this script's docstring to install it")
        return 0
    images = load_images(args.folder, args.images, args.size)
    print(f"{len(images)} images from {args.folder}, {args.size}x{args.size}, severities 1-5; "
          f"{', '.join(sorted(SLOW))} on the first {args.slow_images} images only; one thread\n")
    np.random.seed(0)  # imagecorruptions draws from NumPy's global generator
    names = [n for n in imagecorruptions.get_corruption_names("all") if n in perturbations.CATALOGUE
             and (not args.corruptions or n in args.corruptions)]
    rows = [compare(n, imagecorruptions.corrupt, images[:args.slow_images] if n in SLOW else images)
            for n in names]
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
