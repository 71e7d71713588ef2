"""score: one variant's per-image F1 and broken flags, and mAP per test, in results/scores/<variant>/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from augaudit import config, datasets, metrics, paths, perturbations, provenance, risk
from augaudit.files import atomic_dir, write_json, write_parquet


def tests(params: dict) -> list[tuple[str, int]]:
    """clean first, then every (perturbation, severity) in params order."""
    return [("clean", 0)] + [(p, s) for p in params["perturbations"] for s in paths.severities(params, p)]


def references(images: list[Path]) -> tuple[dict, dict]:
    """Reference boxes (pixels, from the labels) and sizes of images, keyed by image id."""
    refs, sizes = {}, {}
    for image in images:
        sizes[image.stem] = datasets.image_size(image)
        refs[image.stem] = metrics.to_pixels(datasets.read_labels(datasets.label_path(image)), *sizes[image.stem])
    return refs, sizes


def _predicted_references(params: dict, clean_refs: dict, sizes: dict, name: str, severity: int,
                          clean_images: Path) -> dict:
    """Label-free references: the clean predictions, moved by the same transform as the image.

    A metamorphic relation: a robust model's detections on a perturbed image are its clean detections
    under the same transform. Non-geometric perturbations leave them where they are; geometric ones
    replay the perturbation with the image's own seed, boxes and all.
    """
    if name == "clean" or not perturbations.CATALOGUE[name].geometric:
        return clean_refs
    ladder = params["perturbations"][name].get("ladder")
    moved = {}
    for image_id, (cls, xyxy) in clean_refs.items():
        w, h = sizes[image_id]
        rgb = datasets.read_image(next(clean_images.glob(f"{image_id}.*")))
        labels = np.column_stack([cls, metrics.to_yolo(xyxy, w, h)]) if len(cls) else np.zeros((0, 5))
        _, out = perturbations.apply(name, rgb, labels, severity,
                                     perturbations.image_seed(params["seed"], name, severity, image_id), ladder)
        moved[image_id] = metrics.to_pixels(out, w, h)
    return moved


def _as_references(detections: pd.DataFrame, refs: dict, conf: float) -> dict:
    """Confident clean detections as (classes, xyxy) per image; an image with none has no references."""
    kept = detections[(detections["score"] >= conf) & (detections["x2"] > detections["x1"])
                      & (detections["y2"] > detections["y1"])]
    groups = {k: g for k, g in kept.groupby("image_id", sort=False)}
    empty = (np.zeros(0, int), np.zeros((0, 4)))
    return {k: (groups[k]["class_id"].to_numpy(), groups[k][["x1", "y1", "x2", "y2"]].to_numpy(float))
            if k in groups else empty for k in refs}


def score_test(refs: dict, detections: pd.DataFrame, conf: float, match_iou: float,
               names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image (tp, fp, fn, f1), and the same per class and object-size slice present in the image."""
    kept = detections[detections["score"] >= conf]
    groups = {k: g for k, g in kept.groupby("image_id", sort=False)}
    rows, slice_rows = [], []
    for image_id, (cls, xyxy) in refs.items():
        g = groups.get(image_id)
        det_cls = g["class_id"].to_numpy() if g is not None else np.zeros(0, int)
        det_xyxy = g[["x1", "y1", "x2", "y2"]].to_numpy(float) if g is not None else np.zeros((0, 4))
        det_score = g["score"].to_numpy() if g is not None else np.zeros(0)
        assigned = metrics.assign(cls, xyxy, det_cls, det_score, det_xyxy, match_iou)
        tp, fp, fn = metrics.counts(assigned, np.ones(len(cls), bool), np.ones(len(det_cls), bool))
        rows.append((image_id, tp, fp, fn, metrics.f1(tp, fp, fn)))
        gt_size, det_size = metrics.size_bucket(xyxy), metrics.size_bucket(det_xyxy)
        for kind, gt_keys, det_keys, label in (("class", cls, det_cls, lambda c: names[int(c)]),
                                               ("size", gt_size, det_size, str)):
            for key in sorted(set(gt_keys.tolist())):
                tp, fp, fn = metrics.counts(assigned, gt_keys == key, det_keys == key)
                slice_rows.append((image_id, f"{kind}:{label(key)}", tp, fp, fn, metrics.f1(tp, fp, fn)))
    columns = ["image_id", "tp", "fp", "fn", "f1"]
    return pd.DataFrame(rows, columns=columns), pd.DataFrame(slice_rows, columns=[columns[0], "slice", *columns[1:]])


