"""Regression gate for CI: fail when overall or any factor's risk rose beyond a tolerance, significantly.

`dvc metrics diff` shows changes but has no tolerance; this command compares the compare stage's
metrics.json with a baseline — a file, or the same file at a git revision (read through DVC, so
a DVC-tracked metrics file at an old commit works) — prints a table and exits

- 1 when a row REGRESSED: its risk rose by more than the tolerance (percentage points) and the rise
  is significant (one-sided t-test on the two runs' standard errors, Holm over all rows);
- 2 when the input is unusable, including two runs that did not test the same variants, factors
  and tests (their risks are not comparable);
- 0 otherwise.

    augaudit gate --baseline-rev main --tolerance 2
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from augaudit.numbers import p_value

METRICS = "results/summary/metrics.json"


class Mismatch(ValueError):
    """The two runs are not comparable; the message says how."""


def load_baseline(path: str | None, rev: str | None, target: str) -> dict:
    if path:
        return read_metrics(Path(path).read_text(), path)
    import dvc.api

    return read_metrics(dvc.api.read(target, rev=rev, repo="."), f"{target}@{rev}")


def _finite(value: object, lo: float, hi: float) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and math.isfinite(value) and lo <= value <= hi


def _check_risk(where: str, r: object) -> None:
    if not isinstance(r, dict):
        raise ValueError(f"{where}: not a risk record")
    for key, lo, hi in (("risk", 0.0, 100.0), ("se", 0.0, 100.0)):
        if key not in r:
            raise ValueError(f"{where}.{key}: missing (metrics written by an older augaudit? re-run compare)")
        if not _finite(r.get(key), lo, hi):
            raise ValueError(f"{where}.{key}: {r.get(key)!r} is not a number within {lo:g}..{hi:g}")
    df = r.get("df")
    if df is not None and not (_finite(df, 0.0, math.inf) and df > 0):
        raise ValueError(f"{where}.df: {df!r} is not a positive number")


def _shown(key: str) -> str:
    """A key as a message shows it: as it is, or quoted when it holds a newline or another control."""
    return key if key.isprintable() else repr(key)


def read_metrics(text: str, name: str) -> dict:
    """A finished run's results/summary/metrics.json, or an error naming the file and the key: per
    variant an overall risk and per-factor risks, each finite with its standard error, and its tests."""
    try:
        metrics = json.loads(text, parse_constant=lambda c: float(c))  # NaN/Infinity read, then refused below
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}: not JSON ({e})") from None
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError(f"{name}: not a finished run's metrics (no variant in it)")
    for variant, m in metrics.items():
        where = f"{name}: {_shown(variant)}"
        if not isinstance(m, dict) or not isinstance(m.get("risk_by_factor"), dict) or not m["risk_by_factor"]:
            raise ValueError(f"{where}: not a finished run's metrics (no risk_by_factor)")
        if not isinstance(m.get("tests"), (list, dict)) or not m["tests"]:
            raise ValueError(f"{where}: not a finished run's metrics (no tests)")
        _check_risk(f"{where}.risk", m.get("risk"))
        for factor, r in m["risk_by_factor"].items():
            _check_risk(f"{where}.risk_by_factor.{_shown(factor)}", r)
    return metrics


def _tolerance(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0 (percentage points)")
    return value


def _alpha(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not a significance level between 0 and 1")
    return value


def check_comparable(current: dict, baseline: dict) -> None:
    """Same variants, and per variant the same factors and tests."""
    problems = []
    for name, only in (("baseline", set(baseline) - set(current)), ("current", set(current) - set(baseline))):
        if only:
            problems.append(f"variant(s) {', '.join(sorted(only))} only in the {name} run")
    for variant in sorted(set(current) & set(baseline)):
        for key, what in (("risk_by_factor", "factors"), ("tests", "tests")):
            a, b = set(baseline[variant].get(key, ())), set(current[variant].get(key, ()))
            if a != b:
                diff = sorted(a ^ b)
                problems.append(f"{variant}: different {what} ({', '.join(diff[:5])}{' ...' if len(diff) > 5 else ''})")
    if problems:
        raise Mismatch("the two runs did not test the same things: " + "; ".join(problems))


def _rise(now: dict, before: dict) -> tuple[float, float]:
    """The rise in risk and its one-sided p-value (Welch: the runs are independent)."""
    from scipy import stats

    change = now["risk"] - before["risk"]
    var = now["se"] ** 2 + before["se"] ** 2
    if var == 0:
        return change, 0.0 if change > 0 else 1.0
    denominator = sum(r["se"] ** 4 / (math.inf if r.get("df") is None else r["df"]) for r in (now, before))
    df = var ** 2 / denominator if denominator > 0 else math.inf  # Welch-Satterthwaite
    return change, float(stats.t.sf(change / math.sqrt(var), df))


def compare(current: dict, baseline: dict, tolerance: float, alpha: float) -> list[dict]:
    """One row per variant × (overall, each factor): both risks, the rise, its adjusted p, the status."""
    from augaudit.risk import adjust

    check_comparable(current, baseline)
    rows = []
    for variant, m in sorted(current.items()):
        rows_of = [("overall", m["risk"], baseline[variant]["risk"])]
        rows_of += [(f, r, baseline[variant]["risk_by_factor"][f]) for f, r in sorted(m["risk_by_factor"].items())]
        for factor, now, before in rows_of:
            change, p = _rise(now, before)
            rows.append({"variant": variant, "factor": factor, "baseline": before["risk"], "current": now["risk"],
                         "change": change, "p": p})
    for row, p in zip(rows, adjust([r["p"] for r in rows], "holm"), strict=True):
        row["p_adjusted"] = p
        above, significant = row["change"] > tolerance, p < alpha
        row["status"] = ("REGRESSED" if above and significant else
                         "rise within noise" if above else "ok")
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'variant':<14} {'factor':<12} {'baseline':>8} {'current':>8} {'change':>7} {'p (Holm)':>9}  status"]
    lines += [f"{r['variant']:<14} {r['factor']:<12} {r['baseline']:>8.1f} {r['current']:>8.1f} {r['change']:>+7.1f} "
              f"{p_value(r['p_adjusted']):>9}  {r['status']}" for r in rows]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", default=METRICS, help=f"current metrics (default {METRICS})")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--baseline", help="baseline metrics.json file")
    source.add_argument("--baseline-rev", help="git revision whose metrics file is the baseline")
    p.add_argument("--tolerance", type=_tolerance, default=2.0, help="allowed rise in risk, percentage points")
    p.add_argument("--alpha", type=_alpha, default=0.05, help="significance level of a rise, Holm over all rows")


def command(args: argparse.Namespace) -> int:
    try:
        current = read_metrics(Path(args.metrics).read_text(), args.metrics)
        baseline = load_baseline(args.baseline, args.baseline_rev, args.metrics)
        rows = compare(current, baseline, args.tolerance, args.alpha)
    except Exception as e:  # missing file, bad JSON, unknown revision, runs not comparable: say which
        from augaudit.cli import error_line

        print(f"error: {error_line(e)}", file=sys.stderr)
        return 2
    print(format_table(rows))
    regressed = [r for r in rows if r["status"] == "REGRESSED"]
    print(f"{len(regressed)} regression(s): a significant rise (p < {args.alpha:g}, Holm) beyond "
          f"{args.tolerance:g} percentage points")
    return 1 if regressed else 0
