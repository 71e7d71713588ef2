# Shared helpers: each stage's code files (computed from its imports, as dvc.yaml lists them) and params.

from augaudit import paths
from augaudit.codedeps import code_files
from augaudit.stageparams import init_path, replicate_names, stage_params

VARIANTS = list(config["variants"])
PERTURBATIONS = list(config["perturbations"])


wildcard_constraints:
    variant="[a-z][a-z0-9_]*",
    perturbation="[a-z][a-z0-9_]*",
    replicate="r[0-9]+",


def models(variant):
    """Every replicate's weights of a variant."""
    return [str(paths.model_dir(variant, r) / "best.pt") for r in replicate_names(config, variant)]
