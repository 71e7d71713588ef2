# Shared helpers: code files per stage (a code change re-runs its stage, as in dvc.yaml) and params.
from pathlib import Path

from augaudit.config import init_path, replicate_names, stage_params

VARIANTS = list(config["variants"])
PERTURBATIONS = list(config["perturbations"])
SRC = "src/augaudit"

wildcard_constraints:
    variant="[a-z][a-z0-9_]*",
    perturbation="[a-z][a-z0-9_]*",
    replicate="r[0-9]+",


def code(stage, *modules):
    """The entry script, the stage module and the library modules a stage runs."""
    return [f"scripts/{stage}.py", f"{SRC}/stages/{stage}.py"] + [f"{SRC}/{m}.py" for m in modules]


def models(variant):
    """Every replicate's weights of a variant."""
    return [f"results/models/{variant}/{r}/best.pt" for r in replicate_names(config, variant)]
