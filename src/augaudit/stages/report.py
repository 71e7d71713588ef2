"""report: results/report/index.html — one self-contained page (Altair inlined, no CDN) + PNG figures.

The page opens with the findings in plain words (one line per variant), then the charts and the
tables. Every number on it comes from results/summary (which records its own inputs' hashes), and
the provenance table at the bottom names the dataset, models, recipes, training settings that ran,
code and packages behind it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

import altair as alt
import cv2
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from augaudit import charts, datasets, drawing, failures, paths, perturbations, provenance, stageparams, testsets
from augaudit.files import atomic_dir, write_text
from augaudit.numbers import interval, number, p_value

# the registry (augaudit.stages): one job, and the params.yaml keys it reads
JOBS = {}
PARAMS = ("compare", "score", "variants", "perturbations", "dataset.eval_split")

FAILURES_PER_FACTOR = 2
TEMPLATE = "report.html.j2"  # in src/augaudit/templates/ (Jinja2, autoescaped)


# ---------------------------------------------------------------- tables

def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="table", escape=True, na_rep="–")


# ---------------------------------------------------------------- findings

def _factor_rows(audit: dict, variant: str) -> list[dict]:
    return [r for r in audit["rows"] if r["variant"] == variant and r["level"] == "factor"]


# benchmarks/aa_calibration.py on the default (docs/risk.md, "Calibration and power"): per training seeds per
# variant, how often (%) the audit finds a 15 pp and a 10 pp fall in a targeted factor's risk
POWER = {2: (18, 11), 3: (45, 24), 4: (85, 52), 5: (98, 78), 6: (100, 92), 8: (100, 99)}


def power(k: int) -> str:
    """What 'no effect' means at `k` (>= 2) training seeds per variant: the power the calibration measured."""
    at = max(x for x in POWER if x <= k)
    p15, p10 = (f"{'at least ' if at < k and v < 100 else ''}{v} %" for v in POWER[at])
    return (f"At {k} training seeds per variant the audit finds a 15 pp fall in a targeted factor's risk {p15} of "
            f"the time and a 10 pp one {p10} (docs/risk.md), so 'no effect' means none detected.")


ASSESSABLE = ("Verdicts need at least 2 training seeds per variant (train.replicates), where the audit's "
              "false-verdict rate is calibrated; 4 find a 15 pp fall in a targeted factor's risk "
              f"{POWER[4][0]} % of the time (docs/risk.md).")


def findings(metrics: dict, audit: dict) -> list[str]:
    """One sentence per variant: what it was meant to protect against, what it did, how sure we are."""
    lines = []
    for variant, m in metrics.items():
        k = m["replicates"]
        clean = f"clean mAP50 {number(m['map50_clean'], 3)}" + (f" ± {number(m['map50_clean_sd'], 3)}" if k > 1 else "")
        a = audit["variants"].get(variant)
        if a is None:
            worst = max(m["risk_by_factor"].items(), key=lambda kv: kv[1]["risk"])
            lines.append(f"<b>{html.escape(variant)}</b>: {clean}; overall risk "
                         f"{interval(m['risk']['risk'], m['risk']['risk_low'], m['risk']['risk_high'])} %, highest "
                         f"for {html.escape(worst[0])} ({number(worst[1]['risk'])} %); "
                         f"{k} replicate{'s' * (k != 1)}.")
            continue
        rows = _factor_rows(audit, variant)
        if not rows:
            lines.append(f"<b>{html.escape(variant)}</b> (recipe {html.escape(a['recipe'])}, vs "
                         f"{html.escape(a['baseline'])}): {html.escape(a['note'])}; {clean}.")
            continue
        targets = a["targets"]
        change = a["map50_clean_change"]
        cost = f"Clean mAP50 {'+' if change > 0 else ''}{number(change, 3)}"
        if a["map50_clean_low"] is not None:
            cost += f" [{number(a['map50_clean_low'], 3)}, {number(a['map50_clean_high'], 3)}]"
        aim = f"meant to protect against {', '.join(targets)}" if targets else "targets no factor"
        head = (f"<b>{html.escape(variant)}</b> (recipe {html.escape(a['recipe'])}, vs {html.escape(a['baseline'])}, "
                f"{aim})")
        if not a["assessable"]:
            seen = "; ".join(f"{r['name']} {number(r['baseline_risk'])} → {number(r['risk'])} %" for r in rows
                             if r["name"] in targets)
            lines.append(f"{head}: <b>not assessable</b> — {html.escape(a['reason'])}. "
                         f"{html.escape(ASSESSABLE)} The two models' estimates, not a verdict: "
                         f"{html.escape(seen or 'no targeted factor tested')}. {cost} ({clean}).")
            continue
        said = [f"{r['verdict']} on {r['name']} {interval(r['difference'], r['low'], r['high'], sign=True)} pp"
                f" (adjusted p {p_value(r['p_adjusted'], spaced=True)})" for r in rows if r["name"] in targets]
        missing = [t for t in targets if t not in {r["name"] for r in rows}]
        said += [f"{t} not tested" for t in missing]
        elsewhere = [f"{r['verdict']} on {r['name']} {interval(r['difference'], r['low'], r['high'], sign=True)} pp"
                     for r in rows if r["name"] not in targets and r["verdict"] != "no effect"]
        what = "; ".join(said) if said else "no targeted factor to judge"
        other = ("; elsewhere " + "; ".join(elsewhere)) if elsewhere else "; no significant change elsewhere"
        blind = any(r["verdict"] == "no effect" for r in rows if r["name"] in targets)
        seeds = [x for x in (a["replicates"], a["baseline_replicates"]) if x > 1]  # 1: an evaluate-only checkpoint
        lines.append(f"{head}: {html.escape(what + other)}. {cost} ({clean}). How sure: {html.escape(a['note'])}; "
                     f"{number(100 * audit['method']['confidence'], 0)} % intervals on {a['n_images']} images both "
                     f"variants can break." + (f" {html.escape(power(min(seeds)))}" if blind and seeds else ""))
    return lines


# ---------------------------------------------------------------- tables

def _metrics_frame(metrics: dict) -> pd.DataFrame:
    rows = []
    for variant, m in metrics.items():
        k = m["replicates"]
        sd = {key: f" ± {number(m[key], 3)}" if k > 1 else "" for key in ("map50_clean_sd", "map_clean_sd")}
        row = {"variant": variant, "replicates": k,
               "clean mAP50": number(m["map50_clean"], 3) + sd["map50_clean_sd"],
               "clean mAP50-95": number(m["map_clean"], 3) + sd["map_clean_sd"]}
        if "mPC" in m:
            row.update({"mPC (COCO-C)": number(m["mPC"], 3), "rPC": number(m["rPC"], 3)})
        row.update({"mP (tests run)": number(m["mP_tested"], 3), "rP (tests run)": number(m["rP_tested"], 3),
                    "risk % [95 % CI]": interval(m["risk"]["risk"], m["risk"]["risk_low"], m["risk"]["risk_high"])})
        rows.append(row)
    return pd.DataFrame(rows)


def _audit_frame(audit: dict) -> pd.DataFrame:
    rows = [{"variant": r["variant"], "vs": r["baseline"], "factor": r["name"], "targeted": number(r["targeted"]),
             "Δ risk pp [CI]": interval(r["difference"], r["low"], r["high"], sign=True),
             "Δ clean mAP50": number(r["map50_clean_change"], 3), "hypothesis": r["role"],
             "p": p_value(r["p_value"]), "p adjusted": p_value(r["p_adjusted"]), "images": r["n_images"],
             "verdict": r["verdict"]}
            for r in audit["rows"] if r["level"] == "factor"]
    return pd.DataFrame(rows)


def _audit_variants_frame(audit: dict) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "vs": a["baseline"], "recipe": a["recipe"], "targets": ", ".join(a["targets"]),
                          "replicates": f"{a['replicates']} vs {a['baseline_replicates']}",
                          "images compared": a["n_images"], "hypotheses": a["family_size"],
                          "seeds paired": number(a["paired_seeds"]),
                          "seed correlation": number(a["seed_correlation"], 2),
                          "Δ clean mAP50 [CI]": interval(a["map50_clean_change"], a["map50_clean_low"],
                                                         a["map50_clean_high"], digits=3, sign=True),
                          "note": a["note"]} for v, a in audit["variants"].items()])


def _prescription_frame(audit: dict) -> pd.DataFrame:
    """Each prescribed factor: the risk before (the baseline: the variant it was prescribed for, or its
    fine-tuned control) and after, whether the prescription is validated (the audit's verdict is
    `helped`), and with a control what the fine-tuning alone did."""
    rows = []
    for v, a in audit["variants"].items():
        for f in a.get("prescription", []):
            tested = f["verdict"] != "not tested"
            alone = f.get("training_alone")
            rows.append({"variant": v, "prescribed for": a["prescribed_for"],
                         "against": a["baseline"] + (" (control)" if a["control"] else ""), "factor": f["factor"],
                         "risk before %": number(f["baseline_risk"], 1) if tested else "",
                         "risk after %": number(f["risk"], 1) if tested else "",
                         "Δ risk pp [CI]": interval(f["difference"], f["low"], f["high"], sign=True) if tested else "",
                         "Δ clean mAP50": number(f["map50_clean_change"], 3) if tested else "",
                         "verdict": f["verdict"],
                         "validated": "yes" if f["validated"] else "no",
                         "fine-tuning alone: Δ risk pp [CI], verdict": (
                             f"{interval(alone['difference'], alone['low'], alone['high'], sign=True)}, "
                             f"{alone['verdict']}" if alone else "")})
    return pd.DataFrame(rows)


def _breaking_frame(metrics: dict) -> pd.DataFrame:
    def where(point: dict) -> str:
        if point["value"] is None:
            return "not reached"
        if point.get("interval", "").startswith("none"):
            return f"{number(point['value'], 3)} (no interval: one replicate)"
        low = "beyond ladder" if point["low"] is None else number(point["low"], 3)
        high = "beyond ladder" if point["high"] is None else number(point["high"], 3)
        return f"{number(point['value'], 3)} [{low}, {high}]"

    rows = [{"variant": v, "perturbation": p, "unit": b["unit"],
             **{f"{zone} zone at": where(b[zone]) for zone in b if zone not in ("unit", "ladder")}}
            for v, m in metrics.items() for p, b in m["breaking_points"].items()]
    return pd.DataFrame(rows)


def _training_ran(train_log: Path) -> str:
    """The optimizer line Ultralytics logged: what actually ran, learning rate included."""
    for line in train_log.read_text().splitlines():
        if line.startswith("optimizer:"):
            return line.removeprefix("optimizer:").strip().split(" with parameter groups")[0]
    return ""


def _provenance_frame(replicates: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    clean = json.loads((paths.CLEAN / "provenance.json").read_text())
    rows.append({"item": "dataset (data/clean)", "sha256": provenance.hash_path(paths.CLEAN)[:16],
                 "detail": json.dumps(clean["params"].get("dataset", {}).get("source"))})
    for v, names in replicates.items():
        for r in names:
            folder = paths.model_dir(v, r)
            rec = json.loads((folder / "recipe.json").read_text())
            prov = json.loads((folder / "provenance.json").read_text())
            ran = _training_ran(folder / "train.log")
            rows.append({"item": f"model {v} {r}", "sha256": provenance.hash_path(folder / "best.pt")[:16],
                         "detail": f"recipe {rec['name']} ({len(rec['albumentations']['transform']['transforms'])} "
                                   f"transforms), seed {prov['seed']}, device {prov['device']['device']}"
                                   + (f", optimizer {ran}" if ran else "")})
    code = provenance.code_version()
    rows.append({"item": "code", "sha256": code["source_sha256"][:16],
                 "detail": f"augaudit {code['augaudit']}, git {code.get('git_commit')}"})
    rows.append({"item": "packages", "sha256": "",
                 "detail": ", ".join(f"{k} {v}" for k, v in provenance.package_versions().items())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- figures

def curve_frames(summary: pd.DataFrame, metrics: dict, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk curves on each perturbation's own ladder axis (clean first, risk 0) and the breaking
    points on the same axis; a panel is labelled with its unit."""
    curves, points = [], []
    data = summary[summary["perturbation"] != "clean"]
    for name, g in data.groupby("perturbation", sort=False):
        severities = sorted(g["severity"].unique().tolist())
        axis = perturbations.ladder_axis(name, severities, params["perturbations"][name].get("ladder"))
        unit, xs = axis if axis is not None else ("severity", [0.0, *map(float, severities)])
        panel = f"{name} ({unit})"
        x_of = dict(zip([0, *severities], xs, strict=True))
        for variant, gv in g.groupby("variant", sort=False):
            clean = gv.iloc[0].to_dict() | {"severity": 0, "risk": 0.0, "risk_low": 0.0, "risk_high": 0.0,
                                             "map50": math.nan}
            for row in [clean, *gv.sort_values("severity").to_dict("records")]:
                curves.append(row | {"panel": panel, "x": x_of[row["severity"]]})
            for zone, point in metrics[variant]["breaking_points"].get(name, {}).items():
                if zone not in ("unit", "ladder") and point["value"] is not None:
                    points.append({"variant": variant, "panel": panel, "factor": gv["factor"].iloc[0],
                                   "zone": zone, "x": point["value"]})
    return pd.DataFrame(curves), pd.DataFrame(points, columns=["variant", "panel", "factor", "zone", "x"])


