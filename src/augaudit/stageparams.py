"""What each stage reads of params.yaml, and the per-variant settings it resolves to.

`stage_params` is each stage's scope: the keys it declares, recorded in provenance and used as
Snakemake's rerun trigger (dvc.yaml lists the same keys; tests/test_graph.py checks that). Stage
modules import only this module of the params handling, so editing validation (augaudit.config)
re-runs nothing.
"""

from __future__ import annotations

import copy
import re

from augaudit import paths

VARIANT_MODELS = re.compile(r"^results/models/([a-z][a-z0-9_]*)/?$")  # init: warm start from another variant


def parent_variant(variant: dict) -> str | None:
    """The variant whose trained weights this one warm-starts from, if any."""
    m = VARIANT_MODELS.match(variant["init"])
    return m.group(1) if m else None


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
    elif stage == "train":  # one replicate's job: the replicate count is not among its inputs
        v = copy.deepcopy(p["variants"][item])
        v.get("train", {}).pop("replicates", None)
        if v.get("train") == {}:
            del v["train"]
        sub = {"seed": p["seed"], "device": p["device"],
               "train": {k: x for k, x in p["train"].items() if k != "replicates"},
               f"variants.{item}": v, f"recipes.{v['recipe']}": p["recipes"][v["recipe"]]}
    elif stage == "perturb":
        sub = {"seed": p["seed"], "dataset.eval_split": p["dataset"]["eval_split"],
               f"perturbations.{item}": p["perturbations"][item]}
    elif stage == "predict":
        sub = {"device": p["device"], "predict": p["predict"], "dataset.eval_split": p["dataset"]["eval_split"]}
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
