"""compare's per-variant figures: mPC/rPC only under the COCO-C protocol, computed as Michaelis et al. do."""

from __future__ import annotations

import pytest
import yaml

from augaudit import perturbations
from augaudit.stages import compare

from conftest import ROOT


def _params(names, severities=(1, 2, 3, 4, 5)) -> dict:
    return {"perturbations": {n: {"severities": list(severities)} for n in names}}


def _metrics(names, severities=(1, 2, 3, 4, 5)) -> dict:
    """One replicate: corruption i at severity s has mAP50-95 (i + s) / 100, mAP50 twice that."""
    tests = {"clean": {"map50_95": 0.5, "map50": 0.8}}
    for i, n in enumerate(names):
        for s in severities:
            tests[f"{n}/{s}"] = {"map50_95": (i + s) / 100, "map50": 2 * (i + s) / 100}
    return {"r0": tests}


def test_mpc_follows_the_coco_c_protocol():
    names = list(perturbations.COCO_C)
    out = compare.robustness(_params(names), _metrics(names), {"map50_95": 0.5, "map50": 0.8})
    # mean over corruptions i = 0..14 of the mean over severities 1..5 of (i + s) / 100 = (7 + 3) / 100
    assert out["mPC"] == pytest.approx(0.10) and out["rPC"] == pytest.approx(0.20)
    assert out["mPC50"] == pytest.approx(0.20) and out["rPC50"] == pytest.approx(0.25)
    assert out["mP_tested"] == out["mPC"]  # the same set ran


def test_anything_else_is_not_called_mpc():
    names = list(perturbations.COCO_C)
    clean = {"map50_95": 0.5, "map50": 0.8}
    for params, metrics in [
        (_params(names[:-1]), _metrics(names[:-1])),                    # one corruption missing
        (_params(names, (1, 3, 5)), _metrics(names, (1, 3, 5))),        # not every severity
        (_params(names + ["rotate"]), _metrics(names + ["rotate"])),    # extra tests: mPC on the 15 only
    ]:
        out = compare.robustness(params, metrics, clean)
        assert "mP_tested" in out and "rP_tested" in out
        if "rotate" in params["perturbations"]:
            assert out["mPC"] == pytest.approx(0.10) and out["mP_tested"] != out["mPC"]
        else:
            assert "mPC" not in out and "rPC" not in out
    params = _params(names)
    params["perturbations"]["fog"]["ladder"] = [[1.0, 2], [1.5, 2], [2.0, 2], [2.5, 2], [3.0, 2]]
    assert not compare.coco_c_complete(params)  # another ladder is not the benchmark's corruption


def test_the_ready_made_coco_c_config_is_the_protocol():
    assert compare.coco_c_complete(yaml.safe_load((ROOT / "configs/coco-c.yaml").read_text()))
    assert not compare.coco_c_complete(yaml.safe_load((ROOT / "configs/coco128.yaml").read_text()))


def test_the_15_are_the_catalogue_s_imagecorruptions_counterparts():
    assert len(set(perturbations.COCO_C)) == 15
    assert all(perturbations.CATALOGUE[n].imagecorruptions == n for n in perturbations.COCO_C)
