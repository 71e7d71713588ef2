"""params.yaml validation: every entry point and Snakemake fail with one line naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from augaudit import paramsfile, stageparams

from conftest import ROOT, default_params, engine_env, make_project


def write(tmp_path, params) -> str:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return str(path)


def test_default_params_are_valid():
    paramsfile.load(ROOT / "params.yaml")


@pytest.mark.parametrize("edit, key, words", [
    (lambda p: p["train"].update(epochs=0), "train.epochs", "minimum"),
    (lambda p: p["variants"]["mixed"].update(recipe="nope"), "variants.mixed.recipe", "unknown recipe"),
    (lambda p: p["variants"]["flips"].update(init="results/models/ghost"), "variants.flips.init",
     "unknown variant"),
    (lambda p: p["perturbations"].update(glitter={"severities": [1]}), "perturbations.glitter",
     "unknown perturbation"),
    (lambda p: p["perturbations"]["fog"].update(severities=[9]), "perturbations.fog.severities", "beyond the ladder"),
    (lambda p: p["perturbations"]["jpeg_compression"].update(ladder=[25, 1000, 15]),
     "perturbations.jpeg_compression.ladder[1]", "1000: outside jpeg_compression's domain 1 to 100"),
    (lambda p: p["perturbations"]["gaussian_noise"].update(ladder=[0.08, -0.12, 0.18]),
     "perturbations.gaussian_noise.ladder[1]", "-0.12: outside gaussian_noise's domain 0 to 10"),
    (lambda p: p["perturbations"]["coarse_dropout"].update(ladder=[2, 4.5, 6]),
     "perturbations.coarse_dropout.ladder[1]", "counts things (a whole number)"),
    (lambda p: p["perturbations"]["fog"].update(ladder=[[1.5, 2], 2.0, [2.5, 1.7]]),
     "perturbations.fog.ladder[1]", "a level of fog is a list of 2, like [1.5, 2]"),
    (lambda p: p["perturbations"]["rotate"].update(ladder=[5, "ten", 15]),
     "perturbations.rotate.ladder[1]", "not a finite number"),
    (lambda p: p["recipes"]["mixed"]["albumentations"].append({"transform": "GaussianBlur", "blurr": 3}),
     "recipes.mixed.albumentations[4]", "blurr"),
    (lambda p: p.update(device="gpu"), "device", "does not match"),
    (lambda p: p["compare"]["zones"].update(yellow=60), "compare.zones", "yellow must be below red"),
    (lambda p: p["score"].pop("break_drop"), "score", "'break_drop' is a required property"),
    (lambda p: p["variants"]["flips"].update(init="results/models/baseline/best.pt"), "variants.flips.init",
     "write results/models/<variant>"),
    (lambda p: p["variants"]["mixed"].update(baseline="mixed"), "variants.mixed.baseline", "its own baseline"),
    (lambda p: p["variants"]["baseline"].update(prescribed=["weather"]), "variants.baseline.prescribed",
     "give that variant as `baseline`"),
    (lambda p: p["variants"]["mixed"].update(prescribed_for="baseline"), "variants.mixed.prescribed_for",
     "only a prescribed variant"),
    (lambda p: p["variants"]["mixed"].update(baseline="baseline", prescribed=["weather"], prescribed_for="ghost"),
     "variants.mixed.prescribed_for", "not another variant"),
    (lambda p: p["train"].update(optimizer="auto"), "train.optimizer", "'auto' is refused"),
    (lambda p: p["train"].pop("optimizer"), "train", "'optimizer' is a required property"),
    (lambda p: p["train"].update(replicates=0), "train.replicates", "minimum"),
    (lambda p: p["train"].update(batch=10 ** 6), "train.batch", "is greater than the maximum of 4096"),
    (lambda p: p["predict"].update(imgsz=2 ** 20), "predict.imgsz", "is greater than the maximum of 8192"),
    (lambda p: p["variants"].update({"v" * 250: {"init": "models/yolov8n.yaml", "recipe": "none"}}),
     "variants", "is too long"),
    (lambda p: p["variants"]["flips"].update(train={"replicates": 3}) or p["train"].update(replicates=2),
     "variants.flips.train.replicates", "replicate i starts from baseline's replicate i"),
    (lambda p: p["compare"].update(multiplicity="bonferroni"), "compare.multiplicity", "is not one of"),
])
def test_invalid_value_names_the_key(tmp_path, edit, key, words):
    params = default_params()
    edit(params)
    path = write(tmp_path, params)
    with pytest.raises(paramsfile.ParamsError) as e:
        paramsfile.load(path)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:") and f": {key}: " in message and words in message


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_ready_made_configs_are_valid(path):
    paramsfile.load(path)


def test_replicates_config_is_the_default_with_six_seeds():
    replicated = yaml.safe_load((ROOT / "configs/replicates.yaml").read_text())
    assert replicated["train"].pop("replicates") == 6
    default = default_params()
    default["train"].pop("replicates")
    assert replicated == default


def test_replicates_and_warm_starts():
    params = default_params()
    params["train"]["replicates"] = 3
    params["variants"]["mixed"]["train"] = {"replicates": 2}
    paramsfile.validate(params)
    assert stageparams.replicate_names(params, "baseline") == ["r0", "r1", "r2"]
    assert stageparams.replicate_names(params, "mixed") == ["r0", "r1"]
    assert stageparams.init_path(params, "flips", "r2") == "results/models/baseline/r2/best.pt"  # seed i from seed i
    assert stageparams.init_path(params, "mixed", "r1") == "models/yolov8n.yaml"
    assert "replicates" not in stageparams.train_settings(params, "mixed")  # not an Ultralytics argument
    # one replicate's job does not depend on how many replicates there are
    one = stageparams.stage_params(default_params(), "train", variant="mixed")
    assert stageparams.stage_params(params, "train", variant="mixed") == one
    # a parent with one model (or a fixed checkpoint) seeds every replicate of its children
    params["train"]["replicates"] = 1
    params["variants"]["flips"]["train"]["replicates"] = 3
    paramsfile.validate(params)
    assert stageparams.init_path(params, "flips", "r2") == "results/models/baseline/r0/best.pt"


def test_error_names_the_line(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("  epochs: 12", "  epochs: -3")
    path = tmp_path / "params.yaml"
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "epochs: -3" in t)
    with pytest.raises(paramsfile.ParamsError, match=rf"params.yaml:{line}: train.epochs: -3 is less than"):
        paramsfile.load(path)


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


@pytest.mark.parametrize("text, line, words", [
    ("  lrf: 0.01\n  lrf: 1000000000\n", 2, "key 'lrf' appears twice (first on line {inserted})"),
    ("  lrf: &small 0.01\n", 1, "anchors and aliases"),
    ("  lrf: .nan\n", 1, "'.nan' is not a finite number"),
    ("  lrf: -.inf\n", 1, "'-.inf' is not a finite number"),
])
def test_yaml_that_the_schema_never_sees_is_refused(tmp_path, text, line, words):
    """Duplicate keys, aliases and non-finite numbers are refused by the reader itself, with the line."""
    default = (ROOT / "params.yaml").read_text()
    at = default.index("\n", default.index("\ntrain:") + 1) + 1  # the line after `train:`
    path = tmp_path / "params.yaml"
    path.write_text(default[:at] + text + default[at:])
    inserted = default[:at].count("\n") + 1
    with pytest.raises(paramsfile.ParamsError) as e:
        paramsfile.load(path)
    message = str(e.value)
    assert message.startswith(f"{path}:{inserted + line - 1}: ") and "\n" not in message
    assert words.format(inserted=inserted) in message


@pytest.mark.parametrize("edit, key, words", [
    (lambda p: p["train"].update(batch=4.0), "train.batch", "4.0 is not of type 'integer'"),
    (lambda p: p["perturbations"]["fog"].update(severities=[1.0]), "perturbations.fog.severities[0]",
     "is not of type 'integer'"),
    (lambda p: p["variants"].update({"evil\n": p["variants"]["mixed"]}), "variants", "does not match"),
])
def test_values_that_only_look_valid_are_refused(edit, key, words):
    params = default_params()
    edit(params)
    with pytest.raises(paramsfile.ParamsError) as e:
        paramsfile.validate(params)
    assert f": {key}: " in str(e.value) and words in str(e.value)


@pytest.mark.e2e  # runs Snakemake four times (about 10 s): the end-to-end lane
def test_snakemake_refuses_config_overrides_the_jobs_would_not_see(tmp_path):
    project = make_project(tmp_path / "p", default_params())
    for override in (["--config", "seed=1"], ["--configfile", str(ROOT / "configs/replicates.yaml")]):
        result = subprocess.run(["snakemake", "-n", "--cores", "1", *override], cwd=project, capture_output=True,
                                text=True, env=engine_env(project))
        assert result.returncode != 0
        assert "--config/--configfile change the plan but not the jobs" in result.stdout + result.stderr
    plain = subprocess.run(["snakemake", "-n", "--cores", "1"], cwd=project, capture_output=True, text=True,
                           env=engine_env(project))
    assert plain.returncode == 0, plain.stderr


@pytest.mark.parametrize("spec, words", [
    ({"transform": "Normalize"}, "Normalize returns a float32 array, not a uint8 image"),
    ({"transform": "ToTensorV2"}, "ToTensorV2 returns a Tensor"),
    ({"transform": "MaskDropout"},
     "MaskDropout fails on a 128x128 training image with boxes: MaskDropout requires ['mask']"),
    ({"transform": "RandomCrop", "height": 200, "width": 200}, "RandomCrop fails on a 128x128 training image"),
])
def test_recipes_are_run_before_any_job_starts(tmp_path, spec, words):
    """A recipe that would fail minutes into training, or train on wrongly scaled images, is refused
    at validation, naming the recipe, the transform and its line."""
    params = default_params()
    params["recipes"]["mixed"]["albumentations"].append(spec)
    path = write(tmp_path, params)
    with pytest.raises(paramsfile.ParamsError) as e:
        paramsfile.load(path)
    line = _line(path, spec["transform"])
    assert str(e.value).startswith(f"{path}:{line}: recipes.mixed.albumentations[4]: {words}")


def test_a_crop_that_fits_the_training_size_is_fine():
    params = default_params()
    params["recipes"]["mixed"]["albumentations"].append({"transform": "RandomCrop", "height": 128, "width": 128})
    paramsfile.validate(params)


def test_a_params_file_that_passed_is_not_validated_again(tmp_path, monkeypatch):
    """Snakemake plans on every invocation; validating runs every recipe (Albumentations, torch:
    seconds), so a text that passed with this code is remembered -- and any edit validates again."""
    path = write(tmp_path, default_params())
    cache = tmp_path / "cache"
    calls = []
    real = paramsfile.validate
    monkeypatch.setattr(paramsfile, "validate", lambda *a: calls.append(a[1]) or real(*a))
    assert paramsfile.load(path, cache) == paramsfile.load(path, cache) == default_params()
    assert len(calls) == 1 and len(list(cache.iterdir())) == 1
    broken = default_params()
    broken["train"]["epochs"] = 0
    path = write(tmp_path, broken)
    with pytest.raises(paramsfile.ParamsError, match="train.epochs"):
        paramsfile.load(path, cache)
    with pytest.raises(paramsfile.ParamsError, match="train.epochs"):  # a failure is never remembered
        paramsfile.load(path, cache)
    assert len(calls) == 3
