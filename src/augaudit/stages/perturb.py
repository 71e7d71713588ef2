"""perturb: one perturbation's test sets, every severity, in data/perturbed/<perturbation>/<severity>/.

Images stream through a process pool (all cores, a bounded number in flight), are stored as PNG
(lossless: only the JPEG perturbation itself degrades by compression) and are seeded per
(seed, perturbation, severity, image), so a re-run gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import os
from multiprocessing import get_context
from pathlib import Path

import cv2

from augaudit import config, datasets, perturbations, provenance
from augaudit.files import atomic_dir, sha256_bytes, sha256_file, write_text
from augaudit.paths import CLEAN, PERTURBED

CHUNK = 16  # images per task sent to a worker


def _one(job: tuple) -> dict:
    """Perturb one image at one severity; write image + labels; return its manifest row."""
    name, severity, ladder, seed, image, out = job
    labels = datasets.read_labels(datasets.label_path(image))
    rgb, moved = perturbations.apply(name, datasets.read_image(image), labels, severity, seed, ladder)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"{image}: OpenCV could not encode the perturbed image")
    png = png.tobytes()
    (out / "images" / f"{image.stem}.png").write_bytes(png)
    (out / "labels" / f"{image.stem}.txt").write_text(datasets.format_labels(moved))
    return {"image_id": image.stem, "severity": severity, "seed": seed, "source_sha256": sha256_file(image),
            "output_sha256": sha256_bytes(png), "boxes_in": len(labels), "boxes_out": len(moved)}


def _map(jobs: list[tuple], workers: int) -> list[dict]:
    """Run jobs in order over a process pool; small sets stay in-process (a pool costs seconds to start)."""
    workers = min(workers, -(-len(jobs) // CHUNK))
    if workers <= 1:
        return [_one(job) for job in jobs]
    with get_context("spawn").Pool(workers) as pool:
        return list(pool.imap(_one, jobs, chunksize=CHUNK))


def run(params: dict, name: str, workers: int | None = None) -> Path:
    spec = params["perturbations"][name]
    ladder = spec.get("ladder")
    source = CLEAN / "images" / params["dataset"]["eval_split"]
    images = datasets.list_images(source)
    if not images:
        raise datasets.DatasetError(f"{source}: no images to perturb")
    out = PERTURBED / name
    with atomic_dir(out) as tmp:
        jobs = []
        for severity in sorted(spec["severities"]):
            for kind in ("images", "labels"):
                (tmp / str(severity) / kind).mkdir(parents=True)
            jobs += [(name, severity, ladder, perturbations.image_seed(params["seed"], name, severity, im.stem), im,
                      tmp / str(severity)) for im in images]
        rows = _map(jobs, workers or os.cpu_count() or 1)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(tmp / "manifest.csv", buf.getvalue())
        values = {s: perturbations.ladder_value(name, s, ladder) for s in spec["severities"]}
        provenance.write(tmp, "perturb", {"clean": source}, config.stage_params(params, "perturb", name),
                         params["seed"], extra={"factor": perturbations.CATALOGUE[name].factor,
                                                "ladder_values": values})
    return out
