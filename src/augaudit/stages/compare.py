"""compare: every variant side by side — summary.csv, metrics.json (risk, mPC, rPC), audit.json.

Aggregates come from the per-image tables, never from averaged test numbers, so every interval is an
image-level bootstrap (seeded per variant and group) and every audit row is paired.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from augaudit import config, perturbations, provenance, risk, runtime
from augaudit.files import atomic_dir, write_json, write_text
from augaudit.stages.score import out_dir as score_dir

OUT = Path("results/summary")
SUMMARY_COLUMNS = ["variant", "perturbation", "factor", "severity", "map50", "map50_95", "risk", "risk_low",
                   "risk_high", "n_images"]


SLICE_COLUMNS = ["variant", "slice", "map50_clean", "map50_95_clean", "map50_perturbed", "map50_95_perturbed",
                 "risk", "risk_low", "risk_high", "n_images"]


def _load(variant: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    folder = score_dir(variant)
    return (pd.read_parquet(folder / "per_image.parquet"), pd.read_parquet(folder / "per_slice.parquet"),
            json.loads((folder / "metrics.json").read_text()))


def slice_rows(variant: str, per_slice: pd.DataFrame, test_metrics: dict, boot: dict) -> list[dict]:
    """Risk and mAP per class and object-size slice: clean, and averaged over the perturbed tests."""
    rows = []
    perturbed = per_slice[per_slice["test"] != "clean"]
    for key, group in perturbed.groupby("slice", sort=True):
        kind, name = key.split(":", 1)
        field = "by_class" if kind == "class" else "by_size"
        maps = [m[field].get(name, {}) for t, m in test_metrics.items() if t != "clean"]
        clean = test_metrics["clean"][field].get(name, {})
        r = risk.group_risk(group, boot["n"], boot["confidence"],
                            runtime.derive_seed(boot["seed"], "compare", variant, "slice", key))
        rows.append({"variant": variant, "slice": key, "map50_clean": clean.get("map50"),
                     "map50_95_clean": clean.get("map50_95"),
                     "map50_perturbed": float(np.nanmean([m.get("map50", np.nan) for m in maps])),
                     "map50_95_perturbed": float(np.nanmean([m.get("map50_95", np.nan) for m in maps])), **r})
    return rows


def summary_rows(variant: str, per_image: pd.DataFrame, test_metrics: dict, boot: dict) -> list[dict]:
    rows = []
    for (test, name, factor, severity), group in per_image.groupby(["test", "perturbation", "factor", "severity"],
                                                                    sort=False):
        seed = runtime.derive_seed(boot["seed"], "compare", variant, test)
        r = risk.group_risk(group, boot["n"], boot["confidence"], seed)
        rows.append({"variant": variant, "perturbation": name, "factor": factor, "severity": int(severity),
                     "map50": test_metrics[test]["map50"], "map50_95": test_metrics[test]["map50_95"], **r})
    return rows


def variant_metrics(variant: str, per_image: pd.DataFrame, test_metrics: dict, boot: dict, zones: dict) -> dict:
    perturbed = per_image[per_image["test"] != "clean"]
    clean = test_metrics["clean"]
    others = [m for t, m in test_metrics.items() if t != "clean"]
    mpc = float(np.mean([m["map50_95"] for m in others]))
    mpc50 = float(np.mean([m["map50"] for m in others]))

    def grouped(column: str) -> dict:
        return {key: risk.group_risk(g, boot["n"], boot["confidence"],
                                     runtime.derive_seed(boot["seed"], "compare", variant, column, key))
                for key, g in perturbed.groupby(column, sort=True)}

    by_perturbation = grouped("perturbation")
    breaking = {}
    for name, g in perturbed.groupby("perturbation", sort=True):
        curve = g.groupby("severity")["broken"].mean() * 100
        breaking[name] = {zone: risk.breaking_point(curve.index.tolist(), curve.tolist(), level)
                          for zone, level in zones.items()}
    return {
        "map_clean": clean["map50_95"], "map50_clean": clean["map50"],
        "mPC": mpc, "rPC": mpc / clean["map50_95"] if clean["map50_95"] else float("nan"),
        "mPC50": mpc50, "rPC50": mpc50 / clean["map50"] if clean["map50"] else float("nan"),
        "risk": risk.group_risk(perturbed, boot["n"], boot["confidence"],
                                runtime.derive_seed(boot["seed"], "compare", variant, "overall")),
        "risk_by_factor": grouped("factor"), "risk_by_perturbation": by_perturbation,
        "breaking_points": breaking,
    }


def audit(params: dict, tables: dict[str, pd.DataFrame], boot: dict) -> list[dict]:
    """Every variant with a declared baseline, against it, per perturbation and per factor."""
    rows = []
    for variant, spec in params["variants"].items():
        if "baseline" not in spec:
            continue
        base = spec["baseline"]
        targets = set(params["recipes"][spec["recipe"]]["targets"])
        mine = tables[variant][tables[variant]["test"] != "clean"]
        theirs = tables[base][tables[base]["test"] != "clean"]
        for level in ("factor", "perturbation"):
            for key, g in mine.groupby(level, sort=True):
                d = risk.paired_difference(g, theirs[theirs[level] == key], boot["n"], boot["confidence"],
                                           runtime.derive_seed(boot["seed"], "audit", variant, level, key))
                factor = key if level == "factor" else perturbations.CATALOGUE[key].factor
                rows.append({"variant": variant, "baseline": base, "recipe": spec["recipe"], "level": level,
                             "name": key, "factor": factor, "targeted": factor in targets, **d,
                             "verdict": risk.verdict(d["low"], d["high"])})
    return rows


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    write_text(path, buf.getvalue())


def run(params: dict) -> Path:
    c = params["compare"]
    boot = {"n": c["bootstrap"], "confidence": c["confidence"], "seed": params["seed"]}
    tables, rows, slices, overall = {}, [], [], {}
    for variant in params["variants"]:
        per_image, per_slice, m = _load(variant)
        tables[variant] = per_image
        rows += summary_rows(variant, per_image, m["tests"], boot)
        slices += slice_rows(variant, per_slice, m["tests"], boot)
        overall[variant] = variant_metrics(variant, per_image, m["tests"], boot, c["zones"])
    audit_rows = audit(params, tables, boot)
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    with atomic_dir(OUT) as tmp:
        write_csv(tmp / "summary.csv", summary)
        write_csv(tmp / "slices.csv", pd.DataFrame(slices, columns=SLICE_COLUMNS))
        write_json(tmp / "metrics.json", overall)
        write_json(tmp / "audit.json", audit_rows)
        provenance.write(tmp, "compare", {f"scores_{v}": score_dir(v) for v in params["variants"]},
                         config.stage_params(params, "compare"), params["seed"])
    return OUT
