"""predict: a variant's detections on one test set (clean or a perturbation, all its severities),
for every replicate of the variant, in results/predictions/<variant>/<perturbation>/<replicate>/.
A perturbed image perturb did not keep is regenerated in the loader threads beside inference and
checked against its manifest (augaudit.testsets)."""

from __future__ import annotations

import time
from pathlib import Path

from augaudit import THREADS, inference, paths, progress, provenance, runtime, stageparams, testsets
from augaudit.files import atomic_dir, write_parquet

# the registry (augaudit.stages): one job per variant and test set, and the params.yaml keys it reads
JOBS = {"variant": "variants", "perturbation": "test sets"}
PARAMS = ("device", "predict", "dataset.eval_split", "perturbations.{perturbation}.severities")


def run(params: dict, variant: str, perturbation: str, replicates: list[str]) -> Path:
    runtime.offline()
    runtime.use_threads()
    device = runtime.resolve_device(params["device"])
    split = params["dataset"]["eval_split"]
    out = paths.prediction_dir(variant, perturbation)
    inputs = {}
    severities = paths.severities(params, perturbation)
    start, images = time.perf_counter(), 0
    with atomic_dir(out) as tmp:
        for replicate in replicates:
            weights = paths.model_dir(variant, replicate) / "best.pt"
            detect = inference.Detector(weights, params["predict"], device, workers=THREADS)
            inputs[f"model_{replicate}"] = weights
            (tmp / replicate).mkdir()
            for severity in progress.steps(severities, f"predict {variant} {replicate} on {perturbation}",
                                           unit="severity"):
                batch = testsets.images(perturbation, severity, split)
                images += len(batch)
                write_parquet(tmp / replicate / f"{severity}.parquet", detect(batch))
        inputs["test_set"] = paths.test_dir(perturbation)
        if perturbation != "clean":
            inputs["clean"] = paths.CLEAN / "images" / split
        declared = stageparams.stage_params(params, "predict", perturbation=perturbation)
        provenance.write(tmp, "predict", inputs, declared, None, device)
    progress.done(f"predict {variant} on {perturbation}: {len(replicates)} replicates x {len(severities)} "
                  f"severities, {images} images on {device}", start)
    return out
