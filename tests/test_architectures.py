"""Variants of different architectures (YOLOv8n, YOLO11n, RT-DETR-l, from the vendored yamls) train,
evaluate and are compared side by side in one report."""

from __future__ import annotations

import json
import shutil

import pytest

from augaudit.stageparams import call

from conftest import ROOT, tiny_params

pytestmark = pytest.mark.e2e
ARCHITECTURES = {"v8": "models/yolov8n.yaml", "v11": "models/yolo11n.yaml", "detr": "models/rtdetr-l.yaml"}


def test_three_architectures_in_one_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "models", tmp_path / "models")
    params = tiny_params()
    params["train"]["replicates"] = 1
    params["variants"] = {name: {"init": init, "recipe": "mixed", **({"baseline": "v8"} if name != "v8" else {})}
                          for name, init in ARCHITECTURES.items()}
    params["perturbations"] = {"gaussian_noise": {"severities": [1, 3]}}
    call(params, "prepare")
    call(params, "check")
    call(params, "perturb", perturbation="gaussian_noise", workers=1)
    for variant in params["variants"]:
        call(params, "train", variant=variant)
        for name in ("clean", "gaussian_noise"):
            call(params, "predict", variant=variant, perturbation=name)
        call(params, "score", variant=variant)
    call(params, "compare")
    call(params, "report")
    metrics = json.loads((tmp_path / "results/summary/metrics.json").read_text())
    assert set(metrics) == set(ARCHITECTURES)
    for variant in ARCHITECTURES:
        assert "albumentations: GaussianBlur" in (tmp_path / f"results/models/{variant}/r0/train.log").read_text()
    page = (tmp_path / "results/report/index.html").read_text()
    assert all(f"model {v}" in page for v in ARCHITECTURES)  # provenance rows, one per architecture
