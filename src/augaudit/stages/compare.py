"""compare: every variant side by side — summary.csv, slices.csv, metrics.json, audit.json.

Aggregates come from the per-image tables, never from averaged test numbers: every interval covers
the test images and, with two or more replicates, the training seeds (risk.estimate), and every
audit row is paired by image. Per-variant mAPs are means over replicates, with their spread.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from augaudit import paths, perturbations, provenance, risk, runtime, stageparams
from augaudit.files import atomic_dir, write_json, write_text

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


def breaking_points(params: dict, variant: str, perturbed: pd.DataFrame) -> dict:
    """Per perturbation with a ladder to interpolate: the unit and, per zone, where the risk curve
    enters it, with a bootstrap interval over images and replicates (None: never, within the ladder)."""
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
            low, high = risk.breaking_interval(tensor, values, level, c["bootstrap"], c["confidence"],
                                               runtime.derive_seed(params["seed"], "compare", variant, name, zone))
            out[name][zone] = {"value": risk.breaking_point(values, curve, level), "low": low, "high": high}
    return out


def variant_metrics(params: dict, variant: str, per_image: pd.DataFrame, test_metrics: dict) -> dict:
    confidence = params["compare"]["confidence"]
    perturbed = per_image[per_image["test"] != "clean"]
    clean = {}
    for metric in ("map50", "map50_95"):
        clean[metric], clean[f"{metric}_sd"] = _mean_sd([m["clean"][metric] for m in test_metrics.values()])

    def grouped(column: str) -> dict:
        return {key: risk.group_risk(g, confidence) for key, g in perturbed.groupby(column, sort=True)}

    return {
        "replicates": len(test_metrics), "map_clean": clean["map50_95"], "map_clean_sd": clean["map50_95_sd"],
        "map50_clean": clean["map50"], "map50_clean_sd": clean["map50_sd"],
        **robustness(params, test_metrics, clean),
        "risk": risk.group_risk(perturbed, confidence),
        "risk_by_factor": grouped("factor"), "risk_by_perturbation": grouped("perturbation"),
        "breaking_points": breaking_points(params, variant, perturbed),
        "tests": sorted(perturbed["test"].unique().tolist()),
    }


def _family(params: dict, variant: str, mine: pd.DataFrame, theirs: pd.DataFrame, fixed: tuple[bool, bool],
            clean_change: float) -> list[dict]:
    """One row per factor and per perturbation: the paired risk difference on the images both can break."""
    spec = params["variants"][variant]
    targets = set(params["recipes"][spec["recipe"]]["targets"])
    confidence = params["compare"]["confidence"]
    rows = []
    for level in ("factor", "perturbation"):
        for key, g in mine.groupby(level, sort=True):
            a = risk.rates(g)
            b = risk.rates(theirs[theirs[level] == key]).reindex(a.index)
            e = risk.estimate(a.to_numpy(float), b.to_numpy(float), fixed)
            low, high = e.interval(confidence)
            factor = key if level == "factor" else perturbations.CATALOGUE[key].factor
            rows.append({"variant": variant, "baseline": spec["baseline"], "recipe": spec["recipe"], "level": level,
                         "name": key, "factor": factor, "targeted": factor in targets,
                         "risk": 100 * float(np.nanmean(a.to_numpy(float))),
                         "baseline_risk": 100 * float(np.nanmean(b.to_numpy(float))), "difference": e.value,
                         "low": low, "high": high, "se": e.se, "df": e.df if np.isfinite(e.df) else None,
                         "p_value": e.p_value(), "n_images": len(a), "map50_clean_change": clean_change,
                         "provisional": not e.seed_covered})
    return rows


def audit(params: dict, tables: dict[str, pd.DataFrame], overall: dict) -> dict:
    """Every variant with a declared baseline, against it: rows, per-variant context and the method."""
    c = params["compare"]
    alpha = round(1 - c["confidence"], 12)
    drop = params["score"]["break_drop"]
    rows, variants = [], {}
    for variant, spec in params["variants"].items():
        if "baseline" not in spec:
            continue
        base = spec["baseline"]
        support = risk.breakable(tables[variant], drop).intersection(risk.breakable(tables[base], drop))
        clean_change = overall[variant]["map50_clean"] - overall[base]["map50_clean"]
        fixed = (bool(spec.get("evaluate_only")), bool(params["variants"][base].get("evaluate_only")))

        mine, theirs = (t[(t["test"] != "clean") & t["image_id"].isin(support)]
                        for t in (tables[variant], tables[base]))
        family = _family(params, variant, mine, theirs, fixed, clean_change) if len(support) else []
        adjusted = risk.adjust([r["p_value"] for r in family], c["multiplicity"])
        for row, p in zip(family, adjusted, strict=True):
            row["p_adjusted"] = p
            row["verdict"] = risk.verdict(row["difference"], p, alpha, clean_change, c["clean_tolerance"])
        provisional = any(r["provisional"] for r in family) or not family
        k, kb = (tables[v]["replicate"].nunique() for v in (variant, base))
        variants[variant] = {
            "baseline": base, "recipe": spec["recipe"], "targets": params["recipes"][spec["recipe"]]["targets"],
            "replicates": k, "baseline_replicates": kb, "n_images": len(support), "family_size": len(family),
            "map50_clean_change": clean_change, "provisional": provisional,
            "seed_variation": "not covered" if provisional else "covered",
            "note": _note(k, kb, fixed, len(family), c["multiplicity"]),
        }
        rows += family
    for variant, spec in params["variants"].items():
        if "prescribed" in spec:
            variants[variant].update(_prescription(params, variant, rows))
    return {"method": {
        "statistic": "paired difference in risk (percentage points), variant minus baseline, on the images "
                     "both can break (clean F1 >= score.break_drop in every replicate of both)",
        "interval": "Student's t; standard error from image variation (paired per-image differences) plus seed "
                    "variation (between-replicate variance of each arm's risk), Welch-Satterthwaite df",
        "multiplicity": c["multiplicity"], "family": "all factor and perturbation rows of one variant",
        "alpha": alpha, "confidence": c["confidence"], "clean_tolerance": c["clean_tolerance"],
        "reference": "docs/risk.md"}, "variants": variants, "rows": rows}


def _factor_row(rows: list[dict], variant: str, factor: str) -> dict | None:
    return next((r for r in rows if r["variant"] == variant and r["level"] == "factor" and r["name"] == factor), None)


def _prescription(params: dict, variant: str, rows: list[dict]) -> dict:
    """A prescribed variant's factors, each validated against its baseline: the variant it was prescribed
    for, or (warm start) the control fine-tuned like it with that variant's recipe. Validated = the audit's
    verdict is `helped`: the risk fell, significant after the multiplicity correction, with clean mAP50
    within compare.clean_tolerance. With a control, `training_alone` is the control's own row against the
    variant it was prescribed for: what the extra fine-tuning did without the new augmentations."""
    spec = params["variants"][variant]
    target, control = stageparams.prescription_arms(spec)
    keys = ("baseline_risk", "risk", "difference", "low", "high", "p_adjusted", "verdict", "map50_clean_change",
            "provisional")
    out = []
    for factor in spec["prescribed"]:
        row = _factor_row(rows, variant, factor)
        if row is None:
            out.append({"factor": factor, "verdict": "not tested", "validated": False})
            continue
        item = {"factor": factor, **{k: row[k] for k in keys}, "validated": row["verdict"] == "helped"}
        alone = _factor_row(rows, control, factor) if control else None
        if alone is not None and alone["baseline"] == target:
            item["training_alone"] = {k: alone[k] for k in ("difference", "low", "high", "p_adjusted", "verdict")}
        out.append(item)
    return {"prescribed_for": target, "control": control, "prescription": out}


def _note(k: int, kb: int, fixed: tuple[bool, bool], family: int, multiplicity: str) -> str:
    how = {"holm": "Holm (family-wise error)", "bh": "Benjamini-Hochberg (false discovery rate)"}[multiplicity]
    if not family:
        return "no image that both variants can break: nothing to compare"
    arms = []
    for name, n, is_fixed in (("variant", k, fixed[0]), ("baseline", kb, fixed[1])):
        arms.append(f"{name}: fixed checkpoint" if is_fixed else f"{name}: {n} replicate{'s' * (n != 1)}")
    covered = all(n > 1 or f for n, f in zip((k, kb), fixed, strict=True))
    seeds = ("intervals cover image and training-seed variation" if covered else
             "seed variation is NOT covered (one replicate): verdicts are provisional and describe these two "
             "trained models, not the recipe; train.replicates >= 2 (3 or more) makes them verdicts on the recipe")
    return f"{'; '.join(arms)}; {seeds}; {how} over {family} comparisons"


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6g", lineterminator="\n")
    write_text(path, buf.getvalue())


def run(params: dict) -> Path:
    confidence = params["compare"]["confidence"]
    tables, rows, slices, overall = {}, [], [], {}
    for variant in params["variants"]:
        per_image, per_slice, test_metrics = _load(variant)
        tables[variant] = per_image
        rows += summary_rows(variant, per_image, test_metrics, confidence)
        slices += slice_rows(variant, per_slice, test_metrics, confidence)
        overall[variant] = variant_metrics(params, variant, per_image, test_metrics)
    audit_json = audit(params, tables, overall)
    with atomic_dir(paths.SUMMARY) as tmp:
        write_csv(tmp / "summary.csv", pd.DataFrame(rows, columns=SUMMARY_COLUMNS))
        write_csv(tmp / "slices.csv", pd.DataFrame(slices, columns=SLICE_COLUMNS))
        write_json(tmp / "metrics.json", overall)
        write_json(tmp / "audit.json", audit_json)
        provenance.write(tmp, "compare", {f"scores_{v}": paths.score_dir(v) for v in params["variants"]},
                         stageparams.stage_params(params, "compare"), params["seed"])
    return paths.SUMMARY