def _failure_gallery(params: dict) -> list[dict]:
    """The worst images per variant and factor, as PNG data URIs (so the page stays one file)."""
    per_image = pd.concat([pd.read_parquet(paths.score_dir(v) / "per_image.parquet") for v in params["variants"]])
    rows = failures.worst(per_image, FAILURES_PER_FACTOR)
    panels = []
    for (variant, factor), group in rows.groupby(["variant", "factor"], sort=True):
        images = [{"alt": f"{row.test} {row.image_id} {row.replicate}",
                   "src": _png_uri(failures.pair(row, params["dataset"]["eval_split"], params["score"]["conf"]))}
                  for row in group.itertuples(index=False)]
        panels.append({"variant": variant, "factor": factor, "images": images})
    return panels


def _test_sets_sheet(params: dict) -> np.ndarray:
    """One clean test image as it appears in every test set of this run (rows: perturbations,
    columns: severities run), read back from data/perturbed or regenerated as predict did — what the models
    really saw."""
    split = params["dataset"]["eval_split"]
    first = datasets.list_images(paths.CLEAN / "images" / split)[0]
    rows = []
    for name in ["clean", *params["perturbations"]]:
        tiles = []
        for severity in paths.severities(params, name):
            bgr = testsets.bgr(first if name == "clean" else testsets.perturbed(name, severity)[0])
            tile = cv2.resize(bgr, (128, 128), interpolation=cv2.INTER_AREA)
            drawing.text(tile, name if name == "clean" else f"{name} {severity}", 2, 10, 0.3, drawing.WHITE)
            tiles.append(tile)
        rows.append(drawing.row(tiles))
    return drawing.column(rows)


