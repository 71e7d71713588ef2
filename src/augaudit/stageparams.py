"""What each stage reads of params.yaml, and the per-variant settings it resolves to.

`stage_params` is each stage's scope: the keys it declares, recorded in provenance and used as
Snakemake's rerun trigger (dvc.yaml lists the same keys, except train's, which reach DVC through
the scope stage's file: see augaudit.stages.scope; tests/test_graph.py checks both). `call`
runs a stage as its entry point does: on `scope`, those keys alone, so a read of any other key is a
KeyError, plus the model layout the DAG decided (which replicates, warm-started from what). Stage
modules import only this module of the params handling, so editing validation (augaudit.config)
re-runs nothing.
"""

from __future__ import annotations

import copy
import re
from importlib import import_module

from augaudit import paths

VARIANT_MODELS = re.compile(r"^results/models/([a-z][a-z0-9_]*)/?$")  # init: warm start from another variant
# What training reads of a variant and of its recipe. The rest is the audit's (a variant's `baseline`,
# `prescribed`, `prescribed_for`; a recipe's `targets`): compare reads it, and editing it trains nothing.
VARIANT_TRAINING = ("init", "recipe", "evaluate_only", "train")
RECIPE_TRAINING = ("albumentations", "ultralytics")


def parent_variant(variant: dict) -> str | None:
    """The variant whose trained weights this one warm-starts from, if any."""
    m = VARIANT_MODELS.match(variant["init"])
    return m.group(1) if m else None


def prescription_arms(variant: dict) -> tuple[str, str | None]:
    """A prescribed variant's (variant it was prescribed for, control): `prescribed_for` defaults to its
    baseline; a baseline other than that is the fine-tuned control (docs/prescribe.md)."""
    target = variant.get("prescribed_for", variant["baseline"])
    return target, (variant["baseline"] if variant["baseline"] != target else None)


def replicates(params: dict, variant: str) -> int:
    """How many training seeds a variant has; an evaluate-only checkpoint is one fixed model."""
    v = params["variants"][variant]
    if v.get("evaluate_only"):
        return 1
    return int({**params["train"], **v.get("train", {})}.get("replicates", 1))


def replicate_names(params: dict, variant: str) -> list[str]:
    return [paths.replicate_name(i) for i in range(replicates(params, variant))]


def init_path(params: dict, variant: str, replicate: str) -> str:
    """What one replicate starts from: an architecture yaml, a checkpoint, or the parent variant's
    replicate of the same index (its only model when it has one)."""
    v = params["variants"][variant]
    parent = parent_variant(v)
    if parent is None:
        return v["init"]
    theirs = replicate if replicates(params, parent) > 1 else paths.replicate_name(0)
    return str(paths.model_dir(parent, theirs) / "best.pt")


def train_settings(params: dict, variant: str) -> dict:
    """Global train settings overlaid with the variant's own: the arguments of one training run."""
    settings = {**params["train"], **params["variants"][variant].get("train", {})}
    settings.pop("replicates", None)
    return settings


def stage_params(params: dict, stage: str, item: str | None = None) -> dict:
    """The keys a stage reads: recorded in provenance and used as Snakemake's rerun trigger.

    dvc.yaml lists the same keys for each stage; keep the two in step.
    """
    p = params
    if stage == "prepare":
        sub = {"seed": p["seed"], "dataset": p["dataset"]}
    elif stage == "check":
        sub = {}
    elif stage == "scope":  # what every variant's training reads, and how many replicates each has
        sub = {"seed": p["seed"], "device": p["device"], "train": p["train"], "variants": p["variants"],
               "recipes": p["recipes"]}
    elif stage == "train":  # one replicate's job: the replicate count is not among its inputs
        v = {k: copy.deepcopy(x) for k, x in p["variants"][item].items() if k in VARIANT_TRAINING}
        v.get("train", {}).pop("replicates", None)
        if v.get("train") == {}:
            del v["train"]
        recipe = {k: x for k, x in p["recipes"][v["recipe"]].items() if k in RECIPE_TRAINING}
        sub = {"seed": p["seed"], "device": p["device"],
               "train": {k: x for k, x in p["train"].items() if k != "replicates"},
               f"variants.{item}": v, f"recipes.{v['recipe']}": recipe}
    elif stage == "perturb":
        sub = {"seed": p["seed"], "dataset.eval_split": p["dataset"]["eval_split"], "perturb": p["perturb"],
               f"perturbations.{item}": p["perturbations"][item]}
    elif stage == "predict":  # item: the test set, clean or a perturbation (whose severities it reads)
        sub = {"device": p["device"], "predict": p["predict"], "dataset.eval_split": p["dataset"]["eval_split"]}
        if item != "clean":
            sub[f"perturbations.{item}.severities"] = p["perturbations"][item]["severities"]
    elif stage == "score":
        sub = {"seed": p["seed"], "score": p["score"], "perturbations": p["perturbations"],
               "dataset.eval_split": p["dataset"]["eval_split"]}
    elif stage == "compare":
        sub = {"seed": p["seed"], "compare": p["compare"], "score.break_drop": p["score"]["break_drop"],
               "variants": p["variants"], "recipes": p["recipes"], "perturbations": p["perturbations"]}
    elif stage == "report":
        sub = {"compare": p["compare"], "score": p["score"], "variants": p["variants"],
               "perturbations": p["perturbations"], "dataset.eval_split": p["dataset"]["eval_split"]}
    else:
        raise KeyError(stage)
    return copy.deepcopy(sub)


def scope(params: dict, stage: str, item: str | None = None) -> dict:
    """The declared keys of `stage_params`, nested as params.yaml nests them, and nothing else."""
    out: dict = {}
    for key, value in stage_params(params, stage, item).items():
        *parents, last = key.split(".")
        node = out
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value
    return out


def call(params: dict, stage: str, variant: str | None = None, perturbation: str | None = None,
         replicate: str | None = None, **options):
    """Run augaudit.stages.<stage> on its declared params only; `params` is the whole validated file.

    The replicates a stage reads and the weights each starts from are part of the DAG's shape (a
    Snakemake job's inputs, a DVC stage's deps), so they are resolved here and passed as arguments.
    """
    run = import_module(f"augaudit.stages.{stage}").run  # the stage's code is in its own graph.code_files
    scoped = scope(params, stage, {"train": variant, "perturb": perturbation, "predict": perturbation}.get(stage))
    if stage == "train":
        names = [replicate] if replicate else replicate_names(params, variant)
        return run(scoped, variant, {r: init_path(params, variant, r) for r in names}, replicate, **options)
    if stage == "perturb":
        return run(scoped, perturbation, **options)
    if stage == "predict":
        return run(scoped, variant, perturbation, replicate_names(params, variant), **options)
    if stage == "score":
        return run(scoped, variant, replicate_names(params, variant), **options)
    if stage == "report":
        return run(scoped, {v: replicate_names(params, v) for v in params["variants"]}, **options)
    return run(scoped, **options)
