"""The stage registry: one module per DAG stage in this package, each declaring beside its `run` what
one of its jobs is for and what it reads of params.yaml. Dispatch (`stageparams.call`), the declared
params (`stageparams.stage_params`: provenance, Snakemake's rerun trigger, dvc.yaml's `params:`), the
list of stages and the tests' maps are derived from these two declarations:

    JOBS = {"variant": "variants", "perturbation": "test sets"}    # one job per variant and test set
    PARAMS = ("device", "predict", "dataset.eval_split", "perturbations.{perturbation}.severities")

JOBS maps each of a job's names (an argument of `run`, a Snakemake wildcard) to what it ranges over:
"variants", "replicates" (of the job's variant), "perturbations", or "test sets" ("clean", then each
perturbation); `{}` is one job. PARAMS lists dotted params.yaml keys; `{variant}` and `{perturbation}`
stand for the job's, `{recipe}` for its variant's recipe; a key naming `{perturbation}` is not read on
the clean test set, which has no entry. After ": " a key may select part of its value: names kept (of
those present), `-name` (dotted) dropped, `*` all of it.

The declarations are literals read from each module's syntax tree, never imported: the Snakefile
reads them at parse time without loading torch, and a malformed one is a one-line error naming its file.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import NamedTuple

RANGES = ("variants", "replicates", "perturbations", "test sets")
HERE = Path(__file__).parent


class Declaration(NamedTuple):
    jobs: dict[str, str]
    params: tuple[tuple[str, tuple[str, ...]], ...]  # (key template, selection: () is all of it)
    arguments: tuple[tuple[str, bool], ...]  # run's arguments after params: (name, has a default)


def names(folder: Path = HERE) -> tuple[str, ...]:
    """Every stage: each module of the package."""
    return tuple(sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")))


@cache
def declaration(stage: str, folder: Path = HERE) -> Declaration:
    """A stage's JOBS, PARAMS and `run` arguments, read from its source."""
    path = folder / f"{stage}.py"
    if not path.is_file():
        raise KeyError(f"no stage {stage!r} (stages: {', '.join(names(folder))})")
    found, arguments = {}, None
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", "") in (
                "JOBS", "PARAMS"):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(f"{path}:{node.lineno}: {node.targets[0].id} must be a literal") from None
        elif isinstance(node, ast.FunctionDef) and node.name == "run":
            args = node.args.args[1:]
            defaults = len(node.args.defaults)
            arguments = tuple((a.arg, i >= len(args) - defaults) for i, a in enumerate(args))
    for name in ("JOBS", "PARAMS"):
        if name not in found:
            raise ValueError(f"{path}: declares no {name} (see augaudit/stages/__init__.py)")
    if arguments is None:
        raise ValueError(f"{path}: defines no run(params, ...)")
    jobs, params = found["JOBS"], found["PARAMS"]
    if not isinstance(jobs, dict) or any(r not in RANGES for r in jobs.values()):
        raise ValueError(f"{path}: JOBS maps a job's names to one of {', '.join(RANGES)}")
    if not isinstance(params, tuple) or not all(isinstance(k, str) for k in params):
        raise ValueError(f"{path}: PARAMS is a tuple of dotted params.yaml keys")
    parsed = []
    for entry in params:
        key, _, selection = entry.partition(":")
        parsed.append((key.strip(), tuple(s for s in selection.split() if s != "*")))
    return Declaration(dict(jobs), tuple(parsed), arguments)