def _png_uri(image: np.ndarray) -> str:
    return f"data:image/png;base64,{base64.b64encode(cv2.imencode('.png', image)[1].tobytes()).decode()}"


def _factor_frame(metrics: dict) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "factor": f, **r} for v, m in metrics.items()
                         for f, r in m["risk_by_factor"].items()])


def _chart_metrics(metrics: dict) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "map50_clean": m["map50_clean"], "risk": m["risk"]["risk"],
                          "mP_tested": m["mP_tested"], "rP_tested": m["rP_tested"]} for v, m in metrics.items()])


def page_html(spec: dict, context: dict) -> str:
    """The page from its template: the charts' Vega-Lite spec embedded with the vega-embed bundle inlined
    (vl-convert's, as Altair's inline HTML does: no CDN), every other value autoescaped."""
    from altair.utils._importers import import_vl_convert, vl_version_for_vl_convert

    env = jinja2.Environment(loader=jinja2.PackageLoader("augaudit", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)

    def script_json(obj: object) -> Markup:  # JSON inside <script>: no "</" may end the element early
        return Markup(json.dumps(obj).replace("</", "<\\/"))

    bundle = import_vl_convert().javascript_bundle(vl_version=vl_version_for_vl_convert())
    return env.get_template(TEMPLATE).render(
        spec=script_json(spec), embed_options=script_json({"renderer": "svg", "actions": False, "mode": "vega-lite"}),
        vegaembed_script=Markup(bundle), vegalite_version=alt.VEGALITE_VERSION, **context)


def run(params: dict, replicates_of: dict[str, list[str]]) -> Path:
    """The report of a finished run; `replicates_of`: each variant's trained replicates, in params' order."""
    zones = params["compare"]["zones"]
    summary = pd.read_csv(paths.SUMMARY / "summary.csv")
    metrics = json.loads((paths.SUMMARY / "metrics.json").read_text())
    audit = json.loads((paths.SUMMARY / "audit.json").read_text())
    curves, points = curve_frames(summary, metrics, params)
    figures = {
        "risk_by_factor": charts.risk_by_factor(_factor_frame(metrics)),
        "risk_vs_severity": charts.risk_vs_severity(curves, points, zones),
        "map_vs_risk": charts.map_vs_risk(_chart_metrics(metrics)),
    }
    if audit["rows"]:
        figures["audit"] = charts.audit_heatmap(pd.DataFrame(audit["rows"]))
    figures["slices"] = charts.slices(pd.read_csv(paths.SUMMARY / "slices.csv"))
    page = alt.vconcat(*figures.values()).resolve_scale(color="independent")
    tables = [("Variants", _metrics_frame(metrics))]
    if audit["variants"]:
        tables.append(("Augmentation audit (per variant)", _audit_variants_frame(audit)))
    if audit["rows"]:
        tables.append(("Augmentation audit (per factor)", _audit_frame(audit)))
    if any("prescription" in a for a in audit["variants"].values()):
        tables.append(("Prescriptions (validated: the verdict on the prescribed factor, against the baseline, "
                       "is helped; a warm start's baseline is its control, fine-tuned the same way)",
                       _prescription_frame(audit)))
    tables.append(("Breaking points (in each ladder's own unit; 95 % interval over images and seeds)",
                   _breaking_frame(metrics)))
    tables.append(("Provenance", _provenance_frame(replicates_of)))
    doc = page_html(page.to_dict(), {
        "findings": [Markup(line) for line in findings(metrics, audit)],  # built with every value escaped
        "break_drop": params["score"]["break_drop"], "confidence": f"{params['compare']['confidence']:.0%}",
        "multiplicity": audit["method"]["multiplicity"],
        "tables": [(title, Markup(_table(frame))) for title, frame in tables],  # pandas escapes the cells
        "gallery": _failure_gallery(params), "test_sets": _png_uri(_test_sets_sheet(params))})
    with atomic_dir(paths.REPORT) as tmp:
        write_text(tmp / "index.html", doc)
        (tmp / "figures").mkdir()
        for name, chart in figures.items():
            chart.save(str(tmp / "figures" / f"{name}.png"), scale_factor=1.0)
        provenance.write(tmp, "report", {"summary": paths.SUMMARY}, stageparams.stage_params(params, "report"), None)
    return paths.REPORT
