"""Regression gate for CI: fail when overall or any factor's risk rises beyond a tolerance.

`dvc metrics diff` shows changes but has no tolerance; this command compares the compare stage's
metrics.json with a baseline — a file, or the same file at a git revision (read through DVC, so
a DVC-tracked metrics file at an old commit works) — prints a short table and exits 1 on a
regression, 2 on unusable input, 0 otherwise.

    augaudit-gate --baseline-rev main --tolerance 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

METRICS = "results/summary/metrics.json"


def load_baseline(path: str | None, rev: str | None, target: str) -> dict:
    if path:
        return json.loads(Path(path).read_text())
    import dvc.api

    return json.loads(dvc.api.read(target, rev=rev, repo="."))


def compare(current: dict, baseline: dict, tolerance: float) -> list[dict]:
    """One row per variant × (overall, each factor): baseline and current risk, change, status."""
    rows = []
    for variant, m in sorted(current.items()):
        base = baseline.get(variant)
        scopes = [("overall", m["risk"], base and base["risk"])]
        scopes += [(f, r, base and base["risk_by_factor"].get(f)) for f, r in sorted(m["risk_by_factor"].items())]
        for scope, now, before in scopes:
            if before is None:
                rows.append({"variant": variant, "scope": scope, "baseline": None, "current": now["risk"],
                             "change": None, "status": "new"})
                continue
            change = now["risk"] - before["risk"]
            rows.append({"variant": variant, "scope": scope, "baseline": before["risk"], "current": now["risk"],
                         "change": change, "status": "REGRESSED" if change > tolerance else "ok"})
    return rows


def format_table(rows: list[dict]) -> str:
    def num(v, sign=False):
        return "-" if v is None else (f"{v:+.1f}" if sign else f"{v:.1f}")

    lines = [f"{'variant':<14} {'scope':<12} {'baseline':>8} {'current':>8} {'change':>7}  status"]
    lines += [f"{r['variant']:<14} {r['scope']:<12} {num(r['baseline']):>8} {num(r['current']):>8} "
              f"{num(r['change'], True):>7}  {r['status']}" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metrics", default=METRICS, help=f"current metrics (default {METRICS})")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--baseline", help="baseline metrics.json file")
    source.add_argument("--baseline-rev", help="git revision whose metrics file is the baseline")
    p.add_argument("--tolerance", type=float, default=2.0, help="allowed rise in risk, percentage points")
    args = p.parse_args(argv)
    try:
        current = json.loads(Path(args.metrics).read_text())
        baseline = load_baseline(args.baseline, args.baseline_rev, args.metrics)
    except Exception as e:  # missing file, bad JSON, unknown revision: say which, do not pass silently
        print(f"error: cannot read metrics: {e}", file=sys.stderr)
        return 2
    rows = compare(current, baseline, args.tolerance)
    print(format_table(rows))
    regressed = [r for r in rows if r["status"] == "REGRESSED"]
    print(f"{len(regressed)} regression(s) beyond {args.tolerance:g} percentage points")
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())
