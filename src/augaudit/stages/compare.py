"""compare: every variant side by side — summary.csv, slices.csv, metrics.json, audit.json.

Aggregates come from the per-image tables, never from averaged test numbers: every interval covers
the test images and, with two or more replicates, the training seeds (risk.estimate). Per-variant
mAPs are means over replicates, with their spread. The audit's statistics live in augaudit.audit.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from augaudit import paths, perturbations, progress, provenance, risk, stageparams
from augaudit.audit import SPLIT, audit, validation_half
from augaudit.files import atomic_dir, write_json, write_text

# the registry (augaudit.stages): one job, and the params.yaml keys it reads
JOBS = {}
PARAMS = ("seed", "compare", "score.break_drop", "variants", "recipes", "perturbations")

SUMMARY_COLUMNS = ["variant", "perturbation", "factor", "severity", "map50", "map50_95", "risk", "risk_low",
                   "risk_high", "n_images", "map50_sd", "map50_95_sd", "replicates"]
SLICE_COLUMNS = ["variant", "slice", "map50_clean", "map50_95_clean", "map50_perturbed", "map50_95_perturbed",
                 "risk", "risk_low", "risk_high", "n_images"]


def _load(variant: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    folder = paths.score_dir(variant)
    return (pd.read_parquet(folder / "per_image.parquet"), pd.read_parquet(folder / "per_slice.parquet"),
            json.loads((folder / "metrics.json").read_text())["tests"])


def _mean_of(values: list[float]) -> float:
    """The mean of the values that are not NaN (a slice absent from a test has no mAP there)."""
    v = np.asarray(values, float)
    return float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")


def _mean_sd(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values, float)
    return float(np.nanmean(v)), float(np.nanstd(v, ddof=1)) if np.sum(~np.isnan(v)) > 1 else 0.0


def summary_rows(variant: str, per_image: pd.DataFrame, test_metrics: dict, confidence: float) -> list[dict]:
    rows = []
    for (test, name, factor, severity), group in per_image.groupby(["test", "perturbation", "factor", "severity"],
                                                                    sort=False):
        map50, map50_sd = _mean_sd([m[test]["map50"] for m in test_metrics.values()])
        map50_95, map50_95_sd = _mean_sd([m[test]["map50_95"] for m in test_metrics.values()])
        rows.append({"variant": variant, "perturbation": name, "factor": factor, "severity": int(severity),
                     "map50": map50, "map50_95": map50_95, "map50_sd": map50_sd, "map50_95_sd": map50_95_sd,
                     **risk.group_risk(group, confidence)})
    return rows


def slice_rows(variant: str, per_slice: pd.DataFrame, test_metrics: dict, confidence: float) -> list[dict]:
    """Risk and mAP per class and object-size slice: clean, and averaged over the perturbed tests."""
    rows = []
    perturbed = per_slice[per_slice["test"] != "clean"]
    for key, group in perturbed.groupby("slice", sort=True):
        kind, name = key.split(":", 1)
        field = "by_class" if kind == "class" else "by_size"
        maps = {(metric, clean): _mean_of([m[t][field].get(name, {}).get(metric, np.nan) for m in test_metrics.values()
                                           for t in m if (t == "clean") == clean])
                for metric in ("map50", "map50_95") for clean in (True, False)}
        rows.append({"variant": variant, "slice": key, "map50_clean": maps["map50", True],
                     "map50_95_clean": maps["map50_95", True], "map50_perturbed": maps["map50", False],
                     "map50_95_perturbed": maps["map50_95", False], **risk.group_risk(group, confidence)})
    return rows


def corruption_means(params: dict, test_metrics: dict, names: list[str], metric: str) -> float:
    """Michaelis et al.'s mean: per replicate, the metric averaged over each perturbation's
    severities, then over perturbations; then over replicates."""
    return float(np.mean([np.mean([np.mean([m[f"{p}/{s}"][metric] for s in params["perturbations"][p]["severities"]])
                                   for p in names]) for m in test_metrics.values()]))


def coco_c_complete(params: dict) -> bool:
    """All 15 benchmark corruptions at severities 1-5 on their own ladders: the COCO-C protocol."""
    ran = params["perturbations"]
    return all(p in ran and sorted(ran[p]["severities"]) == [1, 2, 3, 4, 5] and "ladder" not in ran[p]
               for p in perturbations.COCO_C)


def robustness(params: dict, test_metrics: dict, clean: dict) -> dict:
    """mP_tested / rP_tested over every perturbation run; mPC / rPC only under the COCO-C protocol."""
    out = {}
    sets = [("tested", list(params["perturbations"]))]
    if coco_c_complete(params):
        sets.append(("C", list(perturbations.COCO_C)))
    for label, names in sets:
        for metric, suffix in (("map50_95", ""), ("map50", "50")):
            mp = corruption_means(params, test_metrics, names, metric)
            name = f"mP{suffix}_tested" if label == "tested" else f"mPC{suffix}"
            out[name] = mp
            out[name.replace("mP", "rP", 1)] = mp / clean[metric] if clean[metric] else float("nan")
    return out


def breaking_points(params: dict, perturbed: pd.DataFrame) -> dict:
    """Per perturbation with a ladder to interpolate: the unit and, per zone, where the risk curve
    enters it, with an interval that covers images and seeds (risk.breaking_interval; None values: never,
    within the ladder). With one replicate there is no interval: `interval` says why."""
    c = params["compare"]
    out = {}
    for name, g in perturbed.groupby("perturbation", sort=True):
        spec = params["perturbations"][name]
        severities = sorted(spec["severities"])
        axis = perturbations.ladder_axis(name, severities, spec.get("ladder"))
        if axis is None:
            continue
        unit, values = axis
        table = g.pivot_table(index="image_id", columns=["severity", "replicate"], values="broken", observed=True)
        tensor = table.to_numpy(float).reshape(len(table), len(severities), -1)
        curve = list(100 * tensor.mean(axis=(0, 2)))
        out[name] = {"unit": unit, "ladder": values[1:]}
        for zone, level in c["zones"].items():
            interval = risk.breaking_interval(tensor, values, level, c["confidence"])
            point = {"value": risk.breaking_point(values, curve, level)}
            if interval is None:
                point.update({"low": None, "high": None, "interval": "none: one replicate, seeds not covered"})
            else:
                point.update({"low": interval[0], "high": interval[1], "interval": "images and seeds"})
            out[name][zone] = point
    return out


def _risks(params: dict, perturbed: pd.DataFrame) -> dict:
    confidence = params["compare"]["confidence"]

    def grouped(column: str) -> dict:
        return {key: risk.group_risk(g, confidence) for key, g in perturbed.groupby(column, sort=True)}

    return {"risk_by_factor": grouped("factor"), "risk_by_perturbation": grouped("perturbation"),
            "breaking_points": breaking_points(params, perturbed)}


def variant_metrics(params: dict, variant: str, per_image: pd.DataFrame, test_metrics: dict) -> dict:
    confidence = params["compare"]["confidence"]
    perturbed = per_image[per_image["test"] != "clean"]
    clean = {}
    for metric in ("map50", "map50_95"):
        clean[metric], clean[f"{metric}_sd"] = _mean_sd([m["clean"][metric] for m in test_metrics.values()])
    held_out = validation_half(params, perturbed["image_id"].unique())
    choosing = perturbed[~perturbed["image_id"].isin(held_out)]
    return {
        "replicates": len(test_metrics), "map_clean": clean["map50_95"], "map_clean_sd": clean["map50_95_sd"],
        "map50_clean": clean["map50"], "map50_clean_sd": clean["map50_sd"],
        **robustness(params, test_metrics, clean),
        "risk": risk.group_risk(perturbed, confidence), **_risks(params, perturbed),
        "selection": {"images": int(choosing["image_id"].nunique()), "split": SPLIT, **_risks(params, choosing)},
        "tests": sorted(perturbed["test"].unique().tolist()),
    }


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    write_text(path, buf.getvalue())


def run(params: dict) -> Path:
    start = time.perf_counter()
    confidence = params["compare"]["confidence"]
    tables, rows, slices, overall, clean = {}, [], [], {}, {}
    for variant in params["variants"]:
        per_image, per_slice, test_metrics = _load(variant)
        tables[variant] = per_image
        clean[variant] = {"map50": [m["clean"]["map50"] for m in test_metrics.values()],
                          "jackknife": [m["clean"]["jackknife_map50"] for m in test_metrics.values()]}
        rows += summary_rows(variant, per_image, test_metrics, confidence)
        slices += slice_rows(variant, per_slice, test_metrics, confidence)
        overall[variant] = variant_metrics(params, variant, per_image, test_metrics)
    audit_json = audit(params, tables, clean)
    with atomic_dir(paths.SUMMARY) as tmp:
        write_csv(tmp / "summary.csv", pd.DataFrame(rows, columns=SUMMARY_COLUMNS))
        write_csv(tmp / "slices.csv", pd.DataFrame(slices, columns=SLICE_COLUMNS))
        write_json(tmp / "metrics.json", overall)
        write_json(tmp / "audit.json", audit_json)
        provenance.write(tmp, "compare", {f"scores_{v}": paths.score_dir(v) for v in params["variants"]},
                         stageparams.stage_params(params, "compare"), params["seed"])
    verdicts = sum(r["verdict"] not in ("no effect", "not assessable") for r in audit_json["rows"])
    progress.done(f"compare: {len(params['variants'])} variants, {len(rows)} summary rows, {len(audit_json['rows'])} "
                  f"audit rows ({verdicts} with an effect)", start)
    return paths.SUMMARY
