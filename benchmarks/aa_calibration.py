"""Calibration and power of the augmentation audit (docs/risk.md, "Calibration").

1. **Real runs.** Trains, through the real workflow (`snakemake` in `benchmarks/out/aa/`, a copy of the
   project's code refreshed on every run), the default data with 6 seeds of `baseline` (recipe `none`),
   6 of `mixed` and 3 of `noise_strong` (GaussNoise on 80 % of the images, a positive control whose
   effect on noise is certain). Seeds are paired: replicate rI of every variant has the same seed.
2. **Real A/A pairs from disjoint seed sets**: `baseline` r0-r2 against `baseline` r3-r5, and `mixed`
   r0-r2 against `mixed` r3-r5, audited as the audit audits (the shipped analysis pairs replicates by
   position; the seeds are independent, so every verdict is false); and the real positive controls:
   `mixed` and `noise_strong` against `baseline` r0-r2 (3 seeds per arm, shipped and unpaired analysis),
   `mixed` against `baseline` at 4 and 6 seeds (shipped analysis).
3. **Variance components** of each recipe (images x seeds x tests), fitted to its 6 seeds on the images
   every replicate can break: per perturbation the seed and interaction variances (two-way ANOVA),
   the seeds' correlation across perturbations, and the between-arm seed correlation that pairing buys
   (`mixed` rI against `baseline` rI).
4. **Simulation** of `--experiments` A/A experiments per scenario with the audit's real row structure
   (the default's 10 perturbations and 8 factors, factor rows aggregated from perturbation rows,
   duplicates, primary and secondary hypotheses, weighted Holm): images resampled from the real ones,
   each with its real broken rates, real residuals, seed effects drawn from the fitted components;
   scenarios `none` and `mixed` components; `unequal seed variances`: a null in which the recipes differ
   in how much the seed moves the risk, not in the mean (arm a with `mixed`'s seed components, arm b with
   `none`'s); and `heavy`: one bad training run (a seed effect of 4 SD in one replicate of one arm). It
   prints the raw p-values' uniformity (Kolmogorov-Smirnov), the per-comparison false rate at the nominal
   5 % with its 95 % Clopper-Pearson interval, the per-family rate (any false verdict after the
   multiplicity correction), then power against replicates and effect size for a targeted (primary)
   factor — for each analysis: paired or unpaired seeds, each arm's seed variance or one pooled over
   both (Student), with or without empirical-Bayes variance moderation, degrees of freedom from every
   mean square or from the seed terms alone (Hillis); `--analyses` limits the simulation to some of
   them. The shipped analysis (paired by seed, unmoderated, every mean square: audit.audit on two
   trained arms with equal replicate counts) is marked; every analysis is calibrated at 2, 3 and 4 seeds.

Run from the repository root (about 25 minutes on 2 cores the first time, 9 more for the analysis;
`--no-workflow` analyses the models already there):

    .venv/bin/python benchmarks/aa_calibration.py [--experiments 2000] [--no-workflow]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from augaudit import audit as audit_lib
from augaudit import perturbations, risk

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "out" / "aa"
PROJECT_FILES = ["Snakefile", "workflow", "scripts", "src", "models"]
NOISE_STRONG = {"targets": ["noise"], "albumentations": [{"transform": "GaussNoise", "p": 0.8,
                                                           "std_range": [0.05, 0.4]}]}
SHIPPED = "paired (shipped)"  # what audit.audit does with paired arms: per-replicate differences, one seed term
ANALYSES = {  # (paired, moderated, pooled, seed df): every analysis measured; the shipped one is audit.audit's
    SHIPPED: (True, False, False, False), "unpaired (Welch)": (False, False, False, False),
    "unpaired, df from the seed terms (Hillis)": (False, False, False, True),
    "unpaired, pooled seed variance (Student)": (False, False, True, False),
    "unpaired + moderated": (False, True, False, False), "paired + moderated": (True, True, False, False)}


def prepare() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["recipes"]["noise_strong"] = NOISE_STRONG
    base = params["variants"]["baseline"]
    params["variants"] = {
        "baseline": {**base, "train": {"replicates": 6}},
        "mixed": {**params["variants"]["mixed"], "train": {"replicates": 6}},
        "noise_strong": {"init": base["init"], "recipe": "noise_strong", "baseline": "baseline",
                         "train": {"replicates": 3}},
    }
    WORK.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        sync(ROOT / name, WORK / name)
    (WORK / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def sync(src: Path, dst: Path) -> None:
    """Make `dst` a copy of `src`, writing only files whose bytes differ (so, as after an edit of the
    checkout, their modification time is now and Snakemake re-runs what they feed) and removing the rest."""
    files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                                         and not any(x.endswith(".egg-info") for x in p.parts)]
    wanted = set()
    for f in files:
        target = dst / f.relative_to(src) if src.is_dir() else dst
        wanted.add(target)
        if not target.is_file() or target.read_bytes() != f.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    if src.is_dir():
        for old in [p for p in dst.rglob("*") if p.is_file() and p not in wanted and "__pycache__" not in p.parts]:
            old.unlink()


def load(variant: str) -> tuple[pd.DataFrame, dict]:
    folder = WORK / "results" / "scores" / variant
    tests = json.loads((folder / "metrics.json").read_text())["tests"]
    return pd.read_parquet(folder / "per_image.parquet"), tests


def arm(table: pd.DataFrame, replicates: list[str]) -> pd.DataFrame:
    """Some replicates of a variant, renamed r0.. in order (the audit pairs replicates by name)."""
    rename = {r: f"r{i}" for i, r in enumerate(replicates)}
    return table[table["replicate"].isin(replicates)].assign(replicate=lambda t: t["replicate"].map(rename))


def clean_of(tests: dict, replicates: list[str]) -> dict:
    return {"map50": [tests[r]["clean"]["map50"] for r in replicates],
            "jackknife": [tests[r]["clean"]["jackknife_map50"] for r in replicates]}


def audit(params: dict, a: pd.DataFrame, b: pd.DataFrame, clean: tuple[dict, dict], recipe: str,
          paired: bool = True) -> dict:
    """augaudit.audit.audit on two arms: `a` (recipe `recipe`) against `b`, seeds paired or not."""
    p = {**params, "variants": {"b": {"init": "models/yolov8n.yaml", "recipe": "none"},
                                "a": {"init": "models/yolov8n.yaml", "recipe": recipe, "baseline": "b"}}}
    return audit_lib.audit(p, {"a": a, "b": b}, {"a": clean[0], "b": clean[1]}, paired=None if paired else False)


def show_audit(title: str, result: dict, seeds: str = "paired in training") -> None:
    info = result["variants"]["a"]
    print(f"\n### {title}\n")
    print(f"{info['n_images']} images both arms can break; {info['family_size']} distinct hypotheses; seeds "
          f"{seeds}; between-arm correlation of replicate risks "
          f"{_f(info['seed_correlation'], 2)}; clean mAP50 change {info['map50_clean_change']:+.3f} "
          f"[{_f(info['map50_clean_low'], 3)}, {_f(info['map50_clean_high'], 3)}]\n")
    print("| row | role | Δ risk pp [95 % CI] | p | p adjusted | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in result["rows"]:
        print(f"| {r['level']} {r['name']} | {r['role']} | {r['difference']:+.1f} [{_f(r['low'])}, {_f(r['high'])}] | "
              f"{_f(r['p_value'], 3)} | {_f(r['p_adjusted'], 3)} | {r['verdict']} |")


def _f(v, digits: int = 1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


# ------------------------------------------------------------------ variance components

def rates(table: pd.DataFrame, images: pd.Index, names: list[str]) -> np.ndarray:
    """images x replicates x perturbations: each image's broken rate over a perturbation's severities."""
    t = table[(table["test"] != "clean") & table["image_id"].isin(images)]
    out = t.pivot_table(index="image_id", columns=["perturbation", "replicate"], values="broken", aggfunc="mean",
                        observed=True)
    reps = sorted(t["replicate"].unique(), key=lambda r: int(r[1:]))
    return np.stack([out[p][reps].to_numpy(float) for p in names], axis=2)


def components(x: np.ndarray) -> dict:
    """Per perturbation: seed variance, interaction variance (two-way ANOVA, unbiased), the image means,
    the residuals (rescaled to the interaction's variance) and the seeds' correlation across perturbations."""
    n, k, m = x.shape
    seed_var, resid_var, resid = np.zeros(m), np.zeros(m), np.zeros_like(x)
    for j in range(m):
        _, ms_s, ms_e = risk.mean_squares(x[:, :, j])
        seed_var[j], resid_var[j] = max(0.0, (ms_s - ms_e) / n), ms_e
        rows, cols = x[:, :, j].mean(1), x[:, :, j].mean(0)
        resid[:, :, j] = (x[:, :, j] - rows[:, None] - cols[None, :] + x[:, :, j].mean()) * math.sqrt(
            n * k / ((n - 1) * (k - 1)))
    cols = x.mean(axis=0)                                    # k x m replicate risks
    corr = np.corrcoef(cols.T)
    off = corr[~np.eye(m, dtype=bool)]
    return {"seed_var": seed_var, "resid_var": resid_var, "means": x.mean(axis=1), "resid": resid,
            "seed_corr": float(np.nanmean(off))}


def between_arm_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Replicate rI of two recipes trained with one seed: the correlation of their replicate risks, pooled
    over perturbations (each centred)."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    ca, cb = ca - ca.mean(axis=0), cb - cb.mean(axis=0)
    return float((ca * cb).sum() / math.sqrt((ca ** 2).sum() * (cb ** 2).sum()))


def statistics(params: dict, arms: list[tuple[str, pd.DataFrame, list[str]]], base: pd.DataFrame) -> None:
    """The real positive controls under two statistics: the broken rate (what the audit tests) and the
    mean per-image F1 drop from the image's clean F1 (a less noisy candidate: no threshold). Per factor,
    the shipped analysis's t = difference / standard error: the statistic with the larger |t| on real
    effects has the more power."""
    drop = params["score"]["break_drop"]

    def with_drop(t: pd.DataFrame) -> pd.DataFrame:
        clean = t[t["test"] == "clean"][["replicate", "image_id", "f1"]].rename(columns={"f1": "clean_f1"})
        t = t.merge(clean, on=["replicate", "image_id"])
        return t.assign(f1_drop=t["clean_f1"] - t["f1"], broken=t["broken"].astype(float))

    print("\n## Statistic: broken rate against mean per-image F1 drop (real controls, shipped analysis; "
          "t = difference / SE)\n")
    print("| control | factor | broken rate: Δ pp (t, df) | F1 drop: Δ pp (t, df) |")
    print("| --- | --- | --- | --- |")
    for title, table, reps in arms:
        a, b = with_drop(table[table["replicate"].isin(reps)]), with_drop(base[base["replicate"].isin(reps)])
        support = risk.breakable(a, drop).intersection(risk.breakable(b, drop))
        for factor in sorted(a.loc[a["test"] != "clean", "factor"].unique()):
            cells = []
            for column in ("broken", "f1_drop"):
                ta = risk.rates(a[(a["factor"] == factor) & a["image_id"].isin(support)], column)
                tb = risk.rates(b[(b["factor"] == factor) & b["image_id"].isin(support)], column).reindex(ta.index)
                e = risk.estimate(ta.to_numpy(float), tb.to_numpy(float))
                cells.append(f"{e.value:+.1f} ({e.value / e.se:+.2f}, {e.df:.1f})" if e.assessable
                             else f"{e.value:+.1f} (no variation)")
            print(f"| {title} | {factor} | " + " | ".join(cells) + " |")


# ------------------------------------------------------------------ simulation with the audit's rows

class Structure:
    """The default's hypotheses, built as the audit builds them: factor rows aggregate their perturbations'
    tests (weighted by severities), perturbations alone in their factor repeat the factor's row."""

    def __init__(self, params: dict, names: list[str], targets: list[str]):
        sev = np.array([len(params["perturbations"][p]["severities"]) for p in names], float)
        factors = sorted({perturbations.CATALOGUE[p].factor for p in names})
        self.rows = []  # (name, role, weights over perturbations)
        for f in factors:
            w = np.array([s if perturbations.CATALOGUE[p].factor == f else 0.0 for p, s in zip(names, sev,
                                                                                                strict=True)])
            self.rows.append((f, "primary" if f in targets else "secondary", w / w.sum()))
        for j, p in enumerate(names):
            f = perturbations.CATALOGUE[p].factor
            if sum(perturbations.CATALOGUE[q].factor == f for q in names) > 1:
                w = np.zeros(len(names))
                w[j] = 1.0
                self.rows.append((p, "secondary", w))
        self.weights = audit_lib._weights([r[1] for r in self.rows], 0.8)
        self.primary = [i for i, r in enumerate(self.rows) if r[1] == "primary"]

    def test(self, a: np.ndarray, b: np.ndarray, analysis: tuple[bool, bool, bool]) -> tuple[np.ndarray, np.ndarray]:
        """Raw and weighted-Holm-adjusted p-values of every distinct hypothesis."""
        paired, moderated, pooled, seed_df = analysis
        est = [risk.estimate(a @ w, b @ w, paired=paired) for _, _, w in self.rows]
        if pooled:
            est = [pool(e) for e in est]
        if seed_df:
            est = [hillis(e) for e in est]
        if moderated:
            est = risk.moderate(est)
        raw = np.array([e.p_value() for e in est])
        return raw, np.array(risk.adjust(list(raw), "holm", self.weights))


def pool(e: risk.Estimate) -> risk.Estimate:
    """The two arms' seed terms pooled into one (Student's pooled variance, ka + kb - 2 degrees of
    freedom): the same standard error as Welch's at equal replicate counts, more degrees of freedom, valid
    only when the recipes leave the seed variance alike."""
    if len(e.seeds) != 2:
        return e
    (va, da), (vb, db) = e.seeds
    ka, kb = da + 1, db + 1
    pooled = (da * va * ka + db * vb * kb) / (da + db)
    return risk._combine(e.value, list(e.image_terms), [(pooled * (1 / ka + 1 / kb), da + db)], 2,
                         e.seed_covered, e.paired, 1.0)


def hillis(e: risk.Estimate) -> risk.Estimate:
    """The same standard error, Satterthwaite degrees of freedom over the seed terms alone: the image term
    counted as known (Hillis 2007's ddf_H, there for one reader term, here Welch's over the two arms)."""
    seed = [(t, d) for t, d in e.seeds if t > 0]
    if not e.assessable or not seed:
        return e
    return risk.Estimate(e.value, e.se, e.se ** 2 / sum(t ** 2 / d for t, d in seed), e.seed_covered, e.paired,
                         e.seeds, e.image_terms)


def simulate(c: dict, n: int, k: int, rng: np.random.Generator, rho: float, effect: np.ndarray | None = None,
             heavy: bool = False, seeds_a: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two arms (images x replicates x perturbations) from fitted components: resampled images with their
    real broken rates and residuals, seed effects per perturbation correlated across perturbations as
    measured, shared between the arms with correlation `rho` (paired seeds). `seeds_a`: arm a's seed
    components from another recipe (a null where the recipes differ in seed variance, not in mean)."""
    m = c["means"].shape[1]
    images = rng.integers(0, c["means"].shape[0], n)

    def seeds(comp: dict) -> np.ndarray:
        common = rng.normal(size=(k, 1))
        own = rng.normal(size=(k, m))
        r = max(comp["seed_corr"], 0.0)
        return (math.sqrt(r) * common + math.sqrt(1 - r) * own) * np.sqrt(comp["seed_var"])

    sa = seeds(seeds_a or c)
    sb = math.sqrt(rho) * sa + math.sqrt(1 - rho) * seeds(c)
    if heavy:
        sb[0] += 4 * np.sqrt(c["seed_var"])

    def noise() -> np.ndarray:
        cells = rng.integers(0, c["resid"].shape[1], (n, k))
        return c["resid"][images[:, None], cells]

    base = c["means"][images][:, None, :]
    a = base + sa[None] + noise() + (0 if effect is None else effect[None, None, :])
    b = base + sb[None] + noise()
    return a, b


def clopper(x: int, n: int) -> tuple[float, float]:
    lo = stats.beta.ppf(0.025, x, n - x + 1) if x else 0.0
    hi = stats.beta.ppf(0.975, x + 1, n - x) if x < n else 1.0
    return float(lo), float(hi)


def calibration(structure: Structure, scenarios: dict, n: int, experiments: int, seed: int,
                analyses: list[str]) -> None:
    """Every analysis at 2, 3 and 4 seeds per arm."""
    print(f"\n## Simulated A/A experiments: {experiments} per scenario, {n} images, "
          f"{len(structure.rows)} distinct hypotheses ({len(structure.primary)} primary), weighted Holm\n")
    print("| scenario | analysis | seeds per arm | raw p uniform (KS p) | false rate at 5 % per comparison "
          "[95 % CI] | per family after correction [95 % CI] |")
    print("| --- | --- | --- | --- | --- | --- |")
    runs = [(label, k) for label in analyses for k in (2, 3, 4)]
    for name, (comp, rho, heavy, seeds_a) in scenarios.items():
        for label, k in runs:
            rng = np.random.default_rng(seed)
            raws, family = [], 0
            for _ in range(experiments):
                raw, adj = structure.test(*simulate(comp, n, k, rng, rho, heavy=heavy, seeds_a=seeds_a),
                                          ANALYSES[label])
                raws.append(raw)
                family += bool(np.nanmin(adj) < 0.05)
            raw = np.concatenate(raws)
            raw = raw[~np.isnan(raw)]
            hits = int((raw < 0.05).sum())
            lo, hi = clopper(hits, len(raw))
            flo, fhi = clopper(family, experiments)
            ks = stats.kstest(raw, "uniform").pvalue
            print(f"| {name} | {label} | {k} | {ks:.3g} | {100 * hits / len(raw):.1f} % [{100 * lo:.1f}, "
                  f"{100 * hi:.1f}] | {100 * family / experiments:.1f} % [{100 * flo:.1f}, {100 * fhi:.1f}] |")


def power(structure: Structure, comp: dict, rho: float, n: int, experiments: int, seed: int,
          analyses: list[str]) -> None:
    """Share of experiments in which a targeted factor with a true effect is significant after the
    correction, against replicates per arm and effect size (a fall in risk on every perturbation of it)."""
    target = structure.rows[structure.primary[0]]
    print(f"\n## Power: a true fall in risk on `{target[0]}` (a primary hypothesis), {n} images, "
          f"{experiments} experiments per cell [95 % CI], between-arm seed correlation {rho:.2f}\n")
    effects = [5, 10, 15, 20]
    print("| analysis | seeds per arm | " + " | ".join(f"{e} pp" for e in effects) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in effects) + " |")
    on = np.array([1.0 if w > 0 else 0.0 for w in target[2]])
    for label in analyses:
        for k in (2, 3, 4, 5, 6, 8):
            cells = []
            for e in effects:
                rng = np.random.default_rng(seed + k)
                found = 0
                for _ in range(experiments):
                    a, b = simulate(comp, n, k, rng, rho, effect=-e / 100 * on)
                    _, adj = structure.test(a, b, ANALYSES[label])
                    found += bool(adj[structure.primary[0]] < 0.05)
                lo, hi = clopper(found, experiments)
                cells.append(f"{100 * found / experiments:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]")
            print(f"| {label} | {k} | " + " | ".join(cells) + " |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", type=int, default=2000, help="simulated A/A experiments per scenario")
    ap.add_argument("--cores", default="all")
    ap.add_argument("--no-workflow", action="store_true", help="analyse benchmarks/out/aa as it is")
    ap.add_argument("--analyses", nargs="+", choices=list(ANALYSES), default=list(ANALYSES),
                    help="simulate only these analyses (all by default)")
    args = ap.parse_args()
    if args.no_workflow:
        params = yaml.safe_load((WORK / "params.yaml").read_text())
    else:
        params = prepare()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORK / "src"), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(["snakemake", "--cores", args.cores, "--quiet", "progress"], cwd=WORK, check=True, env=env)
    sys.path.insert(0, str(WORK / "src"))
    base, base_tests = load("baseline")
    mixed, mixed_tests = load("mixed")
    strong, strong_tests = load("noise_strong")
    first, second = ["r0", "r1", "r2"], ["r3", "r4", "r5"]
    maps = {name: [t[r]["clean"]["map50"] for r in sorted(t, key=lambda r: int(r[1:]))]
            for name, t in (("baseline", base_tests), ("mixed", mixed_tests), ("noise_strong", strong_tests))}
    print(f"# Calibration of the audit on the default data ({base['image_id'].nunique()} test images, "
          f"{base[base.test != 'clean'].test.nunique()} tests)\n")
    print("clean mAP50 per seed: " + "; ".join(f"{v} " + ", ".join(f"{m:.3f}" for m in ms) for v, ms in maps.items()))

    print("\n## Real A/A pairs from disjoint seed sets (every verdict is false)")
    for name, table, tests in (("baseline", base, base_tests), ("mixed", mixed, mixed_tests)):
        recipe = params["variants"][name]["recipe"]
        result = audit(params, arm(table, second), arm(table, first),
                       (clean_of(tests, second), clean_of(tests, first)), recipe)
        show_audit(f"`{name}` r3-r5 against `{name}` r0-r2 (shipped analysis: r3 paired with r0, ...; "
                   "different seeds)", result, "disjoint")
    print("\n## Real positive controls at 3 seeds per arm (paired seeds)")
    for name, table, tests in (("mixed", mixed, mixed_tests), ("noise_strong", strong, strong_tests)):
        recipe = params["variants"][name]["recipe"]
        for paired in (True, False):
            result = audit(params, arm(table, first), arm(base, first),
                           (clean_of(tests, first), clean_of(base_tests, first)), recipe, paired=paired)
            show_audit(f"`{name}` r0-r2 against `baseline` r0-r2, "
                       f"{'paired analysis (shipped)' if paired else 'unpaired analysis (Welch)'}", result)
    for k, budget in ((4, "the smallest with 80 % power for 15 pp"), (6, "configs/replicates.yaml's")):
        reps = [f"r{i}" for i in range(k)]
        result = audit(params, arm(mixed, reps), arm(base, reps), (clean_of(mixed_tests, reps),
                       clean_of(base_tests, reps)), params["variants"]["mixed"]["recipe"])
        show_audit(f"`mixed` r0-r{k - 1} against `baseline` r0-r{k - 1} ({budget} budget), paired analysis "
                   "(shipped)", result)

    statistics(params, [("`mixed` r0-r2", mixed, first), ("`mixed` r3-r5", mixed, second),
                        ("`noise_strong` r0-r2", strong, first)], base)

    drop = params["score"]["break_drop"]
    names = list(params["perturbations"])
    fitted = {}
    for name, table in (("none", base), ("mixed", mixed)):
        fitted[name] = components(rates(table, risk.breakable(table, drop), names))
    support = risk.breakable(base, drop).intersection(risk.breakable(mixed, drop))
    rho = between_arm_correlation(rates(mixed, support, names), rates(base, support, names))
    print("\n## Variance components (pp; per replicate), fitted to 6 seeds on the images every replicate can break\n")
    print("| perturbation | " + " | ".join(f"{r} seed SD | {r} interaction SD" for r in fitted) + " |")
    print("| --- | " + " | ".join("--- | ---" for _ in fitted) + " |")
    for j, p in enumerate(names):
        sds = [f"{100 * math.sqrt(c['seed_var'][j]):.1f} | {100 * math.sqrt(c['resid_var'][j]):.1f}"
               for c in fitted.values()]
        print(f"| {p} | " + " | ".join(sds) + " |")
    print("\nseeds' correlation across perturbations: " + ", ".join(f"{r} {c['seed_corr']:.2f}"
                                                                     for r, c in fitted.items())
          + f"; between-arm seed correlation (`mixed` rI vs `baseline` rI): {rho:.2f}")

    structure = Structure(params, names, params["recipes"]["mixed"]["targets"])
    n = len(support)
    pos = max(rho, 0.0)
    calibration(structure, {"none, independent seeds": (fitted["none"], 0.0, False, None),
                            f"none, paired seeds (rho {pos:.2f})": (fitted["none"], pos, False, None),
                            "mixed, independent seeds": (fitted["mixed"], 0.0, False, None),
                            "unequal seed variances (`mixed`'s in one arm, `none`'s in the other)":
                                (fitted["none"], 0.0, False, fitted["mixed"]),
                            "heavy: one bad run": (fitted["none"], 0.0, True, None)},
                n, args.experiments, 0, args.analyses)
    power(structure, fitted["none"], pos, n, args.experiments, 1, args.analyses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
