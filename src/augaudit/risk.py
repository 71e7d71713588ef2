"""Broken flags, risk scores with intervals, breaking points and the augmentation audit's statistics.

Definitions (docs/risk.md has worked examples and the references):
- an image is *broken* under a test when its F1 drops by at least `break_drop` from its clean F1;
- the *risk* of a group of tests (one test, a perturbation's severities, a factor, everything) is the
  percent of (image, test) pairs in the group that are broken, averaged over the variant's
  replicates (training seeds);
- its uncertainty has two sources, both estimated: which images were tested (each image keeps all
  its tests, so correlated tests of one image are not independent evidence) and which seeds the
  models were trained with, crossed random factors (images x seeds, as cases x readers in a
  multi-reader multi-case study): Hillis's form of the Dorfman-Berbaum-Metz variance, Satterthwaite
  degrees of freedom over its mean squares. With one trained replicate the seed component cannot be
  estimated: the estimate supports no verdict (`Estimate.assessable`);
- the audit compares a variant with its baseline on the images both can break (clean F1 >=
  break_drop in every replicate of both), paired by image and, when both arms are trained with
  equal replicate counts, by seed (augaudit.audit; Welch otherwise); it controls each variant's
  verdicts over its distinct hypotheses, the recipe's targets first (weighted Holm, or weighted
  Benjamini-Hochberg), and weighs the accuracy cost by the clean mAP50 change's interval.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats


def broken(f1: np.ndarray, clean_f1: np.ndarray, break_drop: float) -> np.ndarray:
    return (clean_f1 - f1) >= break_drop - 1e-12


def rates(per_image: pd.DataFrame, column: str = "broken") -> pd.DataFrame:
    """images × replicates: each image's mean of `column` over the group's tests, per replicate."""
    return per_image.pivot_table(index="image_id", columns="replicate", values=column, aggfunc="mean",
                                 observed=True).sort_index()


@dataclass(frozen=True)
class Estimate:
    """A mean (or a difference of means) with its standard error and degrees of freedom.

    `seed_covered` is False when a trained arm has a single replicate: seed variation is then not in the
    standard error, and the estimate supports no verdict. `paired`: the arms shared their training seeds
    and were analysed replicate by replicate. The variance is the image term (the sum of `image_terms`,
    signed mean-square terms with their degrees of freedom, never below 0) plus the `seeds` terms
    (variance, degrees of freedom), the poorly estimated part, which `moderate` shrinks."""

    value: float
    se: float
    df: float
    seed_covered: bool
    paired: bool = False
    seeds: tuple[tuple[float, float], ...] = ()
    image_terms: tuple[tuple[float, float], ...] = ()

    @property
    def assessable(self) -> bool:
        """Seed variation is covered and the standard error is positive and finite: a test can be made."""
        return self.seed_covered and math.isfinite(self.se) and self.se > 0 and math.isfinite(self.value)

    def interval(self, confidence: float) -> tuple[float, float]:
        if not self.se > 0:
            return self.value, self.value
        q = stats.t.ppf((1 + confidence) / 2, self.df)
        return self.value - q * self.se, self.value + q * self.se

    def p_value(self) -> float:
        """Two-sided p-value of 'no difference' (value 0); NaN when no test can be made (zero or missing
        standard error: identical differences, one image, one trained replicate)."""
        if not self.assessable:
            return math.nan
        return float(2 * stats.t.sf(abs(self.value) / self.se, self.df))


def mean_squares(x: np.ndarray) -> tuple[float, float, float]:
    """Two-way ANOVA mean squares of an images x replicates table: (images, replicates, interaction)."""
    n, k = x.shape
    rows, cols = x.mean(axis=1), x.mean(axis=0)
    ms_i = k * rows.var(ddof=1) if n > 1 else math.nan
    ms_s = n * cols.var(ddof=1) if k > 1 else math.nan
    resid = x - rows[:, None] - cols[None, :] + x.mean()
    ms_e = float((resid ** 2).sum() / ((n - 1) * (k - 1))) if n > 1 and k > 1 else math.nan
    return float(ms_i), float(ms_s), ms_e


def _combine(value: float, image_terms: list[tuple[float, float]], seeds: list[tuple[float, float]], n: int,
             covered: bool, paired: bool, scale: float) -> Estimate:
    """Variance = image term (the sum of `image_terms`, never below 0) + seed terms. Satterthwaite degrees
    of freedom over every mean-square term the variance is made of, the image term's included (when it
    is not truncated to 0): it is a difference of two noisy mean squares, and counting it as known
    (Hillis 2007's ddf) inflates the degrees of freedom exactly when the seed term comes out small,
    which the calibration found liberal in the family's tail (docs/risk.md); n - 1 with no seed term."""
    seed = sum(t for t, _ in seeds)
    image = sum(t for t, _ in image_terms)
    terms = [x for x in seeds if x[0] > 0] + ([x for x in image_terms if x[0] != 0] if image > 0 else [])
    image = max(image, 0.0)
    var = image + seed
    if seed > 0:
        df = var ** 2 / sum(t ** 2 / d for t, d in terms)
    else:
        df = n - 1.0 if n > 1 else math.inf
    return Estimate(scale * value, scale * math.sqrt(var), float(df), covered, paired,
                    tuple((scale ** 2 * t, d) for t, d in seeds), tuple((scale ** 2 * t, d) for t, d in image_terms))


def estimate(arm: np.ndarray, baseline: np.ndarray | None = None, fixed: tuple[bool, bool] = (False, False),
             scale: float = 100.0, paired: bool | None = None) -> Estimate:
    """Mean of `arm` (images x replicates), or its difference from `baseline` (same image rows).

    Images and seeds are crossed random factors, as cases and readers in a multi-reader multi-case study
    (Dorfman, Berbaum & Metz 1992), in Hillis's form (Hillis 2007, Stat. Med. 26:596): the seed term
    MS_seeds / (n k) holds the image x seed interaction once; the image term is max(MS_images -
    MS_interaction, 0) / (n k), the interaction taken out, so it is not counted twice.
    - one arm, or two arms with paired seeds (the same replicate count, replicate r of both trained with
      one seed): that estimate on the table itself, or on the per-image, per-replicate differences;
    - two unpaired arms: each trained arm's seed term (its own MS_seeds / (n k), k - 1 df) plus the image
      term of the per-image differences, less each arm's interaction, never below 0;
    - a fixed arm (`fixed[i]`: one evaluate-only checkpoint) has no seed variation to estimate; two fixed
      arms give the image-only comparison. A trained arm with one replicate leaves the seed variation out:
      `seed_covered` is False and the estimate supports no verdict.
    `paired=None` pairs whenever the design allows it (both arms trained, equal replicate counts >= 2).
    """
    arm = np.asarray(arm, float)
    one = baseline is None
    base = np.zeros_like(arm[:, :1]) if one else np.asarray(baseline, float)
    trained = [not fixed[0]] + ([] if one else [not fixed[1]])
    ks = [arm.shape[1]] + ([] if one else [base.shape[1]])
    covered = all(k > 1 for k, t in zip(ks, trained, strict=True) if t)
    n = arm.shape[0]
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, covered, False)
    value = float(arm.mean() - (0.0 if one else base.mean()))
    can_pair = not one and all(trained) and ks[0] == ks[1] and ks[0] > 1
    paired = can_pair if paired is None else (paired and can_pair)
    tables = [arm if one else arm - base] if one or paired else [arm, base]
    per_image = tables[0].mean(axis=1) - (tables[1].mean(axis=1) if len(tables) == 2 else 0.0)
    image = [(float(per_image.var(ddof=1)) / n, n - 1.0)] if n > 1 else []
    seeds = []
    for x, t in zip(tables, trained, strict=False):
        k = x.shape[1]
        if t and k > 1 and n > 1:
            _, ms_s, ms_e = mean_squares(x)
            image.append((-ms_e / (n * k), (n - 1.0) * (k - 1)))
            seeds.append((ms_s / (n * k), k - 1.0))
        elif t and k > 1:
            seeds.append((float(x.mean(axis=0).var(ddof=1)) / k, k - 1.0))
    return _combine(value, image, seeds, n, covered, bool(not one and paired), scale)


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Newton's method, as limma's trigammaInverse)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1 - tri / x) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def prior(variances: np.ndarray, dfs: np.ndarray) -> tuple[float, float]:
    """(d0, s0^2): the scaled inverse chi-square prior of a family's variances, fitted by moments of their
    logs (Smyth 2004, limma's fitFDist). d0 = inf: the variances agree beyond their sampling error;
    d0 near 0: they differ, and moderation borrows almost nothing."""
    v, d = np.asarray(variances, float), np.asarray(dfs, float)
    ok = (v > 0) & np.isfinite(v) & (d > 0) & np.isfinite(d)
    v, d = v[ok], d[ok]
    if len(v) < 3:
        return 0.0, math.nan
    e = np.log(v) - special.digamma(d / 2) + np.log(d / 2)
    mean = float(e.mean())
    spread = float(((e - mean) ** 2).sum() / (len(e) - 1) - special.polygamma(1, d / 2).mean())
    if spread <= 0:
        return math.inf, math.exp(mean)
    d0 = 2 * _trigamma_inverse(spread)
    return d0, math.exp(mean + special.digamma(d0 / 2) - math.log(d0 / 2))


