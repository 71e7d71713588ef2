"""score: one variant's per-image F1 and broken flags, and mAP per test, in results/scores/<variant>/."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from augaudit import datasets, metrics, paths, perturbations, progress, provenance, risk, stageparams, testsets
from augaudit.files import atomic_dir, write_json, write_parquet
from augaudit.perturbations import pipeline

# the registry (augaudit.stages): one job per variant, and the params.yaml keys it reads
JOBS = {"variant": "variants"}
PARAMS = ("seed", "score", "perturbations", "dataset.eval_split")


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


EMPTY = (np.zeros(0, int), np.zeros((0, 4)))


def _split(boxes: dict[str, np.ndarray], sizes: dict, ignore_hidden: float) -> tuple[dict, dict, dict]:
    """(refs, ignored, objects) from per-image [class, cx, cy, w, h, object, in_frame, hidden] rows: a
    box counts unless it left the frame (in_frame 0) or an occluder hid >= `ignore_hidden` of it."""
    refs, ignored, objects = {}, {}, {}
    for image_id, b in boxes.items():
        ignore = (b[:, 6] == 0) | (b[:, 7] >= ignore_hidden)
        refs[image_id] = metrics.to_pixels(b[~ignore, :5], *sizes[image_id])
        ignored[image_id] = metrics.to_pixels(b[ignore, :5], *sizes[image_id])
        objects[image_id] = b[~ignore, 5].astype(int)
    return refs, ignored, objects


def reference_boxes(name: str, severity: int, split: str, ignore_hidden: float) -> tuple[dict, dict, dict, dict]:
    """(refs, ignored, objects, sizes) of one test from the labels: the clean set's, or the perturbed
    set's boxes.csv (every object still visible, with its clean index and what hides it)."""
    images = testsets.images(name, severity, split)
    sizes = {image.stem: testsets.size(image) for image in images}
    if name == "clean":
        boxes = {}
        for image in images:
            labels = datasets.read_labels(datasets.label_path(image))
            boxes[image.stem] = np.column_stack([labels, np.arange(len(labels)), np.ones(len(labels)),
                                                 np.zeros(len(labels))]).reshape(-1, 8)
    else:
        table = pd.read_csv(paths.boxes_file(name, severity), dtype={"image_id": str})
        groups = {k: g[paths.BOX_COLUMNS[1:]].to_numpy(float) for k, g in table.groupby("image_id", sort=False)}
        boxes = {k: groups.get(k, np.zeros((0, 8))) for k in sizes}
    return (*_split(boxes, sizes, ignore_hidden), sizes)


def _predicted_references(params: dict, clean_refs: dict, sizes: dict, name: str, severity: int,
                          clean_images: Path) -> tuple[dict, dict, dict]:
    """Label-free references: the clean predictions, moved by the same transform as the image.

    A metamorphic relation: a robust model's detections on a perturbed image are its clean detections
    under the same transform. The perturbation is replayed with the image's own seed, boxes and all:
    geometric ones move them (and push some out of the frame), occluders hide some; both become
    ignore regions as labels do. Returns (refs, ignored, objects).
    """
    if name == "clean" or not (perturbations.CATALOGUE[name].geometric or name in perturbations.OCCLUDERS):
        return clean_refs, {k: EMPTY for k in clean_refs}, {k: np.arange(len(v[0])) for k, v in clean_refs.items()}
    ladder = params["perturbations"][name].get("ladder")
    moved = {}
    for image_id, (cls, xyxy) in clean_refs.items():
        w, h = sizes[image_id]
        rgb = datasets.read_image(next(clean_images.glob(f"{image_id}.*")))
        labels = np.column_stack([cls, metrics.to_yolo(xyxy, w, h)]) if len(cls) else np.zeros((0, 5))
        _, moved[image_id] = pipeline.apply(name, rgb, labels, severity, pipeline.image_seed(
            params["seed"], name, severity, image_id), ladder, details=True)
    return _split(moved, sizes, params["score"]["ignore_hidden"])


