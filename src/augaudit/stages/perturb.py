"""perturb: one perturbation's test sets, every severity, in data/perturbed/<perturbation>/.

The set is versioned by its manifest (augaudit.testsets): set.json (perturbation, ladder, source split),
manifest.csv (per severity and image: seed, source and pixel SHA-256, size, whether kept) and per
severity boxes.csv (every object still visible). Pixels are seeded per (seed, perturbation, severity,
image), so they are a pure function of the manifest: `perturb.materialize: all` keeps every image as a
PNG (lossless: only the JPEG perturbation itself degrades by compression) with its YOLO label,
`sample` only the first `perturb.sample` images of each severity (the report's contact sheet shows the
first); predict and the report regenerate the rest and check them against the manifest. Images stream
through a process pool (the stage's cores, a bounded number in flight).
"""

from __future__ import annotations

import csv
import io
import time
from multiprocessing import get_context
from pathlib import Path

import cv2

from augaudit import THREADS, datasets, perturbations, progress, provenance, stageparams, testsets
from augaudit.files import atomic_dir, sha256_bytes, sha256_file, write_json, write_text
from augaudit.paths import BOX_COLUMNS, CLEAN, PERTURBED
from augaudit.perturbations import pipeline

# the registry (augaudit.stages): one job per perturbation, and the params.yaml keys it reads
JOBS = {"perturbation": "perturbations"}
PARAMS = ("seed", "dataset.eval_split", "perturb", "perturbations.{perturbation}")

CHUNK = 16  # images per task sent to a worker


def _one(job: tuple) -> tuple[dict, list[list]]:
    """Perturb one image at one severity; write image + labels when kept; return its manifest row and
    its boxes.csv rows (every object still visible: clean index, in frame, hidden fraction)."""
    name, severity, ladder, seed, image, source, keep, out = job
    labels = datasets.read_labels(datasets.label_path(image))
    rgb, boxes = pipeline.apply(name, datasets.read_image(image), labels, severity, seed, ladder, details=True)
    png_sha256 = ""
    if keep:
        moved = boxes[boxes[:, 6] == 1, :5]  # the YOLO labels: what is still in the frame
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"{image}: OpenCV could not encode the perturbed image")
        (out / "images" / f"{image.stem}.png").write_bytes(png.tobytes())
        (out / "labels" / f"{image.stem}.txt").write_text(datasets.format_labels(moved))
        png_sha256 = sha256_bytes(png.tobytes())
    rows = [[image.stem, int(c), f"{x:.6f}", f"{y:.6f}", f"{w:.6f}", f"{h:.6f}", int(o), int(f), f"{hid:.4f}"]
            for c, x, y, w, h, o, f, hid in boxes]
    return {"image_id": image.stem, "severity": severity, "seed": seed, "source": image.relative_to(source).as_posix(),
            "source_sha256": sha256_file(image), "width": rgb.shape[1], "height": rgb.shape[0],
            "pixels_sha256": testsets.pixels_sha256(rgb), "kept": int(keep), "png_sha256": png_sha256,
            "boxes_in": len(labels), "boxes_out": int((boxes[:, 6] == 1).sum())}, rows


def _map(jobs: list[tuple], workers: int, desc: str) -> list[tuple[dict, list[list]]]:
    """Run jobs in order over a process pool; small sets stay in-process (a pool costs seconds to start)."""
    workers = min(workers, -(-len(jobs) // CHUNK))
    if workers <= 1:
        return [_one(job) for job in progress.steps(jobs, desc, len(jobs), "image")]
    with get_context("spawn").Pool(workers) as pool:
        return list(progress.steps(pool.imap(_one, jobs, chunksize=CHUNK), desc, len(jobs), "image"))


def _write_csv(path: Path, header: list[str], rows) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def run(params: dict, perturbation: str, workers: int | None = None) -> Path:
    spec = params["perturbations"][perturbation]
    ladder = spec.get("ladder")
    source = CLEAN / "images" / params["dataset"]["eval_split"]
    images = datasets.list_images(source)
    if not images:
        raise datasets.DatasetError(f"{source}: no images to perturb")
    out = PERTURBED / perturbation
    start = time.perf_counter()
    with atomic_dir(out) as tmp:
        jobs = []
        kept = len(images) if params["perturb"]["materialize"] == "all" else params["perturb"]["sample"]
        for severity in sorted(spec["severities"]):
            for kind in ("images", "labels"):
                (tmp / str(severity) / kind).mkdir(parents=True)
            seeds = [pipeline.image_seed(params["seed"], perturbation, severity, im.stem) for im in images]
            jobs += [(perturbation, severity, ladder, seed, im, source, i < kept, tmp / str(severity))
                     for i, (im, seed) in enumerate(zip(images, seeds, strict=True))]
        results = _map(jobs, workers or THREADS, f"perturb {perturbation}")
        header = list(results[0][0])
        _write_csv(tmp / testsets.MANIFEST, header, ([row[k] for k in header] for row, _ in results))
        write_json(tmp / testsets.SET_FILE,
                   {"perturbation": perturbation, "ladder": ladder, "source": source.as_posix()})
        for severity in spec["severities"]:
            _write_csv(tmp / str(severity) / "boxes.csv", BOX_COLUMNS,
                       (b for row, boxes in results if row["severity"] == severity for b in boxes))
        values = {s: perturbations.ladder_value(perturbation, s, ladder) for s in spec["severities"]}
        declared = stageparams.stage_params(params, "perturb", perturbation=perturbation)
        provenance.write(tmp, "perturb", {"clean": source}, declared, params["seed"],
                         extra={"factor": perturbations.CATALOGUE[perturbation].factor, "ladder_values": values})
    progress.done(f"perturb {perturbation}: {len(images)} images x {len(spec['severities'])} severities, "
                  f"{min(kept, len(images))} per severity kept as PNG", start)
    return out
