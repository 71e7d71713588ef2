"""A/A calibration of the audit: how often does it find an effect where there is none? (docs/risk.md)

Trains `--seeds` replicates (default 6) of the default's `baseline` (recipe `none`) and 3 of `mixed`
on the default data, through the real workflow (`snakemake --cores all` in `benchmarks/out/aa/`, a
copy of the project's code, refreshed on every run and imported from there, so editing the
checkout during a run changes nothing). Snakemake reuses what is up to date: a second run computes
only the tables; after an edit of the code it re-runs what that code feeds (the training code: every
model). Then it prints, over the default's 18 comparisons (8 factors, 10 perturbations):

1. the OLD method (image-only paired bootstrap on every image, no multiplicity control) on every pair
   of single seeds: the share of comparisons with a verdict other than `no effect` — all false;
2. the NEW method (risk.estimate: images + seeds, images both arms can break, Holm) on every split
   of the seeds into two arms of 3, and on every pair of single seeds (k = 1: provisional verdicts);
3. the NEW method on a real difference: `mixed` (3 seeds) against `baseline` (seeds r0-r2), on the
   factors `mixed` targets (blur, noise, lighting), and where an effect is not detected, how many
   replicates per arm or test images would detect an effect of the size seen (80 % power, Holm's
   first step over the family).

Run from the repository root (about 35-40 minutes on 2 cores the first time, seconds after):

    .venv/bin/python benchmarks/aa_calibration.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from augaudit import risk
from augaudit.stages import compare

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "out" / "aa"
PROJECT_FILES = ["Snakefile", "workflow", "scripts", "src", "models"]
TARGETED = ("blur", "noise", "lighting")


def prepare(seeds: int) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["variants"] = {
        "baseline": {**params["variants"]["baseline"], "train": {"replicates": seeds}},
        "mixed": {**params["variants"]["mixed"], "train": {"replicates": 3}},
    }
    WORK.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.rmtree(WORK / name, ignore_errors=True)
            shutil.copytree(src, WORK / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, WORK / name)
    (WORK / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def load(variant: str) -> tuple[pd.DataFrame, dict]:
    folder = WORK / "results" / "scores" / variant
    tests = json.loads((folder / "metrics.json").read_text())["tests"]
    return pd.read_parquet(folder / "per_image.parquet"), {r: m["clean"]["map50"] for r, m in tests.items()}


def arm(table: pd.DataFrame, replicates: list[str], name: str) -> pd.DataFrame:
    return table[table["replicate"].isin(replicates)].assign(variant=name)


def old_verdicts(a: pd.DataFrame, b: pd.DataFrame, n_resamples: int, seed: int) -> list[str]:
    """The method before this benchmark: per factor and perturbation, the paired per-image difference
    over every image, a 95 % percentile bootstrap over images, 'helped'/'backfired' when it excludes 0."""
    out = []
    for level in ("factor", "perturbation"):
        pa, pb = a[a["test"] != "clean"], b[b["test"] != "clean"]
        for key, g in pa.groupby(level, sort=True):
            diff = (risk.rates(g).iloc[:, 0] - risk.rates(pb[pb[level] == key]).iloc[:, 0]).to_numpy()
            if np.all(diff == diff[0]):
                out.append("no effect")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ci = stats.bootstrap((diff,), np.mean, n_resamples=n_resamples, method="percentile",
                                     rng=np.random.default_rng(seed)).confidence_interval
            out.append("helped" if ci.high < 0 else "backfired" if ci.low > 0 else "no effect")
    return out


def new_audit(params: dict, a: pd.DataFrame, b: pd.DataFrame, maps: tuple[float, float]) -> dict:
    p = {**params, "variants": {"b": {"init": "models/yolov8n.yaml", "recipe": "none"},
                                "a": {"init": "models/yolov8n.yaml", "recipe": "mixed", "baseline": "b"}}}
    return compare.audit(p, {"a": a, "b": b}, {"a": {"map50_clean": maps[0]}, "b": {"map50_clean": maps[1]}})


def share(verdicts: list[str]) -> str:
    wrong = sum(v != "no effect" for v in verdicts)
    return f"{wrong} of {len(verdicts)} ({100 * wrong / len(verdicts):.1f} %)"


def power(delta: float, a: np.ndarray, b: np.ndarray, family: int, alpha: float) -> str:
    """Replicates per arm (images fixed) and images (replicates fixed) that would detect an effect of
    the size seen with 80 % power at Holm's first step (alpha / family), from this experiment's variance
    components, with the audit's own standard error and Welch-Satterthwaite degrees of freedom."""
    n, k = a.shape[0], a.shape[1]
    v_img = 1e4 * (a.mean(1) - b.mean(1)).var(ddof=1)                   # per-image differences, pp^2
    v_seeds = [1e4 * x.mean(0).var(ddof=1) for x in (a, b)]              # each arm's replicate risks, pp^2

    def detectable(kk: int, nn: int) -> bool:
        terms = [(v_img / nn, nn - 1)] + [(v / kk, kk - 1) for v in v_seeds]
        var = sum(t for t, _ in terms)
        df = var ** 2 / sum(t ** 2 / d for t, d in terms)
        q = stats.t.ppf(1 - alpha / family / 2, df) + stats.t.ppf(0.8, df)
        return abs(delta) / math.sqrt(var) >= q

    ks = next((kk for kk in range(2, 201) if detectable(kk, n)), None)
    ns = next((nn for nn in range(n, 100 * n + 1, 10) if detectable(k, nn)), None)
    return (f"effect {abs(delta):.1f} pp; seed SD {math.sqrt(np.mean(v_seeds)):.1f} pp per replicate, per-image SD "
            f"{math.sqrt(v_img):.1f} pp: {ks or '>200'} replicates per arm at {n} images, or "
            f"{ns or f'>{100 * n}'} images at {k} replicates")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=6, help="replicates of the A/A recipe (>= 6)")
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    params = prepare(args.seeds)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORK / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(["snakemake", "--cores", args.cores, "--quiet", "progress"], cwd=WORK, check=True, env=env)
    base, base_maps = load("baseline")
    mixed, mixed_maps = load("mixed")
    seeds = sorted(base["replicate"].unique(), key=lambda r: int(r[1:]))
    c = params["compare"]
    alpha = 1 - c["confidence"]

    print(f"# A/A calibration on the default data: {len(seeds)} seeds of recipe `none` ({', '.join(seeds)}), "
          f"{base['image_id'].nunique()} test images, {base[base.test != 'clean'].test.nunique()} tests\n")
    print("clean mAP50 per seed: " + ", ".join(f"{r} {base_maps[r]:.3f}" for r in seeds) + "\n")
    print("| method | arms | comparisons | verdicts other than `no effect` (all false) |")
    print("| --- | --- | --- | --- |")
    old, new1 = [], []
    for i, j in itertools.combinations(seeds, 2):
        a, b = arm(base, [i], "a"), arm(base, [j], "b")
        old += old_verdicts(a, b, c["bootstrap"], 0)
        new1 += [r["verdict"] for r in new_audit(params, a, b, (base_maps[i], base_maps[j]))["rows"]]
    pairs = len(list(itertools.combinations(seeds, 2)))
    print(f"| old: image bootstrap, every image, no multiplicity control | 1 seed vs 1 ({pairs} pairs) | "
          f"{len(old)} | {share(old)} |")
    print(f"| new, one replicate per arm (provisional: seeds not covered) | 1 seed vs 1 ({pairs} pairs) | "
          f"{len(new1)} | {share(new1)} |")
    new3 = []
    splits = [s for s in itertools.combinations(seeds, 3) if seeds[0] in s]  # each split once
    for left in splits:
        right = [s for s in seeds if s not in left]
        maps = (float(np.mean([base_maps[r] for r in left])), float(np.mean([base_maps[r] for r in right])))
        new3 += [r["verdict"] for r in new_audit(params, arm(base, list(left), "a"), arm(base, right, "b"),
                                                 maps)["rows"]]
    print(f"| new: images + seeds, breakable by both, {c['multiplicity']} | 3 seeds vs 3 ({len(splits)} splits) | "
          f"{len(new3)} | {share(new3)} |\n")

    three = seeds[:3]
    a, b = arm(mixed, sorted(mixed["replicate"].unique()), "a"), arm(base, three, "b")
    result = new_audit(params, a, b, (float(np.mean(list(mixed_maps.values()))),
                                      float(np.mean([base_maps[r] for r in three]))))
    info = result["variants"]["a"]
    print(f"# A real difference: `mixed` (3 seeds) vs `baseline` ({', '.join(three)}); clean mAP50 change "
          f"{info['map50_clean_change']:+.3f}; {info['n_images']} images both can break; "
          f"{c['multiplicity']} over {info['family_size']} comparisons\n")
    print("| factor | targeted | Δ risk pp [95 % CI] | p | p adjusted | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    undetected = []
    for r in result["rows"]:
        if r["level"] != "factor":
            continue
        print(f"| {r['name']} | {'yes' if r['targeted'] else 'no'} | {r['difference']:+.1f} [{r['low']:+.1f}, "
              f"{r['high']:+.1f}] | {r['p_value']:.3g} | {r['p_adjusted']:.3g} | {r['verdict']} |")
        if r["name"] in TARGETED and r["verdict"] == "no effect":
            undetected.append(r)
    if undetected:
        print("\n# Power: what would detect the effects seen\n")
        drop = params["score"]["break_drop"]
        support = risk.breakable(a, drop).intersection(risk.breakable(b, drop))
        for r in undetected:
            ga = a[(a.factor == r["name"]) & a.image_id.isin(support)]
            gb = b[(b.factor == r["name"]) & b.image_id.isin(support)]
            ra = risk.rates(ga)
            rb = risk.rates(gb).reindex(ra.index)
            print(f"- {r['name']}: " + power(r["difference"], ra.to_numpy(float), rb.to_numpy(float),
                                             info["family_size"], alpha))
    return 0


if __name__ == "__main__":
    sys.exit(main())
