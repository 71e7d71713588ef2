# Shared helpers: each stage's code files (computed from its imports, as dvc.yaml lists them), its params,
# the models of a variant and a user dataset's fingerprint.

from augaudit import paths
from augaudit.codedeps import code_files
from augaudit.runtime import config_dir
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


def source_fingerprint(wc):
    """A user's dataset by content (augaudit.datasets.fingerprint, a stat cache in .config): an edited
    label, an added or removed image, data reached through `path:` re-run prepare. DVC: dvc.yaml lists
    the folders (make dvc.yaml)."""
    if config["dataset"]["source"] == "synthetic":
        return None
    from augaudit.datasets import fingerprint

    return fingerprint(config["dataset"]["source"], config_dir() / "augaudit" / "sources.json")
