"""predict: one variant's detections on one test set (clean or a perturbation, all its severities)."""

from __future__ import annotations

from pathlib import Path

from augaudit import config, datasets, inference, provenance, runtime
from augaudit.files import atomic_dir, write_parquet
from augaudit.stages.train import out_dir
from augaudit.testsets import images_dir, prediction_dir, severities


def run(params: dict, variant: str, perturbation: str) -> Path:
    runtime.offline()
    from ultralytics import YOLO

    device = runtime.resolve_device(params["device"])
    weights = out_dir(variant) / "best.pt"
    model = YOLO(str(weights))
    split = params["dataset"]["eval_split"]
    out = prediction_dir(variant, perturbation)
    inputs = {"model": weights}
    with atomic_dir(out) as tmp:
        for severity in severities(params, perturbation):
            folder = images_dir(perturbation, severity, split)
            frame = inference.predict(model, datasets.list_images(folder), params["predict"], device)
            write_parquet(tmp / f"{severity}.parquet", frame)
            inputs[f"images_{severity}"] = folder
        provenance.write(tmp, "predict", inputs, config.stage_params(params, "predict"), None, device)
    return out
