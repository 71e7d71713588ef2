"""Where each test lives on disk: the clean eval split and the perturbed datasets.

A test is `clean` or a (perturbation, severity) pair. Perturbed sets are flat YOLO folders
`data/perturbed/<perturbation>/<severity>/{images,labels}`; predictions mirror them as
`results/predictions/<variant>/<perturbation>/<severity>.parquet` (`clean/0.parquet` for clean).
"""

from __future__ import annotations

from pathlib import Path

CLEAN = Path("data/clean")
PERTURBED = Path("data/perturbed")
PREDICTIONS = Path("results/predictions")


def images_dir(perturbation: str, severity: int, eval_split: str) -> Path:
    if perturbation == "clean":
        return CLEAN / "images" / eval_split
    return PERTURBED / perturbation / str(severity) / "images"


def severities(params: dict, perturbation: str) -> list[int]:
    return [0] if perturbation == "clean" else sorted(params["perturbations"][perturbation]["severities"])


def prediction_dir(variant: str, perturbation: str) -> Path:
    return PREDICTIONS / variant / perturbation


def prediction_file(variant: str, perturbation: str, severity: int) -> Path:
    return prediction_dir(variant, perturbation) / f"{severity}.parquet"
