"""Broken flags, risk scores with intervals, breaking points and the augmentation audit's statistics.

Definitions (docs/risk.md has worked examples and the references):
- an image is *broken* under a test when its F1 drops by at least `break_drop` from its clean F1;
- the *risk* of a group of tests (one test, a perturbation's severities, a factor, everything) is the
  percent of (image, test) pairs in the group that are broken, averaged over the variant's
  replicates (training seeds);
- its uncertainty has two sources, both estimated: which images were tested (each image keeps all
  its tests, so correlated tests of one image are not independent evidence) and which seeds the
  models were trained with. The standard error adds the image component (variance of the per-image
  values over images) and the seed component (variance of the per-replicate risks over replicates),
  as in a crossed images × seeds design; the interval and p-value use Student's t with
  Welch-Satterthwaite degrees of freedom. With one replicate the seed component cannot be estimated
  and is left out: such intervals and verdicts are *provisional*;
- the audit compares a variant with its baseline on the images both can break (clean F1 >=
  break_drop in every replicate of both), paired by image, and controls each variant's verdicts over
  all its comparisons (Holm, or Benjamini-Hochberg).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


def broken(f1: np.ndarray, clean_f1: np.ndarray, break_drop: float) -> np.ndarray:
    return (clean_f1 - f1) >= break_drop - 1e-12


def rates(per_image: pd.DataFrame, column: str = "broken") -> pd.DataFrame:
    """images × replicates: each image's mean of `column` over the group's tests, per replicate."""
    return per_image.pivot_table(index="image_id", columns="replicate", values=column, aggfunc="mean",
                                 observed=True).sort_index()


@dataclass(frozen=True)
class Estimate:
    """A mean (or a paired difference of means) with its standard error and degrees of freedom.

    `seed_covered` is False when a trained arm has a single replicate, so seed variation is not in
    the standard error."""

    value: float
    se: float
    df: float
    seed_covered: bool

    def interval(self, confidence: float) -> tuple[float, float]:
        if self.se == 0:
            return self.value, self.value
        q = stats.t.ppf((1 + confidence) / 2, self.df)
        return self.value - q * self.se, self.value + q * self.se

    def p_value(self) -> float:
        """Two-sided p-value of 'no difference' (value 0)."""
        if self.se == 0:
            return 1.0 if self.value == 0 else 0.0
        return float(2 * stats.t.sf(abs(self.value) / self.se, self.df))


def estimate(arm: np.ndarray, baseline: np.ndarray | None = None, fixed: tuple[bool, bool] = (False, False),
             scale: float = 100.0) -> Estimate:
    """Mean of `arm` (images × replicates), or its paired difference from `baseline` (same rows).

    Variance = var over images of the per-image (replicate-averaged) values / n + for each arm the
    variance over replicates of its replicate means / k. The image term also holds each image's
    seed-to-seed noise, so the sum counts that interaction twice: conservative (Owen 2007's
    pigeonhole bootstrap has the same property). `fixed[i]`: arm i is one fixed checkpoint (evaluate
    only), which has no seed variation to estimate.
    """
    arms = [arm] if baseline is None else [arm, baseline]
    per_image = arm.mean(axis=1) - (baseline.mean(axis=1) if baseline is not None else 0.0)
    n = len(per_image)
    terms = []  # (variance component, its degrees of freedom)
    if n > 1:
        terms.append((per_image.var(ddof=1) / n, n - 1))
    covered = True
    for a, is_fixed in zip(arms, fixed, strict=False):  # one arm, or two
        k = a.shape[1]
        if k > 1:
            terms.append((a.mean(axis=0).var(ddof=1) / k, k - 1))
        elif not is_fixed:
            covered = False
    var = sum(t for t, _ in terms)
    df = var ** 2 / sum(t ** 2 / d for t, d in terms if t > 0) if var > 0 else math.inf
    value = float(per_image.mean()) if n else math.nan
    return Estimate(scale * value, scale * math.sqrt(var), float(df), covered)


def group_risk(per_image: pd.DataFrame, confidence: float) -> dict:
    """Risk (percent) of the tests in `per_image`, with its interval (clipped to 0..100)."""
    table = rates(per_image)
    e = estimate(table.to_numpy(float))
    lo, hi = e.interval(confidence)
    return {"risk": e.value, "risk_low": max(0.0, lo), "risk_high": min(100.0, hi), "se": e.se,
            "df": e.df if math.isfinite(e.df) else None, "n_images": len(table), "replicates": table.shape[1]}


def breakable(per_image: pd.DataFrame, break_drop: float) -> pd.Index:
    """Images whose clean F1 leaves room to break (>= break_drop) in every replicate."""
    clean = per_image[per_image["test"] == "clean"].pivot_table(index="image_id", columns="replicate",
                                                                 values="f1", observed=True)
    return clean.index[(clean >= break_drop - 1e-12).all(axis=1)]


def adjust(p_values: list[float], method: str) -> list[float]:
    """Multiplicity-adjusted p-values over one family: Holm (family-wise) or Benjamini-Hochberg (FDR)."""
    p = np.asarray(p_values, float)
    if p.size == 0:
        return []
    if method == "bh":
        return stats.false_discovery_control(p, method="bh").tolist()
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (p.size - np.arange(p.size)) * p[order]))
    out = np.empty_like(p)
    out[order] = stepped
    return out.tolist()


def verdict(difference: float, p_adjusted: float, alpha: float, clean_change: float, tolerance: float) -> str:
    """helped / backfired when the adjusted p-value is below alpha; a lower risk bought with a clean
    mAP50 fall beyond `tolerance` is `traded accuracy`, never `helped`."""
    if not p_adjusted < alpha:
        return "no effect"
    if difference > 0:
        return "backfired"
    return "traded accuracy" if clean_change < -tolerance else "helped"


def breaking_point(values: list[float], risks: list[float], zone: float) -> float | None:
    """Where the risk curve first reaches `zone`, linearly interpolated; None if it never does.

    `values` are the ladder values of the tests in severity order, preceded by the clean value (risk
    0 by definition): a ladder already in the zone at its first level breaks between clean and it.
    """
    for (x0, y0), (x1, y1) in itertools.pairwise(zip(values, [0.0, *risks], strict=True)):
        if y1 >= zone:
            return float(x1) if y1 == y0 else float(x0 + (zone - y0) * (x1 - x0) / (y1 - y0))
    return None


def breaking_interval(tensor: np.ndarray, values: list[float], zone: float, n_resamples: int, confidence: float,
                      seed: int) -> tuple[float | None, float | None]:
    """Percentile interval of the breaking point: images and replicates resampled independently.

    `tensor`: images × severities × replicates of broken (0/1). A resample whose curve never
    reaches the zone has its breaking point beyond the ladder: an end of None means
    'beyond the last level run' (for a ladder that goes down, such as JPEG quality, the lower end).
    """
    rng = np.random.default_rng(seed)
    n, s, k = tensor.shape
    images = rng.multinomial(n, np.full(n, 1 / n), size=n_resamples)            # B × n counts
    seeds = rng.multinomial(k, np.full(k, 1 / k), size=n_resamples) / k         # B × k weights
    per_replicate = (images @ tensor.reshape(n, s * k)).reshape(n_resamples, s, k) / n
    curves = 100 * np.einsum("bsk,bk->bs", per_replicate, seeds)
    points = np.array([breaking_point(values, list(c), zone) for c in curves], dtype=float)
    beyond = -np.inf if len(values) > 1 and values[-1] < values[0] else np.inf  # ladders can go down
    points = np.where(np.isnan(points), beyond, points)
    lo, hi = np.quantile(points, [(1 - confidence) / 2, (1 + confidence) / 2], method="inverted_cdf")
    return (float(lo) if np.isfinite(lo) else None), (float(hi) if np.isfinite(hi) else None)
