"""Real data and a pretrained model: the coco128 config's evaluate-only set-up, run on coco8."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from conftest import ROOT, engine_env, make_project, run

pytestmark = pytest.mark.e2e


def test_pretrained_checkpoint_evaluated_as_it_is_on_coco8(shared, tmp_path):
    params = yaml.safe_load((ROOT / "configs/coco128.yaml").read_text())
    params["dataset"]["source"] = str(shared / "datasets/coco8/data.yaml")
    params["variants"]["yolov8n_coco"]["init"] = str(shared / "weights/yolov8n.pt")
    params["perturbations"] = {"gaussian_blur": {"severities": [1, 5]}, "vflip": {"severities": [1]}}
    params["predict"].update(batch=4, imgsz=640)  # the checkpoint's own size (the config is CPU-sized)
    project = make_project(tmp_path / "p", params)
    run(["snakemake", "--cores", "2"], project, engine_env(project, block_network=True))
    assert not (project / "network.log").exists()
    recipe = json.loads((project / "results/models/yolov8n_coco/r0/recipe.json").read_text())
    assert recipe["evaluate_only"] is True
    weights = (shared / "weights/yolov8n.pt").read_bytes()
    assert (project / "results/models/yolov8n_coco/r0/best.pt").read_bytes() == weights
    summary = pd.read_csv(project / "results/summary/summary.csv").set_index(["perturbation", "severity"])
    assert summary.loc[("clean", 0), "map50_95"] > 0.4  # Ultralytics measures about 0.63 on coco8
    assert summary.loc[("gaussian_blur", 5), "map50_95"] < summary.loc[("clean", 0), "map50_95"]
    assert summary.loc[("clean", 0), "n_images"] == 4
