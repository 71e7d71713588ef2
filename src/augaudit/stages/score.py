"""score: one variant's per-image F1 and broken flags, and mAP per test, in results/scores/<variant>/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from augaudit import config, datasets, metrics, perturbations, provenance, risk
from augaudit.files import atomic_dir, write_json, write_parquet
from augaudit.testsets import CLEAN, PERTURBED, images_dir, prediction_dir, prediction_file, severities


def out_dir(variant: str) -> Path:
    return Path("results/scores") / variant


def tests(params: dict) -> list[tuple[str, int]]:
    """clean first, then every (perturbation, severity) in params order."""
    return [("clean", 0)] + [(p, s) for p in params["perturbations"] for s in severities(params, p)]


def _references(folder: Path) -> tuple[dict, dict]:
    """Reference boxes (pixels) and sizes of every image in a test folder."""
    refs, sizes = {}, {}
    for image in datasets.list_images(folder):
        with Image.open(image) as im:
            sizes[image.stem] = im.size
        refs[image.stem] = metrics.to_pixels(datasets.read_labels(datasets.label_path(image)), *im.size)
    return refs, sizes


def score_test(refs: dict, detections: pd.DataFrame, conf: float, match_iou: float) -> pd.DataFrame:
    kept = detections[detections["score"] >= conf]
    groups = {k: g for k, g in kept.groupby("image_id", sort=False)}
    rows = []
    for image_id, (cls, xyxy) in refs.items():
        g = groups.get(image_id)
        if g is None:
            tp, fp, fn = 0, 0, len(cls)
        else:
            tp, fp, fn = metrics.match(cls, xyxy, g["class_id"].to_numpy(), g["score"].to_numpy(),
                                       g[["x1", "y1", "x2", "y2"]].to_numpy(float), match_iou)
        rows.append((image_id, tp, fp, fn, metrics.f1(tp, fp, fn)))
    return pd.DataFrame(rows, columns=["image_id", "tp", "fp", "fn", "f1"])


def run(params: dict, variant: str) -> Path:
    s = params["score"]
    split = params["dataset"]["eval_split"]
    class_ids = list(range(len(datasets.read_data_yaml(CLEAN / "data.yaml")["names"])))
    frames, test_metrics, clean_f1 = [], {}, None
    for name, severity in tests(params):
        refs, sizes = _references(images_dir(name, severity, split))
        detections = pd.read_parquet(prediction_file(variant, name, severity))
        frame = score_test(refs, detections, s["conf"], s["match_iou"])
        if clean_f1 is None:
            clean_f1 = frame.set_index("image_id")["f1"]
        frame["broken"] = risk.broken(frame["f1"].to_numpy(), clean_f1.reindex(frame["image_id"]).to_numpy(),
                                      s["break_drop"])
        test = "clean" if name == "clean" else f"{name}/{severity}"
        factor = "clean" if name == "clean" else perturbations.CATALOGUE[name].factor
        frame.insert(0, "severity", severity)
        frame.insert(0, "factor", factor)
        frame.insert(0, "perturbation", name)
        frame.insert(0, "test", test)
        frame.insert(0, "variant", variant)
        frames.append(frame)
        test_metrics[test] = {**metrics.coco_map(refs, sizes, detections, class_ids),
                              "risk": 100 * float(np.mean(frame["broken"])), "n_images": len(frame)}
    per_image = pd.concat(frames, ignore_index=True)
    per_image = per_image[["variant", "test", "perturbation", "factor", "severity", "image_id",
                           "tp", "fp", "fn", "f1", "broken"]]
    out = out_dir(variant)
    with atomic_dir(out) as tmp:
        write_parquet(tmp / "per_image.parquet", per_image)
        write_json(tmp / "metrics.json", {"variant": variant, "tests": test_metrics})
        inputs = {"data": CLEAN / "images" / split}
        for p in ["clean", *params["perturbations"]]:
            inputs[f"predictions_{p}"] = prediction_dir(variant, p)
            if p != "clean":
                inputs[f"perturbed_{p}"] = PERTURBED / p
        provenance.write(tmp, "score", inputs, config.stage_params(params, "score"), None)
    return out
