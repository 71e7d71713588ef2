"""The augmentation audit: each variant against its declared baseline, on the images both can break.

Per variant a family of hypotheses (its recipe's targets primary, every other factor and the
perturbations of factors with several secondary; duplicates counted once), each an estimate of the
difference in risk with images and training seeds as crossed random factors (risk.estimate: paired by
seed when both arms are trained with equal replicate counts), weighted Holm (or BH) over the family,
and the clean mAP50 change with its own interval deciding helped / traded accuracy / cost unresolved.
Prescribed variants and their controls are audited on the held-out half of the test images. The
compare stage writes the result as audit.json; docs/risk.md has the method and its calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from augaudit import perturbations, risk, runtime, stageparams


def validation_half(params: dict, image_ids) -> set[str]:
    """The test images held out to validate prescriptions: those whose seeded hash is odd. The other half
    chooses them (metrics.json's `selection`, read by `augaudit prescribe`); a prescribed variant and its
    control are audited on this half only, where the perturbation draws (seeded per image) are fresh too."""
    return {i for i in image_ids if runtime.derive_seed(params["seed"], "holdout", i) % 2}


SPLIT = "the test images whose sha256(seed/holdout/image_id) is even; the odd half validates prescriptions"


def _hypotheses(params: dict, variant: str, mine: pd.DataFrame, theirs: pd.DataFrame) -> list[dict]:
    """The family's rows: every factor, then every perturbation; each with its role in the family.

    `primary`: a factor the recipe targets (its pre-declared hypotheses); `secondary`: every other
    factor, and the perturbations of factors that hold several; `duplicate`: a perturbation that is its
    factor's only one, the same hypothesis as the factor's row, which it repeats (tested once)."""
    targets = set(params["recipes"][params["variants"][variant]["recipe"]]["targets"])
    per_factor = mine.groupby("factor", sort=True)["perturbation"].nunique()
    rows = []
    for level in ("factor", "perturbation"):
        for key, g in mine.groupby(level, sort=True):
            factor = key if level == "factor" else perturbations.CATALOGUE[key].factor
            if level == "factor":
                role = "primary" if factor in targets else "secondary"
            else:
                role = "duplicate" if per_factor[factor] == 1 else "secondary"
            a = risk.rates(g)
            b = risk.rates(theirs[theirs[level] == key]).reindex(a.index)
            rows.append({"level": level, "name": key, "factor": factor, "targeted": factor in targets, "role": role,
                         "tables": (a.to_numpy(float), b.to_numpy(float))})
    return rows


def _weights(roles: list[str], primary_weight: float) -> list[float]:
    """Each distinct hypothesis's share of the error rate: `primary_weight` split over the primary ones,
    the rest over the secondary ones (all of it to one group when the other is empty)."""
    n_p, n_s = roles.count("primary"), roles.count("secondary")
    wp = primary_weight if n_s else 1.0
    ws = 1.0 - wp if n_p else 1.0
    return [wp / n_p if r == "primary" else ws / n_s for r in roles]


def seed_correlation(rows: list[dict]) -> float | None:
    """The between-arm correlation of replicate risks, pooled over the family's distinct hypotheses
    (each arm's replicate risks centred per hypothesis): how much pairing the seeds shares."""
    num = sa = sb = 0.0
    for r in rows:
        if r["role"] == "duplicate":
            continue
        a, b = (np.nanmean(t, axis=0) for t in r["tables"])
        if len(a) != len(b) or len(a) < 2:
            return None
        a, b = a - a.mean(), b - b.mean()
        num, sa, sb = num + float(a @ b), sa + float(a @ a), sb + float(b @ b)
    return num / np.sqrt(sa * sb) if sa > 0 and sb > 0 else None


def _not_assessable(est: risk.Estimate, k: int, kb: int) -> str | None:
    if not est.seed_covered:
        one = [name for name, n in (("variant", k), ("baseline", kb)) if n == 1]
        return (f"one trained replicate ({' and '.join(one)}): seed-to-seed variation cannot be estimated, "
                f"so no verdict; train.replicates >= {MIN_REPLICATES} makes it assessable (power: docs/risk.md)")
    if not est.assessable:
        return "no variation to test against (zero standard error: identical differences or one image)"
    return None


def audit(params: dict, tables: dict[str, pd.DataFrame], clean: dict[str, dict],
          paired: bool | None = None) -> dict:
    """Every variant with a declared baseline, against it: rows, per-variant context and the method.

    `clean[v]`: per replicate the clean mAP50 (`map50`) and its leave-one-group-out values (`jackknife`).
    The arms are trained on paired seeds (replicate rI of every variant has seed I) and analysed as
    paired whenever the design allows (`paired=None`: both arms trained, equal replicate counts): the
    per-image, per-replicate differences, one seed term. The calibration (benchmarks/aa_calibration.py,
    docs/risk.md) found it exact enough per comparison (3.0-4.0 % at a nominal 5 %) where the unpaired
    Welch analysis was conservative (1.4-3.2 %); unequal replicate counts fall back to Welch.
    `paired=False` forces Welch (the benchmark measures both)."""
    c = params["compare"]
    alpha = round(1 - c["confidence"], 12)
    drop = params["score"]["break_drop"]
    rows, variants = [], {}
    validated = {v for v, spec in params["variants"].items() if "prescribed" in spec}
    validated |= {stageparams.prescription_arms(params["variants"][v])[1] for v in validated} - {None}
    for variant, spec in params["variants"].items():
        if "baseline" not in spec:
            continue
        base = spec["baseline"]
        support = risk.breakable(tables[variant], drop).intersection(risk.breakable(tables[base], drop))
        if variant in validated:  # a prescription, or its control: out of sample, on the held-out half
            support = support.intersection(pd.Index(sorted(validation_half(params, support))))
        fixed = (bool(spec.get("evaluate_only")), bool(params["variants"][base].get("evaluate_only")))
        cv, cb = clean[variant], clean[base]
        cost = risk.clean_change(cv["map50"], cb["map50"], cv["jackknife"], cb["jackknife"], fixed, paired)
        cost_ci = cost.interval(c["confidence"]) if cost.seed_covered and np.isfinite(cost.value) else None
        k, kb = (tables[v]["replicate"].nunique() for v in (variant, base))
        mine, theirs = (t[(t["test"] != "clean") & t["image_id"].isin(support)]
                        for t in (tables[variant], tables[base]))
        family = _hypotheses(params, variant, mine, theirs) if len(support) else []
        estimates = [risk.estimate(*r["tables"], fixed, paired=paired) for r in family]
        for r, e in zip(family, estimates, strict=True):
            if r["role"] == "duplicate":
                e = next(x for q, x in zip(family, estimates, strict=True)
                         if q["level"] == "factor" and q["factor"] == r["factor"])
            low, high = e.interval(c["confidence"]) if e.assessable else (None, None)
            reason = _not_assessable(e, k, kb)
            r.update({"risk": 100 * float(np.nanmean(r["tables"][0])), "baseline_risk": 100 * float(
                np.nanmean(r["tables"][1])), "difference": e.value, "low": low, "high": high,
                "se": e.se if e.assessable else None, "df": e.df if e.assessable and np.isfinite(e.df) else None,
                "p_value": e.p_value(), "paired": e.paired, "reason": reason})
        distinct = [r for r in family if r["role"] != "duplicate"]
        weights = _weights([r["role"] for r in distinct], c["primary_weight"])
        adjusted = risk.adjust([r["p_value"] for r in distinct], c["multiplicity"], weights)
        for r, p, w in zip(distinct, adjusted, weights, strict=True):
            r["p_adjusted"], r["weight"] = p, w
        by_factor = {r["factor"]: r for r in family if r["level"] == "factor"}
        correlation = seed_correlation(family)
        for r in family:
            if r["role"] == "duplicate":
                r["p_adjusted"], r["weight"] = by_factor[r["factor"]]["p_adjusted"], None
            r["verdict"] = risk.verdict(r["difference"], r["p_adjusted"], alpha, cost_ci, c["clean_tolerance"])
            r.pop("tables")
            r.update({"map50_clean_change": cost.value,
                      "map50_clean_low": cost_ci[0] if cost_ci else None,
                      "map50_clean_high": cost_ci[1] if cost_ci else None})
        rows += [{"variant": variant, "baseline": base, "recipe": spec["recipe"], **_clean_nan(r),
                  "n_images": len(support)} for r in family]
        reasons = {r["reason"] for r, e in zip(family, estimates, strict=True) if not e.seed_covered}
        assessable = bool(family) and not reasons  # a row with zero variation is not assessable on its own
        variants[variant] = {
            "baseline": base, "recipe": spec["recipe"], "targets": params["recipes"][spec["recipe"]]["targets"],
            "replicates": k, "baseline_replicates": kb, "paired_seeds": not any(fixed) and k == kb > 1,
            "seed_correlation": correlation, "n_images": len(support),
            "images": "held-out half (prescriptions are validated out of sample)" if variant in validated else "all",
            "family_size": len(distinct), "primary": [r["name"] for r in distinct if r["role"] == "primary"],
            "map50_clean_change": cost.value, "map50_clean_low": cost_ci[0] if cost_ci else None,
            "map50_clean_high": cost_ci[1] if cost_ci else None,
            "assessable": assessable, "reason": "; ".join(sorted(reasons)) or None,
            "seed_variation": "covered" if assessable else "not covered",
            "note": _note(k, kb, fixed, len(distinct), c["multiplicity"], assessable, family),
        }
    for variant, spec in params["variants"].items():
        if "prescribed" in spec:
            variants[variant].update(_prescription(params, variant, rows))
    return {"method": {
        "statistic": "difference in risk (percentage points), variant minus baseline, on the images both can "
                     "break (clean F1 >= score.break_drop in every replicate of both), paired by image",
        "interval": "Student's t; images and training seeds crossed random factors: Hillis's form of the "
                    "Dorfman-Berbaum-Metz variance (each arm's seed term + the image term less the interaction); "
                    "the arms' seeds are paired in training and analysed as paired (per-replicate differences, "
                    "one seed term) when both are trained with equal replicate counts, as independent (Welch) "
                    "otherwise; Satterthwaite degrees of freedom over every mean square",
        "multiplicity": c["multiplicity"], "primary_weight": c["primary_weight"],
        "family": "the distinct hypotheses of one variant: its recipe's targeted factors (primary, sharing "
                  "primary_weight of alpha), every other factor and the perturbations of factors with several "
                  "(secondary); a perturbation that is its factor's only one repeats that row",
        "accuracy_cost": "clean mAP50 change with a seed- and image-aware interval (replicates; jackknife over "
                         "image groups): helped needs its lower bound above -clean_tolerance, traded accuracy its "
                         "upper bound below; otherwise the cost is unresolved",
        "alpha": alpha, "confidence": c["confidence"], "clean_tolerance": c["clean_tolerance"],
        "reference": "docs/risk.md"}, "variants": variants, "rows": rows}


MIN_REPLICATES = 2  # calibrated from 2 seeds per arm (benchmarks/aa_calibration.py); power needs more (docs/risk.md)


def _clean_nan(row: dict) -> dict:
    """NaN (no test made) is written as null in audit.json."""
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


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
            "map50_clean_low", "map50_clean_high", "reason")
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


def _note(k: int, kb: int, fixed: tuple[bool, bool], family: int, multiplicity: str, assessable: bool,
          rows: list[dict]) -> str:
    how = {"holm": "weighted Holm (family-wise error)", "bh": "weighted Benjamini-Hochberg (false discovery rate)"}[
        multiplicity]
    if not family:
        return "no image that both variants can break: nothing to compare"
    arms = []
    for name, n, is_fixed in (("variant", k, fixed[0]), ("baseline", kb, fixed[1])):
        arms.append(f"{name}: fixed checkpoint" if is_fixed else f"{name}: {n} replicate{'s' * (n != 1)}")
    if all(fixed):
        seeds = "fixed models: the comparison covers image variation only and says nothing about the recipes"
    elif assessable:
        how_seeds = "seeds paired" if rows[0]["paired"] else "arms analysed as independent"
        seeds = f"intervals cover image and training-seed variation ({how_seeds})"
    else:
        seeds = "NOT ASSESSABLE: " + "; ".join(sorted({r["reason"] for r in rows if r["reason"]
                                                       and r["reason"].startswith("one trained")}))
    return f"{'; '.join(arms)}; {seeds}; {how} over {family} distinct hypotheses"
