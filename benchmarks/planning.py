"""How long do the engines take to *plan* a large study? (docs/reproducibility.md)

Generates a params.yaml with `--variants` variants (default 10: recipes none/mixed/flips, every
third one warm-started from the one before it) × `--perturbations` perturbations (default 30, the
first ones of `augaudit.perturbations.CATALOGUE` in sorted order whose ladder has at least
`--severities` levels) × `--severities` severities (default 5), in a temporary copy of the project
(code and workflow files only, like tests/conftest.py `make_project`: its own git and DVC), and
times, `--repeat` times each, on the fresh project (nothing computed yet):

    snakemake -n        (parse the Snakefile, validate params.yaml, build and print the whole DAG)
    dvc status          (parse dvc.yaml, expand foreach/matrix, check every stage)

That is 10 × 30 × 5 = 1,500 (variant, perturbation, severity) tests; perturb and predict run one job
per perturbation with all its severities (README, design notes), so the DAG has
1 + 10 + 30 + 10 × 31 + 10 + 2 = 363 jobs in either engine.

Run from the repository root (offline; nothing is trained):

    .venv/bin/python benchmarks/planning.py                # add --profile to cProfile the Snakefile parse

Target: under 10 s each.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["Snakefile", "dvc.yaml", ".dvcignore", "workflow", "scripts", "src", "models"]
TARGET_S = 10.0
STAGE_LINE = re.compile(r"^\S.*:$", re.MULTILINE)  # `dvc status`: "<stage>:" then indented changes


def big_params(n_variants: int, n_perturbations: int, n_severities: int) -> tuple[dict, list[str]]:
    """The default params.yaml, widened to the requested study; also returns a note per shortfall."""
    from augaudit.perturbations import CATALOGUE

    notes = []
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    names = [n for n in sorted(CATALOGUE) if len(CATALOGUE[n].ladder) >= n_severities]
    if len(names) < n_perturbations:
        notes.append(f"only {len(names)} catalogue perturbations have a ladder of >= {n_severities} levels "
                     f"(of {len(CATALOGUE)} in all); using {len(names)}, not {n_perturbations}")
    names = names[:n_perturbations]
    params["perturbations"] = {n: {"severities": list(range(1, n_severities + 1))} for n in names}
    recipes = list(params["recipes"])
    variants = {}
    for i in range(n_variants):
        name = f"v{i:02d}"
        v = {"init": "models/yolov8n.yaml", "recipe": recipes[i % len(recipes)]}
        if i % 3 == 2:  # a warm-start chain, as `flips` warm-starts from `baseline`
            v = {"init": f"results/models/v{i - 1:02d}", "recipe": recipes[i % len(recipes)],
                 "train": {"epochs": 2, "lr0": 0.002}}
        if i:
            v["baseline"] = "v00"
        variants[name] = v
    params["variants"] = variants
    return params, notes


def make_project(dest: Path, params: dict) -> Path:
    dest.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (dest / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    env = engine_env()
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run(["dvc", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run(["dvc", "config", "core.analytics", "false"], cwd=dest, check=True, env=env)
    if (ROOT / ".dvc" / "plots").is_dir():
        shutil.copytree(ROOT / ".dvc" / "plots", dest / ".dvc" / "plots")
    return dest


def engine_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def timed(cmd: list[str], cwd: Path, repeat: int) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=engine_env(), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t)
        out = r.stdout + r.stderr
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{out[-3000:]}")
    return times, out


def profile_snakefile(project: Path, top: int) -> None:
    """cProfile `snakemake -n` in-process, cumulative time, our files and the heaviest calls."""
    prof = project / "snakemake.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "snakemake", "-n"],
                   cwd=project, env=engine_env(), capture_output=True, check=True)
    stats = pstats.Stats(str(prof))
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=10)
    ap.add_argument("--perturbations", type=int, default=30)
    ap.add_argument("--severities", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="timings per command (the median is compared)")
    ap.add_argument("--profile", action="store_true", help="also cProfile `snakemake -n`")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project and print its path")
    args = ap.parse_args()

    params, notes = big_params(args.variants, args.perturbations, args.severities)
    n_v, n_p = len(params["variants"]), len(params["perturbations"])
    tests = n_v * sum(len(p["severities"]) for p in params["perturbations"].values())
    tmp = Path(tempfile.mkdtemp(prefix="augaudit-planning-"))
    try:
        project = make_project(tmp / "project", params)
        print(f"project: {n_v} variants x {n_p} perturbations x {args.severities} severities = {tests} tests "
              f"({project})")
        for note in notes:
            print(f"note: {note}")
        failed = False
        for label, cmd in [("snakemake -n", ["snakemake", "-n"]), ("dvc status", ["dvc", "status"])]:
            times, out = timed(cmd, project, args.repeat)
            if cmd[0] == "snakemake":
                m = re.search(r"^total\s+(\d+)", out, re.MULTILINE)
                jobs = f"{m.group(1)} jobs" if m else "jobs: ?"
            else:
                jobs = f"{len(STAGE_LINE.findall(out))} stages reported changed"
            med = statistics.median(times)
            failed |= med >= TARGET_S
            print(f"{label:<14} {med:6.2f} s median of {', '.join(f'{t:.2f}' for t in times)}  ({jobs})  "
                  f"{'OK' if med < TARGET_S else 'OVER'} (target < {TARGET_S:.0f} s)")
        if args.profile:
            profile_snakefile(project, 40)
        if args.keep:
            print(f"kept: {project}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
