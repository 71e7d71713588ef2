"""Where a Snakemake run's time went, per stage: `make profile` (python -m augaudit.timings).

Every rule writes a Snakemake `benchmark:` file (logs/benchmark/<rule>/...tsv: wall seconds, peak
memory, CPU time); this sums them per stage. The stage's job count, wall time (total, mean, longest),
its share of all job time and its peak resident memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

BENCHMARKS = Path("logs/benchmark")


def collect(root: Path = BENCHMARKS) -> pd.DataFrame:
    """One row per job: stage, job (its wildcards), seconds, max_rss (MB), cpu_time."""
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        stage = tsv.relative_to(root).parts[0].removesuffix(".tsv")
        t = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append({"stage": stage, "job": tsv.relative_to(root).with_suffix("").as_posix(), "seconds": t["s"],
                     "max_rss": t["max_rss"], "cpu_time": t["cpu_time"]})
    return pd.DataFrame(rows, columns=["stage", "job", "seconds", "max_rss", "cpu_time"])


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    g = jobs.groupby("stage")
    out = pd.DataFrame({"jobs": g.size(), "total_s": g["seconds"].sum(), "mean_s": g["seconds"].mean(),
                        "max_s": g["seconds"].max(), "cpu_s": g["cpu_time"].sum(), "peak_mb": g["max_rss"].max()})
    out["share_%"] = 100 * out["total_s"] / out["total_s"].sum()
    return out.sort_values("total_s", ascending=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help=f"folder of benchmark files ({BENCHMARKS})")
    args = p.parse_args(argv)
    jobs = collect(args.benchmarks)
    if jobs.empty:
        print(f"error: no Snakemake benchmark files under {args.benchmarks}: run `snakemake --cores all` first",
              file=sys.stderr)
        return 2
    table = summary(jobs)
    print(table.to_string(float_format=lambda v: f"{v:.1f}"))
    print(f"\n{len(jobs)} jobs, {jobs['seconds'].sum():.0f} s of job wall time "
          f"(jobs in parallel overlap: the run's own wall time is shorter)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
