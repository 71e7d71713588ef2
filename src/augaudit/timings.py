"""Where a Snakemake run's time went, per stage: `augaudit profile` (`make profile`).

Every rule writes a Snakemake `benchmark:` file (logs/benchmark/<rule>/...tsv: wall seconds, peak
memory, CPU time); this sums them per stage. The stage's job count, wall time (total, mean, longest),
its share of all job time and its peak resident memory; and, from the last line every stage writes to
its log (logs/<rule>/....log: `timing: start-up S s, work W s`, augaudit.cli), the seconds its jobs
spent starting (the interpreter, imports, params, offline set-up) and working, and the share of their
wall time spent outside their own work (start-up and the shell around it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

BENCHMARKS = Path("logs/benchmark")
TIMING = re.compile(r"^timing: start-up ([0-9.]+) s, work ([0-9.]+) s$", re.MULTILINE)
COLUMNS = ["stage", "job", "seconds", "max_rss", "cpu_time", "startup_s", "work_s"]


def split_text(text: str) -> tuple[float, float]:
    """(start-up, work) seconds from a job's log text: its last timing line; NaN when there is none (a
    job that failed, or a log from before the line existed)."""
    found = TIMING.findall(text)
    return (float(found[-1][0]), float(found[-1][1])) if found else (float("nan"), float("nan"))


def split(log: Path) -> tuple[float, float]:
    try:
        return split_text(log.read_text(errors="replace"))
    except OSError:
        return float("nan"), float("nan")


def collect(root: Path = BENCHMARKS) -> pd.DataFrame:
    """One row per job: stage, job (its wildcards), seconds, max_rss (MB), cpu_time, and the start-up
    and work seconds of the job's log beside the benchmark folder (logs/<job>.log)."""
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        rel = tsv.relative_to(root).with_suffix("")
        t = pd.read_csv(tsv, sep="\t").iloc[-1]
        startup, work = split(root.parent / rel.with_suffix(".log"))
        rows.append({"stage": rel.parts[0], "job": rel.as_posix(), "seconds": t["s"], "max_rss": t["max_rss"],
                     "cpu_time": t["cpu_time"], "startup_s": startup, "work_s": work})
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(jobs: pd.DataFrame) -> pd.DataFrame:
    g = jobs.groupby("stage")
    out = pd.DataFrame({"jobs": g.size(), "total_s": g["seconds"].sum(), "mean_s": g["seconds"].mean(),
                        "max_s": g["seconds"].max(), "cpu_s": g["cpu_time"].sum(), "peak_mb": g["max_rss"].max(),
                        "startup_s": g["startup_s"].sum(min_count=1), "work_s": g["work_s"].sum(min_count=1)})
    out["share_%"] = 100 * out["total_s"] / out["total_s"].sum()
    out["outside_%"] = 100 * (1 - out["work_s"] / out["total_s"])  # of the benchmark's wall time: start-up + shell
    return out.sort_values("total_s", ascending=False)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help=f"folder of benchmark files ({BENCHMARKS})")


def command(args: argparse.Namespace) -> int:
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
