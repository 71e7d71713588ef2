"""Charts stay readable at scale: 10 variants × 30 perturbations render with bounded width, every
panel labelled (rendered to SVG by vl-convert, the engine Altair uses to save figures)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from augaudit import charts
from augaudit.perturbations import CATALOGUE

VARIANTS = [f"variant_{i}" for i in range(10)]
PERTURBATIONS = list(CATALOGUE)[:30]


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    rows = []
    for v in VARIANTS:
        for p in PERTURBATIONS:
            for s in range(1, 6):
                r = float(min(100, s * rng.uniform(2, 20)))
                rows.append({"variant": v, "perturbation": p, "factor": CATALOGUE[p].factor, "severity": s,
                             "map50": 0.5, "map50_95": 0.3, "risk": r, "risk_low": r * 0.8,
                             "risk_high": min(100, r * 1.2),
                             "n_images": 100, "replicates": 3, "x": s * 1.5, "panel": f"{p} (unit)"})
    summary = pd.DataFrame(rows)
    factors = summary.groupby(["variant", "factor"], as_index=False)[["risk", "risk_low", "risk_high", "n_images",
                                                                      "replicates"]].mean()
    breaking = pd.DataFrame([{"variant": v, "panel": f"{p} (unit)", "factor": CATALOGUE[p].factor, "zone": "yellow",
                              "x": 2.5} for v in VARIANTS for p in PERTURBATIONS])
    audit = pd.DataFrame([{"variant": v, "baseline": VARIANTS[0], "level": "perturbation", "name": p,
                           "factor": CATALOGUE[p].factor, "targeted": False, "difference": d, "low": d - 5,
                           "high": d + 5, "p_adjusted": 0.5, "verdict": "backfired" if d > 5 else "no effect"}
                          for v in VARIANTS[1:] for p, d in zip(PERTURBATIONS, rng.normal(0, 10, 30), strict=True)])
    return summary, factors, breaking, audit


def _svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_json())


def _width(svg: str) -> float:
    return float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))


def test_risk_vs_severity_wraps_thirty_panels(frames):
    summary, _, breaking, _ = frames
    svg = _svg(charts.risk_vs_severity(summary, breaking, {"yellow": 20, "red": 50}))
    assert _width(svg) < 1600
    assert all(f">{p} (unit)<" in svg for p in PERTURBATIONS)  # every panel labelled, with its unit
    assert all(f">{v}<" in svg for v in VARIANTS)  # legend lists every variant


def test_risk_by_factor_and_audit_heatmap_fit(frames):
    _, factors, _, audit = frames
    assert _width(_svg(charts.risk_by_factor(factors))) < 1600
    svg = _svg(charts.audit_heatmap(audit))
    assert _width(svg) < 1600 and all(f">{p}<" in svg for p in PERTURBATIONS)
