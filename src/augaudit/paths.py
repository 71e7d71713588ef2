"""Every path of the data contract, in one place: stages, the Snakefile's rules and tests read them here.

A test is `clean` or a (perturbation, severity) pair. A variant is trained as replicates `r0`,
`r1`, ... (one per training seed). Layout:

    data/clean/{images,labels}/<split>/, data.yaml             prepare
    results/check/data_check.json                              check
    results/scope/train/<variant>.json                         scope
    results/models/<variant>/<replicate>/best.pt, ...          train
    data/perturbed/<perturbation>/set.json, manifest.csv,
        <severity>/boxes.csv, <severity>/{images,labels}/ (the pixels kept)   perturb
    results/predictions/<variant>/<perturbation>/<replicate>/<severity>.parquet   predict
    results/scores/<variant>/                                  score
    results/summary/                                           compare
    results/report/                                            report
"""

from __future__ import annotations

from pathlib import Path

CLEAN = Path("data/clean")
PERTURBED = Path("data/perturbed")
CHECK = Path("results/check")
SCOPE = Path("results/scope")
MODELS = Path("results/models")
PREDICTIONS = Path("results/predictions")
SCORES = Path("results/scores")
SUMMARY = Path("results/summary")
REPORT = Path("results/report")


def replicate_name(index: int) -> str:
    return f"r{index}"


def model_dir(variant: str, replicate: str | None = None) -> Path:
    """A variant's folder (all replicates), or one replicate's (best.pt, recipe.json, train.log, ...)."""
    return MODELS / variant if replicate is None else MODELS / variant / replicate


def train_scope(variant: str) -> Path:
    """What a variant's training reads of params.yaml (the scope stage's file for it)."""
    return SCOPE / "train" / f"{variant}.json"


def test_dir(perturbation: str) -> Path:
    """What one predict job reads: the clean dataset, or one perturbation's test sets."""
    return CLEAN if perturbation == "clean" else PERTURBED / perturbation


# boxes.csv of a perturbed set: every object still visible in each image -- its clean index, whether
# it is still mostly in the frame (geometric perturbations) and how much of it an occluder hides
BOX_COLUMNS = ["image_id", "class", "cx", "cy", "w", "h", "object", "in_frame", "hidden"]


def boxes_file(perturbation: str, severity: int) -> Path:
    return PERTURBED / perturbation / str(severity) / "boxes.csv"


def severities(params: dict, perturbation: str) -> list[int]:
    return [0] if perturbation == "clean" else sorted(params["perturbations"][perturbation]["severities"])


def prediction_dir(variant: str, perturbation: str) -> Path:
    return PREDICTIONS / variant / perturbation


def prediction_file(variant: str, perturbation: str, replicate: str, severity: int) -> Path:
    return prediction_dir(variant, perturbation) / replicate / f"{severity}.parquet"


def score_dir(variant: str) -> Path:
    return SCORES / variant