def moderate(estimates: list[Estimate]) -> list[Estimate]:
    """Empirical-Bayes moderated estimates (limma's squeezeVar, Smyth 2004) of one family: each arm's seed
    term, the part estimated from k - 1 degrees of freedom, is shrunk towards a prior fitted to that arm's
    seed terms over the family, and gains the prior's degrees of freedom (capped at the family's total).
    The image term stays as it is. Estimates that are not assessable are returned as they are."""
    idx = [i for i, e in enumerate(estimates) if e.assessable and e.seeds]
    out = list(estimates)
    arms = {len(estimates[i].seeds) for i in idx}
    if len(idx) < 3 or len(arms) != 1:
        return out
    posts = {i: [] for i in idx}
    for j in range(arms.pop()):
        v = np.array([estimates[i].seeds[j][0] for i in idx])
        d = np.array([estimates[i].seeds[j][1] for i in idx])
        d0, s0 = prior(v, d)
        for i, vi, di in zip(idx, v, d, strict=True):
            if d0 == 0 or math.isnan(s0):
                posts[i].append((vi, di))
            elif math.isinf(d0):
                posts[i].append((s0, float(d.sum())))
            else:
                posts[i].append(((d0 * s0 + di * vi) / (d0 + di), min(di + d0, float(d.sum()))))
    for i in idx:
        e = estimates[i]
        m = _combine(e.value, list(e.image_terms), posts[i], 2, e.seed_covered, e.paired, 1.0)
        out[i] = Estimate(e.value, m.se, m.df, e.seed_covered, e.paired, tuple(posts[i]), e.image_terms)
    return out


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