def _label(frame: pd.DataFrame, variant: str, replicate: str, test: str, name: str, severity: int) -> pd.DataFrame:
    factor = "clean" if name == "clean" else perturbations.CATALOGUE[name].factor
    ids = pd.DataFrame({"variant": variant, "replicate": replicate, "test": test, "perturbation": name,
                        "factor": factor, "severity": severity}, index=frame.index)
    return pd.concat([ids, frame], axis=1)


def run(params: dict, variant: str) -> Path:
    s = params["score"]
    split = params["dataset"]["eval_split"]
    names = datasets.read_data_yaml(paths.CLEAN / "data.yaml")["names"]
    label_free = s["reference"] == "predictions"
    replicates = config.replicate_names(params, variant)
    frames, slice_frames = [], []
    test_metrics = {r: {} for r in replicates}
    clean, predicted = {}, {}  # per replicate: clean F1s; label-free references (its clean detections)
    for name, severity in tests(params):  # clean first
        labels, sizes = references(datasets.list_images(paths.images_dir(name, severity, split)))
        test = "clean" if name == "clean" else f"{name}/{severity}"
        for replicate in replicates:
            detections = pd.read_parquet(paths.prediction_file(variant, name, replicate, severity))
            refs = labels
            if label_free:
                if replicate not in predicted:
                    predicted[replicate] = _as_references(detections, labels, s["conf"])
                refs = _predicted_references(params, predicted[replicate], sizes, name, severity,
                                             paths.images_dir("clean", 0, split))
            frame, slices = score_test(refs, detections, s["conf"], s["match_iou"], names)
            if replicate not in clean:
                clean[replicate] = (frame.set_index("image_id")["f1"],
                                    slices.set_index(["image_id", "slice"])["f1"])
            clean_f1, clean_slices = clean[replicate]
            frame["broken"] = risk.broken(frame["f1"].to_numpy(), clean_f1.reindex(frame["image_id"]).to_numpy(),
                                          s["break_drop"])
            # a slice absent from the clean image (NaN clean F1) cannot be broken
            slices["broken"] = risk.broken(slices["f1"].to_numpy(),
                                           clean_slices.reindex(pd.MultiIndex.from_frame(slices[["image_id", "slice"]]))
                                           .to_numpy(), s["break_drop"])
            frames.append(_label(frame, variant, replicate, test, name, severity))
            slice_frames.append(_label(slices, variant, replicate, test, name, severity))
            m = metrics.coco_map(refs, sizes, detections, list(range(len(names))))
            m["by_class"] = {names[c]: v for c, v in m["by_class"].items()}
            test_metrics[replicate][test] = {**m, "risk": 100 * float(np.mean(frame["broken"])),
                                             "n_images": len(frame)}
    out = paths.score_dir(variant)
    with atomic_dir(out) as tmp:
        write_parquet(tmp / "per_image.parquet", pd.concat(frames, ignore_index=True))
        write_parquet(tmp / "per_slice.parquet", pd.concat(slice_frames, ignore_index=True))
        write_json(tmp / "metrics.json", {"variant": variant, "reference": s["reference"], "replicates": replicates,
                                          "tests": test_metrics})
        inputs = {"data": paths.CLEAN / "images" / split}
        for p in ["clean", *params["perturbations"]]:
            inputs[f"predictions_{p}"] = paths.prediction_dir(variant, p)
            if p != "clean":
                inputs[f"perturbed_{p}"] = paths.PERTURBED / p
        provenance.write(tmp, "score", inputs, config.stage_params(params, "score"), params["seed"])
    return out
