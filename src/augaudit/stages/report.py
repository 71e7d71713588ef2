"""report: results/report/index.html — one self-contained page (Altair inlined, no CDN) + PNG figures.

Every number on the page comes from results/summary (which records its own inputs' hashes), and the
provenance table at the bottom names the dataset, models, recipes, code and packages behind it.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import altair as alt
import cv2
import numpy as np
import pandas as pd

from augaudit import charts, config, datasets, failures, provenance
from augaudit.files import atomic_dir, write_text
from augaudit.stages.compare import OUT as SUMMARY
from augaudit.stages.score import out_dir as score_dir
from augaudit.stages.train import out_dir as model_dir
from augaudit.testsets import CLEAN, images_dir, severities

OUT = Path("results/report")
FAILURES_PER_FACTOR = 2
STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table.table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
table.table th, table.table td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.gallery img { margin: 4px; border: 1px solid #ccc; }
</style>"""


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0, classes="table")


def _metrics_frame(metrics: dict) -> pd.DataFrame:
    rows = []
    for variant, m in metrics.items():
        rows.append({"variant": variant, "map50_clean": m["map50_clean"], "map_clean": m["map_clean"],
                     "mPC": m["mPC"], "rPC": m["rPC"], "risk": m["risk"]["risk"],
                     "risk_low": m["risk"]["risk_low"], "risk_high": m["risk"]["risk_high"]})
    return pd.DataFrame(rows)


def _factor_frame(metrics: dict) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "factor": f, **r} for v, m in metrics.items()
                         for f, r in m["risk_by_factor"].items()])


def _provenance_frame(variants: list[str]) -> pd.DataFrame:
    rows = []
    clean = json.loads((CLEAN / "provenance.json").read_text())
    rows.append({"item": "dataset (data/clean)", "sha256": provenance.hash_path(CLEAN)[:16],
                 "detail": json.dumps(clean["params"].get("dataset", {}).get("source"))})
    for v in variants:
        folder = model_dir(v)
        rec = json.loads((folder / "recipe.json").read_text())
        prov = json.loads((folder / "provenance.json").read_text())
        rows.append({"item": f"model {v}", "sha256": provenance.hash_path(folder / "best.pt")[:16],
                     "detail": f"recipe {rec['name']} ({len(rec['albumentations']['transform']['transforms'])} "
                               f"transforms), device {prov['device']['device']}"})
    code = provenance.code_version()
    rows.append({"item": "code", "sha256": code["source_sha256"][:16],
                 "detail": f"augaudit {code['augaudit']}, git {code.get('git_commit')}"})
    rows.append({"item": "packages", "sha256": "",
                 "detail": ", ".join(f"{k} {v}" for k, v in provenance.package_versions().items())})
    return pd.DataFrame(rows)


def _failure_gallery(params: dict) -> str:
    """HTML for the worst images per variant and factor (PNG data URIs, so the page stays one file)."""
    per_image = pd.concat([pd.read_parquet(score_dir(v) / "per_image.parquet") for v in params["variants"]])
    rows = failures.worst(per_image, FAILURES_PER_FACTOR)
    parts = []
    for (variant, factor), group in rows.groupby(["variant", "factor"], sort=True):
        imgs = []
        for row in group.itertuples(index=False):
            pair = failures.pair(row, params["dataset"]["eval_split"], params["score"]["conf"])
            imgs.append(_png_tag(pair, f"{row.test} {row.image_id}"))
        parts.append(f"<h3>{html.escape(variant)} — {html.escape(factor)}</h3><div class=gallery>{''.join(imgs)}</div>")
    return "".join(parts) or "<p>No image lost F1 under any test.</p>"


def _test_sets_sheet(params: dict) -> np.ndarray:
    """One clean test image as it appears in every test set of this run (rows: perturbations,
    columns: severities run), read back from data/perturbed — what the models really saw."""
    split = params["dataset"]["eval_split"]
    first = datasets.list_images(CLEAN / "images" / split)[0]
    rows, width = [], 0
    for name in ["clean", *params["perturbations"]]:
        tiles = []
        for severity in severities(params, name):
            image = next(images_dir(name, severity, split).glob(f"{first.stem}.*"))
            tile = cv2.resize(cv2.imread(str(image), cv2.IMREAD_COLOR), (128, 128), interpolation=cv2.INTER_AREA)
            label = name if name == "clean" else f"{name} {severity}"
            cv2.putText(tile, label, (2, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
        width = max(width, rows[-1].shape[1])
    return np.vstack([np.hstack([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)]) for r in rows])


def _png_tag(image: np.ndarray, alt: str) -> str:
    png = cv2.imencode(".png", image)[1]
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png.tobytes()).decode()}">'


def run(params: dict) -> Path:
    zones = params["compare"]["zones"]
    summary = pd.read_csv(SUMMARY / "summary.csv")
    metrics = json.loads((SUMMARY / "metrics.json").read_text())
    audit = pd.DataFrame(json.loads((SUMMARY / "audit.json").read_text()))
    figures = {
        "risk_by_factor": charts.risk_by_factor(_factor_frame(metrics)),
        "risk_vs_severity": charts.risk_vs_severity(summary, charts.breaking_frame(metrics), zones),
        "map_vs_risk": charts.map_vs_risk(_metrics_frame(metrics)),
    }
    if not audit.empty:
        figures["audit"] = charts.audit_heatmap(audit)
    figures["slices"] = charts.slices(pd.read_csv(SUMMARY / "slices.csv"))
    page = alt.vconcat(*figures.values()).resolve_scale(color="independent")
    doc = page.to_html(inline=True, embed_options={"renderer": "svg", "actions": False})
    tables = [("Variants", _metrics_frame(metrics))]
    if not audit.empty:
        tables.append(("Augmentation audit (per factor)",
                       audit[audit["level"] == "factor"][["variant", "baseline", "recipe", "name", "targeted",
                                                          "difference", "low", "high", "verdict"]]))
    tables.append(("Provenance", _provenance_frame(list(params["variants"]))))
    body = "".join(f"<h2>{html.escape(title)}</h2>{_table(frame)}" for title, frame in tables)
    body += "<h2>Failure gallery</h2><p>Per variant and factor, the images whose F1 dropped most: clean (left) " \
            "and perturbed (right); reference boxes green, detections counted in the F1 red.</p>" \
            + _failure_gallery(params)
    body += "<h2>Test sets of this run</h2><p>One test image in every perturbed set, as stored in data/perturbed." \
            f"</p><div class=gallery>{_png_tag(_test_sets_sheet(params), 'test sets')}</div>"
    head = STYLE + "<h1>augaudit report</h1><p>Risk = percent of images whose F1 dropped by at least " \
           f"{params['score']['break_drop']} under a test; intervals are {params['compare']['confidence']:.0%} " \
           "image-level bootstrap.</p>"
    # The inlined Vega bundle itself contains "<body>" strings: the page's own tags are the last ones.
    before, tag, after = doc.rpartition("<body>")
    doc = before + tag + head + after
    before, tag, after = doc.rpartition("</body>")
    doc = before + body + tag + after
    with atomic_dir(OUT) as tmp:
        write_text(tmp / "index.html", doc)
        (tmp / "figures").mkdir()
        for name, chart in figures.items():
            chart.save(str(tmp / "figures" / f"{name}.png"), scale_factor=1.0)
        provenance.write(tmp, "report", {"summary": SUMMARY}, config.stage_params(params, "report"), None)
    return OUT
