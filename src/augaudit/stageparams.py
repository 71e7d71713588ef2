"""What each stage reads of params.yaml, and the per-variant settings it resolves to.

`stage_params` is what one job of a stage reads: the keys its PARAMS declare (augaudit.stages, the
registry), recorded in provenance, used as Snakemake's rerun trigger and listed in dvc.yaml's `params:`
by `make dvc.yaml` (except train's, which reach DVC through the scope stage's file: see
augaudit.stages.scope). `call` runs a stage as its entry point does: on those keys alone (`scoped`), so
a read of any other key is a KeyError, plus the model layout the DAG decided (which replicates,
warm-started from what). Stage modules import only this module of the params handling, so editing
validation (augaudit.paramsfile) re-runs nothing.
"""

from __future__ import annotations

import copy
import re
from importlib import import_module

from augaudit import paths, stages

VARIANT_MODELS = re.compile(r"^results/models/([a-z][a-z0-9_]*)/?$")  # init: warm start from another variant


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


def _lookup(params: dict, key: str):
    node = params
    for part in key.split("."):
        node = node[part]
    return node


def _select(value, selection: tuple[str, ...]):
    """Part of a declared key's value: the names kept (in params' order, those present), less `-name`s."""
    keep = [s for s in selection if not s.startswith("-")]
    out = copy.deepcopy({k: v for k, v in value.items() if k in keep} if keep else value)
    for dropped in (s[1:] for s in selection if s.startswith("-")):
        _drop(out, dropped.split("."))
    return out


def _drop(node, path: list[str]) -> None:
    """Remove a dotted path where present; a section it leaves empty is not declared at all."""
    head, *rest = path
    if isinstance(node, dict) and head in node:
        if rest:
            _drop(node[head], rest)
            if node[head] == {}:
                del node[head]
        else:
            del node[head]


def stage_params(params: dict, stage: str, **job: str) -> dict:
    """The keys a stage reads (its PARAMS, augaudit.stages) for one job: recorded in provenance, used
    as Snakemake's rerun trigger and listed in dvc.yaml's `params:`."""
    declared = stages.declaration(stage)
    if unknown := set(job) - set(declared.jobs):
        raise TypeError(f"stage {stage}: its jobs are named by {sorted(declared.jobs)}, not {sorted(unknown)}")
    sub = {}
    for template, selection in declared.params:
        if "{perturbation}" in template and job.get("perturbation") == "clean":
            continue  # the clean test set has no perturbation entry
        names = dict(job)
        if "{recipe}" in template:
            names["recipe"] = params["variants"][job["variant"]]["recipe"]
        key = template.format(**names)
        sub[key] = _select(_lookup(params, key), selection)
    return copy.deepcopy(sub)


def scoped(params: dict, stage: str, **job: str) -> dict:
    """The declared keys of `stage_params`, nested as params.yaml nests them, and nothing else."""
    out: dict = {}
    for key, value in stage_params(params, stage, **job).items():
        *parents, last = key.split(".")
        node = out
        for name in parents:
            node = node.setdefault(name, {})
        node[last] = value
    return out


def _inits(params: dict, job: dict) -> dict[str, str]:
    names = [job["replicate"]] if job.get("replicate") else replicate_names(params, job["variant"])
    return {r: init_path(params, job["variant"], r) for r in names}


# what a stage's run may take besides its job's names, resolved from the DAG's shape (which replicates,
# warm-started from what): a Snakemake job's inputs, a DVC stage's deps
DERIVED = {
    "replicates": lambda params, job: replicate_names(params, job["variant"]),
    "inits": _inits,
    "replicates_of": lambda params, job: {v: replicate_names(params, v) for v in params["variants"]},
}


def call(params: dict, stage: str, **given):
    """Run augaudit.stages.<stage> as its entry point does, `params` being the whole validated file: on
    `scoped` params, its declared keys alone (so a read of any other key is a KeyError), with each argument its
    `run` names: the job's names, what DERIVED resolves, and the options given (e.g. `workers`)."""
    declared = stages.declaration(stage)
    job = {k: given.pop(k) for k in declared.jobs if given.get(k) is not None}
    given = {k: v for k, v in given.items() if v is not None and k not in declared.jobs}
    args = {}
    for name, _ in declared.arguments:
        if name in job:
            args[name] = job[name]
        elif name in DERIVED:
            args[name] = DERIVED[name](params, job)
        elif name in given:
            args[name] = given.pop(name)
    if given:
        raise TypeError(f"stage {stage}: run takes no {sorted(given)}")
    run = import_module(f"augaudit.stages.{stage}").run  # the stage's code is in its own codedeps.code_files
    return run(scoped(params, stage, **job), **args)
