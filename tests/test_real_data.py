"""A checkpoint evaluated as it is: the coco128 config's evaluate-only set-up, run on coco8 with
../shared's COCO-pretrained yolov8n.pt, or where ../shared is absent on the suite's own trained model
and the embedded synthetic data (conftest's `detector`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from conftest import ROOT, engine_env, make_project, run

pytestmark = pytest.mark.e2e


def test_pretrained_checkpoint_evaluated_as_it_is(detector, tmp_path):
    from augaudit import datasets

    coco8 = detector["kind"] == "coco8"
    params = yaml.safe_load((ROOT / "configs/coco128.yaml").read_text())
    params["dataset"].update(source=str(detector["data"]), eval_split=detector["split"])
    params["variants"]["yolov8n_coco"]["init"] = str(detector["weights"])
    params["perturbations"] = {"gaussian_blur": {"severities": [1, 5]}, "vflip": {"severities": [1]}}
    params["predict"].update(batch=4, imgsz=detector["imgsz"])  # the checkpoint's own size
    project = make_project(tmp_path / "p", params)
    run(["snakemake", "--cores", "2"], project, engine_env(project, block_network=True))
    assert not (project / "network.log").exists()
    recipe = json.loads((project / "results/models/yolov8n_coco/r0/recipe.json").read_text())
    assert recipe["evaluate_only"] is True
    assert (project / "results/models/yolov8n_coco/r0/best.pt").read_bytes() == detector["weights"].read_bytes()
    summary = pd.read_csv(project / "results/summary/summary.csv").set_index(["perturbation", "severity"])
    # Ultralytics measures about 0.63 for yolov8n on coco8; the suite's model about 0.4 on its test split
    assert summary.loc[("clean", 0), "map50_95"] > (0.4 if coco8 else 0.1)
    assert summary.loc[("gaussian_blur", 5), "map50_95"] < summary.loc[("clean", 0), "map50_95"]
    split = datasets.list_images(datasets.read_data_yaml(detector["data"])["splits"][detector["split"]])
    assert summary.loc[("clean", 0), "n_images"] == len(split)
