"""params.yaml validation: every entry point and Snakemake fail with one line naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from augaudit import config

from conftest import ROOT, default_params, engine_env, make_project


def write(tmp_path, params) -> str:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return str(path)


def test_default_params_are_valid():
    config.load(ROOT / "params.yaml")


@pytest.mark.parametrize("edit, key, words", [
    (lambda p: p["train"].update(epochs=0), "train.epochs", "minimum"),
    (lambda p: p["variants"]["mixed"].update(recipe="nope"), "variants.mixed.recipe", "unknown recipe"),
    (lambda p: p["variants"]["flips"].update(init="results/models/ghost/best.pt"), "variants.flips.init",
     "unknown variant"),
    (lambda p: p["perturbations"].update(glitter={"severities": [1]}), "perturbations.glitter",
     "unknown perturbation"),
    (lambda p: p["perturbations"]["fog"].update(severities=[9]), "perturbations.fog.severities", "beyond the ladder"),
    (lambda p: p["recipes"]["mixed"]["albumentations"].append({"transform": "GaussianBlur", "blurr": 3}),
     "recipes.mixed.albumentations[4]", "blurr"),
    (lambda p: p.update(device="gpu"), "device", "does not match"),
    (lambda p: p["compare"]["zones"].update(yellow=60), "compare.zones", "yellow must be below red"),
    (lambda p: p["score"].pop("break_drop"), "score", "'break_drop' is a required property"),
])
def test_invalid_value_names_the_key(tmp_path, edit, key, words):
    params = default_params()
    edit(params)
    path = write(tmp_path, params)
    with pytest.raises(config.ConfigError) as e:
        config.load(path)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:") and f": {key}: " in message and words in message


def test_error_names_the_line(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("  epochs: 12", "  epochs: -3")
    path = tmp_path / "params.yaml"
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "epochs: -3" in t)
    with pytest.raises(config.ConfigError, match=rf"params.yaml:{line}: train.epochs: -3 is less than"):
        config.load(path)


def test_entry_point_fails_with_one_line(tmp_path):
    params = default_params()
    params["score"]["break_drop"] = 2
    path = write(tmp_path, params)
    result = subprocess.run([sys.executable, str(ROOT / "scripts/score.py"), "--params", path, "--variant", "mixed"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {path}:{_line(path, 'break_drop')}: score.break_drop: "
                                                  "2 is greater than the maximum of 1"]


def _line(path, needle):
    return next(i for i, t in enumerate(open(path).read().splitlines(), 1) if needle in t)


def test_snakemake_refuses_invalid_params(tmp_path):
    params = default_params()
    params["predict"]["imgsz"] = 100
    project = make_project(tmp_path / "p", params)
    result = subprocess.run(["snakemake", "-n", "--cores", "1"], cwd=project, capture_output=True, text=True,
                            env=engine_env(project))
    assert result.returncode != 0
    assert f"params.yaml:{_line(project / 'params.yaml', 'imgsz: 100')}: predict.imgsz: 100 is not a multiple of 32" \
        in result.stdout + result.stderr