def _as_references(detections: pd.DataFrame, refs: dict, conf: float) -> dict:
    """Confident clean detections as (classes, xyxy) per image; an image with none has no references."""
    kept = detections[(detections["score"] >= conf) & (detections["x2"] > detections["x1"])
                      & (detections["y2"] > detections["y1"])]
    groups = {k: g for k, g in kept.groupby("image_id", sort=False)}
    return {k: (groups[k]["class_id"].to_numpy(), groups[k][["x1", "y1", "x2", "y2"]].to_numpy(float))
            if k in groups else EMPTY for k in refs}


def slice_keys(refs: dict, names: list[str]) -> tuple[dict, dict]:
    """From the clean test: per image, each object's size bucket and the slices present (class:<name>,
    size:<bucket>) -- the slices a perturbed test of that image is scored on, objects keeping their
    clean size bucket wherever a geometric perturbation moves them."""
    buckets = {k: metrics.size_bucket(xyxy) for k, (_, xyxy) in refs.items()}
    keys = {k: sorted({f"class:{names[int(c)]}" for c in cls} | {f"size:{b}" for b in buckets[k]})
            for k, (cls, _) in refs.items()}
    return buckets, keys


def score_test(refs: dict, detections: pd.DataFrame, conf: float, match_iou: float, names: list[str],
               ignored: dict | None = None, objects: dict | None = None,
               clean: tuple[dict, dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image (tp, fp, fn, f1), and the same per class and object-size slice of the clean image.

    `ignored`: ignore regions per image; `objects`: each reference box's clean object index;
    `clean`: slice_keys() of the clean test (default: this test is the clean one).
    """
    kept = detections[detections["score"] >= conf]
    groups = {k: g for k, g in kept.groupby("image_id", sort=False)}
    buckets, keys = clean if clean is not None else slice_keys(refs, names)
    rows, slice_rows = [], []
    for image_id, (cls, xyxy) in refs.items():
        g = groups.get(image_id)
        det_cls = g["class_id"].to_numpy() if g is not None else np.zeros(0, int)
        det_xyxy = g[["x1", "y1", "x2", "y2"]].to_numpy(float) if g is not None else np.zeros((0, 4))
        det_score = g["score"].to_numpy() if g is not None else np.zeros(0)
        assigned = metrics.assign(cls, xyxy, det_cls, det_score, det_xyxy, match_iou,
                                  (ignored or {}).get(image_id))
        tp, fp, fn = metrics.counts(assigned, np.ones(len(cls), bool), np.ones(len(det_cls), bool))
        rows.append((image_id, tp, fp, fn, metrics.f1(tp, fp, fn)))
        obj = objects[image_id] if objects is not None else np.arange(len(cls))
        gt = {"class": np.array([names[int(c)] for c in cls], dtype=object),
              "size": buckets[image_id][obj] if len(obj) else np.zeros(0, dtype=object)}
        det = {"class": np.array([names[int(c)] for c in det_cls], dtype=object),
               "size": metrics.size_bucket(det_xyxy)}
        for key in keys[image_id]:
            kind, value = key.split(":", 1)
            tp, fp, fn = metrics.counts(assigned, gt[kind] == value, det[kind] == value)
            slice_rows.append((image_id, key, tp, fp, fn, metrics.f1(tp, fp, fn)))
    columns = ["image_id", "tp", "fp", "fn", "f1"]
    return pd.DataFrame(rows, columns=columns), pd.DataFrame(slice_rows, columns=[columns[0], "slice", *columns[1:]])


def jackknife_map50(refs: dict, sizes: dict, detections: pd.DataFrame, n_classes: int, ignored: dict) -> list[float]:
    """mAP50 with each jackknife group of images left out in turn (risk.jackknife_groups)."""
    groups = risk.jackknife_groups(list(refs))
    out = []
    for g in sorted(set(groups.values())):
        keep = [k for k in refs if groups[k] != g]
        m = metrics.coco_map({k: refs[k] for k in keep}, {k: sizes[k] for k in keep}, detections,
                             list(range(n_classes)), {k: ignored[k] for k in keep if k in (ignored or {})})
        out.append(m["map50"])
    return out


def _label(frame: pd.DataFrame, variant: str, replicate: str, test: str, name: str, severity: int) -> pd.DataFrame:
    factor = "clean" if name == "clean" else perturbations.CATALOGUE[name].factor
    ids = pd.DataFrame({"variant": variant, "replicate": replicate, "test": test, "perturbation": name,
                        "factor": factor, "severity": severity}, index=frame.index)
    return pd.concat([ids, frame], axis=1)


def run(params: dict, variant: str, replicates: list[str]) -> Path:
    s = params["score"]
    split = params["dataset"]["eval_split"]
    names = datasets.read_data_yaml(paths.CLEAN / "data.yaml")["names"]
    label_free = s["reference"] == "predictions"
    if not label_free and not (paths.CLEAN / "labels" / split).is_dir():
        raise datasets.DatasetError(f"{paths.CLEAN / 'labels' / split}: the evaluated split has no labels; label it, "
                                    "or score label-free (score.reference: predictions)")
    frames, slice_frames = [], []
    test_metrics = {r: {} for r in replicates}
    clean = {}  # per replicate: clean F1s, clean slice F1s, the clean slices, label-free references
    start, todo = time.perf_counter(), tests(params)
    for name, severity in progress.steps(todo, f"score {variant}", unit="test"):  # clean first
        labels, ignored, objects, sizes = reference_boxes(name, severity, split, s["ignore_hidden"])
        test = "clean" if name == "clean" else f"{name}/{severity}"
        for replicate in replicates:
            detections = pd.read_parquet(paths.prediction_file(variant, name, replicate, severity))
            refs = labels
            if label_free:
                if name == "clean":  # this replicate's confident clean detections are its references
                    clean[replicate] = {"predicted": _as_references(detections, labels, s["conf"])}
                refs, ignored, objects = _predicted_references(params, clean[replicate]["predicted"], sizes, name,
                                                               severity, paths.CLEAN / "images" / split)
            if name == "clean":
                clean.setdefault(replicate, {})["slices"] = slice_keys(refs, names)
            frame, slices = score_test(refs, detections, s["conf"], s["match_iou"], names, ignored, objects,
                                       clean[replicate]["slices"])
            if name == "clean":
                clean[replicate]["f1"] = frame.set_index("image_id")["f1"]
                clean[replicate]["slice_f1"] = slices.set_index(["image_id", "slice"])["f1"]
            frame["broken"] = risk.broken(frame["f1"].to_numpy(),
                                          clean[replicate]["f1"].reindex(frame["image_id"]).to_numpy(), s["break_drop"])
            keys = pd.MultiIndex.from_frame(slices[["image_id", "slice"]])
            slices["broken"] = risk.broken(slices["f1"].to_numpy(),
                                           clean[replicate]["slice_f1"].reindex(keys).to_numpy(), s["break_drop"])
            frames.append(_label(frame, variant, replicate, test, name, severity))
            slice_frames.append(_label(slices, variant, replicate, test, name, severity))
            m = metrics.coco_map(refs, sizes, detections, list(range(len(names))), ignored)
            if name == "clean":  # the image term of the clean mAP50 change's interval (risk.clean_change)
                m["jackknife_map50"] = jackknife_map50(refs, sizes, detections, len(names), ignored)
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
        provenance.write(tmp, "score", inputs, stageparams.stage_params(params, "score"), params["seed"])
    progress.done(f"score {variant}: {len(todo)} tests x {len(replicates)} replicates, "
                  f"{sum(len(f) for f in frames)} image scores ({s['reference']} as references)", start)
    return out
