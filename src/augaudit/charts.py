"""Altair charts of the comparison; each takes the compare stage's tables and returns a chart.

Charts facet, sort and carry tooltips so they stay readable with many variants and perturbations.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

ZONE_COLOURS = {"green": "#2ca02c", "yellow": "#ffbf00", "red": "#d62728"}


def _zone_bands(zones: dict) -> list[alt.Chart]:
    bands = [("green", 0, zones["yellow"]), ("yellow", zones["yellow"], zones["red"]), ("red", zones["red"], 100)]
    # one rect per facet, not one per data row (stacked translucent rects would darken the bands)
    return [alt.Chart().transform_aggregate(n="count()", groupby=["panel"]).mark_rect(
        opacity=0.15, color=ZONE_COLOURS[name]).encode(y=alt.datum(lo), y2=alt.datum(hi)) for name, lo, hi in bands]


def risk_by_factor(factors: pd.DataFrame) -> alt.Chart:
    """Risk per factor, variants side by side (the A/B/C comparison), with 95% intervals."""
    base = alt.Chart(factors).encode(
        x=alt.X("variant:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("variant:N", title="variant"),
        tooltip=["variant", "factor", alt.Tooltip("risk:Q", format=".1f"), alt.Tooltip("risk_low:Q", format=".1f"),
                 alt.Tooltip("risk_high:Q", format=".1f"), "n_images", "replicates"])
    bars = base.mark_bar().encode(
        y=alt.Y("risk:Q", title="risk (% of images broken)", scale=alt.Scale(domain=[0, 100])))
    errors = base.mark_rule(color="black").encode(y="risk_low:Q", y2="risk_high:Q")
    return alt.layer(bars, errors).properties(width=alt.Step(14), height=180).facet(
        column=alt.Column("factor:N", title=None, sort="ascending")).properties(title="Risk per factor")


def risk_vs_severity(curves: pd.DataFrame, breaking: pd.DataFrame, zones: dict) -> alt.Chart:
    """Risk against each perturbation's ladder value (`x`, clean first at risk 0), one panel per
    perturbation labelled with its unit (`panel`), zone bands behind the curves, and each variant's
    breaking points as dashed rules (yellow zone) and solid rules (red zone)."""
    frame = pd.concat([curves.assign(kind="curve"), breaking.assign(kind="breaking point")], ignore_index=True)
    curve = alt.Chart().transform_filter(alt.datum.kind == "curve")
    x = alt.X("x:Q", title=None, scale=alt.Scale(zero=False, nice=False))
    line = curve.mark_line(point=True).encode(
        x=x, y=alt.Y("risk:Q", title="risk %", scale=alt.Scale(domain=[0, 100])), color=alt.Color("variant:N"),
        tooltip=["variant", "perturbation", "severity", alt.Tooltip("x:Q", title="ladder value"),
                 alt.Tooltip("risk:Q", format=".1f"), alt.Tooltip("risk_low:Q", format=".1f"),
                 alt.Tooltip("risk_high:Q", format=".1f"), alt.Tooltip("map50:Q", format=".3f")])
    band = curve.mark_area(opacity=0.15).encode(x=x, y="risk_low:Q", y2="risk_high:Q", color="variant:N")
    rules = alt.Chart().transform_filter(alt.datum.kind == "breaking point").mark_rule(strokeWidth=1.5).encode(
        x=x, color="variant:N",
        strokeDash=alt.StrokeDash("zone:N", scale=alt.Scale(domain=["yellow", "red"], range=[[4, 3], [1, 0]]),
                                  title="breaking point"),
        tooltip=["variant", "panel", "zone", alt.Tooltip("x:Q", format=".3g", title="breaking point")])
    return alt.layer(*_zone_bands(zones), band, line, rules, data=frame).properties(width=150, height=120).facet(
        facet=alt.Facet("panel:N", title=None, sort=alt.SortField("factor")), columns=6
    ).resolve_scale(x="independent").properties(title="Risk vs severity per perturbation")


def map_vs_risk(metrics: pd.DataFrame) -> alt.Chart:
    """Clean mAP50 against overall risk: equal accuracy can hide very different robustness."""
    return alt.Chart(metrics).mark_point(size=120, filled=True).encode(
        x=alt.X("map50_clean:Q", title="clean mAP50", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("risk:Q", title="overall risk %", scale=alt.Scale(domain=[0, 100])),
        color="variant:N",
        tooltip=["variant", alt.Tooltip("map50_clean:Q", format=".3f"), alt.Tooltip("risk:Q", format=".1f"),
                 alt.Tooltip("mP_tested:Q", format=".3f"), alt.Tooltip("rP_tested:Q", format=".3f")],
    ).properties(width=300, height=220, title="Clean mAP vs overall risk")


def audit_heatmap(audit: pd.DataFrame) -> alt.Chart:
    """Variant × perturbation risk change vs baseline; backfired cells outlined."""
    rows = audit[audit["level"] == "perturbation"]
    base = alt.Chart(rows).encode(
        x=alt.X("name:N", title="perturbation", sort=alt.SortField("factor")),
        y=alt.Y("variant:N", title="variant (vs its baseline)"))
    cells = base.mark_rect().encode(
        color=alt.Color("difference:Q", title="Δ risk (pp)", scale=alt.Scale(scheme="redblue", reverse=True,
                                                                           domainMid=0)),
        tooltip=["variant", "baseline", "name", "factor", "targeted", alt.Tooltip("difference:Q", format=".1f"),
                 alt.Tooltip("low:Q", format=".1f"), alt.Tooltip("high:Q", format=".1f"),
                 alt.Tooltip("p_adjusted:Q", format=".3f"), "verdict"])
    outline = base.mark_rect(fill=None, stroke="black", strokeWidth=2).transform_filter(
        alt.datum.verdict == "backfired")
    text = base.mark_text(fontSize=9).encode(text=alt.Text("difference:Q", format=".0f"))
    return alt.layer(cells, outline, text).properties(title="Augmentation audit: risk change vs baseline")


def slices(frame: pd.DataFrame) -> alt.Chart:
    """Risk per class and per object-size slice, variants side by side, with clean mAP50 in the tooltip."""
    data = frame.assign(kind=frame["slice"].str.split(":").str[0], name=frame["slice"].str.split(":").str[1])

    def panel(kind: str, title: str) -> alt.Chart:
        base = alt.Chart(data[data["kind"] == kind]).encode(
            y=alt.Y("name:N", title=title), yOffset="variant:N", color="variant:N",
            tooltip=["variant", "slice", alt.Tooltip("risk:Q", format=".1f"),
                     alt.Tooltip("risk_low:Q", format=".1f"), alt.Tooltip("risk_high:Q", format=".1f"),
                     alt.Tooltip("map50_clean:Q", format=".3f"), alt.Tooltip("map50_perturbed:Q", format=".3f"),
                     "n_images"])
        bars = base.mark_bar().encode(x=alt.X("risk:Q", title="risk %", scale=alt.Scale(domain=[0, 100])))
        return alt.layer(bars, base.mark_rule(color="black").encode(x="risk_low:Q", x2="risk_high:Q")).properties(
            width=260)

    return alt.vconcat(panel("class", "class"), panel("size", "object size")).properties(
        title="Risk by class and by object size")
