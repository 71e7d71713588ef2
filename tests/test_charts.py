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


def test_the_report_page_comes_from_its_template_with_values_escaped():
    """report.page_html: the spec embedded as JSON that cannot close its <script> early, the vega-embed
    bundle inlined (no CDN), every value that is not already HTML escaped."""
    from markupsafe import Markup

    from augaudit.stages import report

    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "data": {"values": [{"x": "</script>"}]},
            "mark": "point", "encoding": {"x": {"field": "x", "type": "nominal"}}}
    page = report.page_html(spec, {
        "findings": [Markup("<b>mixed</b> &lt;ok&gt;")], "break_drop": 0.5, "confidence": "95%",
        "multiplicity": "holm", "tables": [("<i>title</i>", Markup("<table class=table></table>"))],
        "gallery": [{"variant": "v<1>", "factor": "blur",
                     "images": [{"alt": 'a"b', "src": "data:image/png;base64,AA"}]}],
        "test_sets": "data:image/png;base64,AA"})
    assert "<body>\n<h1>augaudit report</h1>" in page and page.endswith("</body>\n</html>")
    assert "<b>mixed</b> &lt;ok&gt;" in page and "<table class=table>" in page
    assert "&lt;i&gt;title&lt;/i&gt;" in page and "v&lt;1&gt; — blur" in page and 'alt="a&#34;b"' in page
    assert '"x": "<\\/script>"' in page and "vegaEmbed('#vis', spec, embedOpt)" in page
    assert "cdn.jsdelivr" not in page and len(page) > 500_000  # the bundle is inline
