"""Broken flags, risk scores with bootstrap intervals, breaking points and the augmentation audit.

Definitions (docs/risk.md has a worked example):
- an image is *broken* under a test when its F1 drops by at least `break_drop` from its clean F1;
- the *risk* of a group of tests (one test, a perturbation's severities, a factor, everything) is the
  percent of (image, test) pairs in the group that are broken;
- its interval resamples *images* (each image keeps all its tests), so correlated tests of the same
  image are not counted as independent evidence;
- the audit compares a variant with its baseline on the same images and tests (paired), and calls a
  recipe `helped` / `backfired` only when the paired interval excludes zero.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats


def broken(f1: np.ndarray, clean_f1: np.ndarray, break_drop: float) -> np.ndarray:
    return (clean_f1 - f1) >= break_drop - 1e-12


def bootstrap_mean(values: np.ndarray, n_resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (scipy), seeded; degenerate data gives a point."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.all(values == values[0]):
        v = float(values.mean()) if len(values) else float("nan")
        return v, v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                              method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def group_risk(per_image: pd.DataFrame, n_resamples: int, confidence: float, seed: int) -> dict:
    """Risk (percent) of the tests in `per_image`, with an image-level bootstrap interval."""
    rate = per_image.groupby("image_id", sort=True)["broken"].mean().to_numpy()
    lo, hi = bootstrap_mean(rate, n_resamples, confidence, seed)
    return {"risk": 100 * float(rate.mean()), "risk_low": 100 * lo, "risk_high": 100 * hi, "n_images": len(rate)}


def paired_difference(variant: pd.DataFrame, baseline: pd.DataFrame, n_resamples: int, confidence: float,
                      seed: int) -> dict:
    """Risk(variant) − risk(baseline) in percentage points over the same (image, test) pairs."""
    keys = ["image_id", "test"]
    both = variant[keys + ["broken"]].merge(baseline[keys + ["broken"]], on=keys, suffixes=("", "_base"))
    diff = (both["broken"].astype(float) - both["broken_base"].astype(float)).groupby(both["image_id"]).mean()
    lo, hi = bootstrap_mean(diff.to_numpy(), n_resamples, confidence, seed)
    return {"difference": 100 * float(diff.mean()), "low": 100 * lo, "high": 100 * hi, "n_images": len(diff)}


def verdict(low: float, high: float) -> str:
    if high < 0:
        return "helped"
    if low > 0:
        return "backfired"
    return "no effect"


def breaking_point(severities: list[int], risks: list[float], zone: float) -> float | None:
    """The severity where risk first reaches `zone`, linearly interpolated; None if it never does.

    Severity 0 is the clean set (risk 0 by definition), so a ladder already in the zone at its first
    level breaks somewhere between 0 and that level.
    """
    xs, ys = [0, *severities], [0.0, *risks]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y1 >= zone:
            return float(x1) if y1 == y0 else float(x0 + (zone - y0) * (x1 - x0) / (y1 - y0))
    return None