def adjust(p_values: list[float], method: str, weights: list[float] | None = None) -> list[float]:
    """Multiplicity-adjusted p-values over one family of distinct hypotheses: Holm (family-wise error) or
    Benjamini-Hochberg (false discovery rate), each in its weighted form when `weights` are given
    (weighted Holm: Holm 1979, the graphical form of Bretz et al. 2009 with weights passed on
    proportionally; weighted BH: Genovese, Roeder & Wasserman 2006, weights averaging 1).
    A NaN p-value (a hypothesis that cannot be tested) stays NaN and takes no share of the error."""
    p = np.asarray(p_values, float)
    out = np.full(p.size, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out.tolist()
    w = np.ones(p.size) if weights is None else np.asarray(weights, float)
    pv, wv = p[ok], w[ok]
    if wv.sum() <= 0:
        wv = np.ones(pv.size)
    wv = wv / wv.sum()
    if method == "bh":
        scaled = np.where(wv > 0, pv / (wv * pv.size), np.inf)
        out[ok] = stats.false_discovery_control(np.minimum(scaled, 1.0), method="bh")
        return out.tolist()
    ratio = np.where(wv > 0, pv / np.where(wv > 0, wv, 1), np.inf)
    order = np.argsort(ratio, kind="stable")
    remaining = wv[order][::-1].cumsum()[::-1]               # the weight of the hypotheses not yet rejected
    stepped = np.maximum.accumulate(np.minimum(1.0, ratio[order] * remaining))
    adjusted = np.empty(pv.size)
    adjusted[order] = stepped
    out[ok] = adjusted
    return out.tolist()


VERDICTS = ("helped", "backfired", "traded accuracy", "helped, cost unresolved", "no effect", "not assessable")


def verdict(difference: float, p_adjusted: float, alpha: float, clean: tuple[float, float] | None,
            tolerance: float) -> str:
    """helped / backfired when the adjusted p-value is below alpha. A fall in risk is `helped` only when
    the clean mAP50 change's interval lies above -tolerance, `traded accuracy` when it lies below, and
    `helped, cost unresolved` when it straddles -tolerance (or has no interval). NaN p: not assessable."""
    if p_adjusted is None or math.isnan(p_adjusted):
        return "not assessable"
    if not p_adjusted < alpha:
        return "no effect"
    if difference > 0:
        return "backfired"
    if clean is None:
        return "helped, cost unresolved"
    low, high = clean
    if high < -tolerance:
        return "traded accuracy"
    return "helped" if low > -tolerance else "helped, cost unresolved"


def jackknife_groups(image_ids: list[str], groups: int = 10) -> dict[str, int]:
    """Each test image's jackknife group: sorted ids dealt round-robin into min(groups, n) groups, so
    every variant scored on the same test set has the same groups."""
    ids = sorted(image_ids)
    g = max(1, min(groups, len(ids)))
    return {image_id: i % g for i, image_id in enumerate(ids)}


def _jack_var(values: np.ndarray) -> float:
    """Delete-a-group jackknife variance from the G leave-one-group-out values."""
    g = len(values)
    return float((g - 1) / g * ((values - values.mean()) ** 2).sum()) if g > 1 else 0.0


def clean_change(arm: np.ndarray, baseline: np.ndarray, arm_jack: np.ndarray, base_jack: np.ndarray,
                 fixed: tuple[bool, bool] = (False, False), paired: bool | None = None) -> Estimate:
    """The clean mAP50 change (variant minus baseline) with a seed- and image-aware standard error.

    `arm`, `baseline`: per replicate mAP50 (k,); `*_jack`: per replicate its leave-one-group-out values
    (k, G), the same image groups in both arms. The seed term is the variance over replicates (of the
    per-replicate differences when the seeds are paired); the image term is the jackknife variance of
    the replicate-averaged difference, less the image x seed interaction the seed term already holds
    (estimated from the per-replicate jackknife variances), never below 0."""
    arm, baseline = np.asarray(arm, float), np.asarray(baseline, float)
    arm_jack, base_jack = np.asarray(arm_jack, float), np.asarray(base_jack, float)
    ks = (len(arm), len(baseline))
    trained = (not fixed[0], not fixed[1])
    covered = all(k > 1 for k, t in zip(ks, trained, strict=True) if t)
    value = float(arm.mean() - baseline.mean())
    can_pair = all(trained) and ks[0] == ks[1] and ks[0] > 1
    paired = can_pair if paired is None else (paired and can_pair)

    groups = arm_jack.shape[1]

    def interaction(jack: np.ndarray) -> tuple[float, float]:  # -sigma^2_e / (n k) of one table of replicates
        k = jack.shape[0]
        return (-max(0.0, (np.mean([_jack_var(j) for j in jack]) - _jack_var(jack.mean(axis=0))) / (k - 1)),
                (groups - 1.0) * (k - 1))

    if paired:
        d, dj = arm - baseline, arm_jack - base_jack
        k = len(d)
        seeds = [(float(d.var(ddof=1)) / k, k - 1)]
        image = [(_jack_var(dj.mean(axis=0)), groups - 1.0), interaction(dj)]
    else:
        seeds, image = [], [(_jack_var(arm_jack.mean(axis=0) - base_jack.mean(axis=0)), groups - 1.0)]
        for x, j, t in ((arm, arm_jack, trained[0]), (baseline, base_jack, trained[1])):
            if t and len(x) > 1:
                seeds.append((float(x.var(ddof=1)) / len(x), len(x) - 1))
                image.append(interaction(j))
    return _combine(value, image, seeds, groups, covered, paired, 1.0)


def breaking_point(values: list[float], risks: list[float], zone: float) -> float | None:
    """Where the risk curve first reaches `zone`, linearly interpolated; None if it never does.

    `values` are the ladder values of the tests in severity order, preceded by the clean value (risk
    0 by definition): a ladder already in the zone at its first level breaks between clean and it.
    """
    for (x0, y0), (x1, y1) in itertools.pairwise(zip(values, [0.0, *risks], strict=True)):
        if y1 >= zone:
            return float(x1) if y1 == y0 else float(x0 + (zone - y0) * (x1 - x0) / (y1 - y0))
    return None


def breaking_interval(tensor: np.ndarray, values: list[float], zone: float,
                      confidence: float) -> tuple[float | None, float | None] | None:
    """Interval of the breaking point by inverting the risk curve's pointwise intervals (the calibration
    interval of inverse regression): the low end is where the curve's upper limit reaches the zone, the
    high end where its lower limit does. Each severity's limits come from `estimate` on its images x
    replicates table, so seeds are covered as the audit covers them.

    `tensor`: images x severities x replicates of broken (0/1). None with one replicate (seeds not
    covered: no interval). An end of None means 'beyond the last level run' (for a ladder that goes down,
    such as JPEG quality, the lower end)."""
    if tensor.shape[2] < 2:
        return None
    upper, lower = [], []
    for s in range(tensor.shape[1]):
        e = estimate(tensor[:, s, :])
        lo, hi = e.interval(confidence)
        upper.append(min(100.0, hi))
        lower.append(max(0.0, lo))
    return breaking_point(values, upper, zone), breaking_point(values, lower, zone)
