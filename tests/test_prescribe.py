"""prescribe: the factor -> transform table, and prescriptions from a synthetic finished run.

The finished run is written here in the format compare writes (results/summary/metrics.json and
audit.json): no training, no other run's files.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from augaudit import paramsfile, perturbations, prescribe, prescription_file, prescription_table, recipes

from conftest import ROOT

FACTOR_RISK = {  # per variant; the default's recipes: mixed targets blur, noise, lighting; flips geometry
    "baseline": {"blur": 31, "noise": 43, "quality": 10, "lighting": 65, "colour": 39, "geometry": 31,
                 "occlusion": 45, "weather": 83},
    "mixed": {"blur": 26, "noise": 26, "quality": 6, "lighting": 99, "colour": 27, "geometry": 28,
              "occlusion": 15, "weather": 76},
    "flips": {"blur": 28, "noise": 47, "quality": 5, "lighting": 69, "colour": 34, "geometry": 90,
              "occlusion": 46, "weather": 86},
}


def _risk(value: float) -> dict:
    return {"risk": float(value), "risk_low": value - 5.0, "risk_high": value + 5.0, "se": 2.5, "df": 99.0,
            "n_images": 100, "replicates": 1}


def fake_metrics(params: dict, red_at: float = 0.5, overrides: dict | None = None) -> dict:
    """metrics.json as compare writes it. Every perturbation's risk is its factor's; its red breaking
    point lies `red_at` of the way from clean to the top of the run's ladder (yellow halfway there);
    `overrides[variant][perturbation]` sets that fraction per perturbation (None: never red)."""
    out = {}
    for variant in params["variants"]:
        risks = FACTOR_RISK[variant.split("_")[0]]  # a prescribed variant or a control: its variant's risks
        by_pert, points = {}, {}
        for name, spec in params["perturbations"].items():
            by_pert[name] = _risk(risks[perturbations.CATALOGUE[name].factor])
            axis = perturbations.ladder_axis(name, sorted(spec["severities"]), spec.get("ladder"))
            if axis is None:
                continue
            unit, xs = axis
            frac = (overrides or {}).get(variant, {}).get(name, red_at)

            def at(f, xs=xs):
                return None if f is None else xs[0] + f * (xs[-1] - xs[0])

            points[name] = {"unit": unit, "ladder": xs[1:],
                            "red": {"value": at(frac), "low": at(frac and frac * 0.9), "high": at(frac and frac * 1.1)},
                            "yellow": {"value": at(frac and frac / 2), "low": None, "high": at(frac and frac / 1.8)}}
        chosen = {"risk_by_factor": {f: _risk(r) for f, r in sorted(risks.items())},
                  "risk_by_perturbation": dict(sorted(by_pert.items())), "breaking_points": points}
        # what compare writes: the figures on every image, and on the half that chooses prescriptions
        out[variant] = {"replicates": 1, "map50_clean": 0.8, "risk": _risk(40), **copy.deepcopy(chosen),
                        "selection": {"images": 50, "split": "the even half", **chosen}, "tests": []}
    return out


def fake_audit(params: dict) -> dict:
    rows, variants = [], {}
    for v, spec in params["variants"].items():
        if "baseline" not in spec:
            continue
        targets = params["recipes"][spec["recipe"]]["targets"]
        variants[v] = {"baseline": spec["baseline"], "recipe": spec["recipe"], "targets": targets, "assessable": True,
                       "reason": None}
        for f in perturbations.FACTORS:
            rows.append({"variant": v, "baseline": spec["baseline"], "level": "factor", "name": f, "factor": f,
                         "targeted": f in targets, "difference": -1.0, "low": -6.0, "high": 4.0, "p_value": 0.7,
                         "p_adjusted": 1.0, "verdict": "no effect", "reason": None})
    return {"method": {"multiplicity": "holm"}, "variants": variants, "rows": rows}


def write_run(root, params_text: str | None = None, **metrics_kw) -> dict:
    """A finished run in `root`: params.yaml (the repository's default, comments and all) and its summary."""
    text = params_text if params_text is not None else (ROOT / "params.yaml").read_text()
    (root / "params.yaml").write_text(text)
    if not (root / "models").exists():  # the architecture yamls the variants start from
        shutil.copytree(ROOT / "models", root / "models")
    params = paramsfile.load(root / "params.yaml")
    summary = root / "results" / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    (summary / "metrics.json").write_text(json.dumps(fake_metrics(params, **metrics_kw), indent=2))
    (summary / "audit.json").write_text(json.dumps(fake_audit(params), indent=2))
    return params


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(root, params, **options):
    """The command as run in the project root (the tests chdir into `root`): paths relative to it."""
    assert Path.cwd() == root
    return root / prescribe.run(params, "params.yaml", "results/summary", "results/prescription",
                                prescribe.Options(**options))


def _record(out) -> dict:
    return json.loads((out / "prescription.json").read_text())


# ---------------------------------------------------------------- the table

def test_the_table_covers_every_factor_and_every_perturbation_of_the_catalogue():
    table = prescription_table.table()
    assert set(table["factors"]) == set(perturbations.FACTORS)
    for factor, entries in table["factors"].items():
        sources = [e["source"] for e in entries]
        assert sorted(sources) == sorted(n for n, p in perturbations.CATALOGUE.items() if p.factor == factor)
        for e in entries:
            assert e.get("unit") == prescription_table.expected_unit(e["source"])
            assert len(" ".join(e["rationale"].split())) > 40


@pytest.mark.parametrize("malformed, words", [
    (lambda t: t["factors"].pop("weather"), "factors: expected"),
    (lambda t: t["factors"]["blur"][0].update(unit="degrees"), "unit 'degrees'"),
    (lambda t: t["factors"]["blur"][0]["magnitude"][0].update(points=[[0, 1]]), "one of"),
    (lambda t: t["factors"]["blur"][1].update(source="gaussian_blur"), "appears twice"),
    (lambda t: t["factors"]["colour"][0].update(source="rotate"), "no colour perturbation"),
])
def test_a_malformed_table_is_refused(malformed, words):
    table = prescription_table.table()
    malformed(table)
    with pytest.raises(ValueError, match=words):
        prescription_table.check_table(table)


def _entries():
    return [pytest.param(factor, e, id=e["source"])
            for factor, es in prescription_table.table()["factors"].items() for e in es]


@pytest.mark.parametrize("factor, entry", _entries())
def test_every_entry_builds_and_runs_on_training_images_across_its_ladder(factor, entry):
    """From the clean value through every level of the catalogue's ladder, at two training sizes."""
    src = entry["source"]
    axis = perturbations.ladder_axis(src, list(range(1, len(perturbations.CATALOGUE[src].ladder) + 1)))
    xs = axis[1] if axis else [None]
    for imgsz in (64, 320):
        for x in (xs if imgsz == 64 else xs[-1:]):
            args = prescription_table._fixed_args(entry.get("args", {}), imgsz)
            for m in entry.get("magnitude", []):
                args[m["arg"]] = prescription_table.map_value(src, m, x, imgsz)
            spec = {"transform": entry["transform"], "p": entry["p"], **args}
            transform = recipes.build_transform(spec)
            recipes.check_runs(transform, imgsz)


def test_maps_ranges_clamps_and_ladder_levels():
    rotate = {"arg": "rotate", "linear": [1, 0], "clamp": [1, 180], "around": 0}
    assert prescription_table.map_value("rotate", rotate, 22.96, 160) == [-23.0, 23.0]
    assert prescription_table.map_value("rotate", rotate, 0.2, 160) == [-1.0, 1.0]  # clamped
    jpeg = {"arg": "quality_range", "linear": [1, 0], "clamp": [1, 95], "round": "int", "to": 95}
    assert prescription_table.map_value("jpeg_compression", jpeg, 21.4, 160) == [21, 95]
    motion = {"arg": "blur_limit", "linear": [2, 1], "clamp": [3, 61], "round": "odd", "from": 3}
    assert prescription_table.map_value("motion_blur", motion, 8.0, 160) == [3, 17]
    kind = {"arg": "rain_type", "ladder": 0}
    assert [prescription_table.map_value("rain", kind, x, 160) for x in (0.3, 1.0, 2.2, 9)] == \
        ["drizzle", "drizzle", "heavy", "torrential"]
    darkening = {"arg": "brightness_coefficient", "ladder": 1, "clean": 1.0}
    assert prescription_table.map_value("rain", darkening, 0.5, 160) == 0.95
    flare = {"arg": "src_radius", "linear": [1, 0], "times_imgsz": True, "round": "int"}
    assert prescription_table.map_value("sun_flare", flare, 0.25, 320) == 80


def test_probability_cap_leaves_the_clean_share():
    for keep in (0.5, 0.7, 0.9):
        for n in range(1, 40):
            cap = prescription_table.probability_cap(n, keep)
            assert (1 - cap) ** n >= keep and cap == round(cap, 2)
    assert prescription_table.probability_cap(1, 0.5) == 0.5 and prescription_table.probability_cap(2, 0.5) == 0.29


# ---------------------------------------------------------------- prescriptions

def test_a_prescription_is_deterministic_and_a_valid_params_file(run_dir):
    params = write_run(run_dir)
    out = _run(run_dir, params)
    first = {f: (out / f).read_bytes() for f in ("params.yaml", "params.diff", "prescription.json")}
    _run(run_dir, params)
    assert {f: (out / f).read_bytes() for f in first} == first
    prescribed = paramsfile.load(out / "params.yaml")  # the schema, the cross-references, every recipe built and run
    assert set(prescribed["variants"]) == set(params["variants"]) | {f"{v}_{s}" for v in params["variants"]
                                                                      for s in ("rx", "ft")}
    text = first["params.yaml"].decode()
    assert "# augaudit parameters: the one source of truth" in text  # the user's comments are kept
    assert "cp results/prescription/params.yaml params.yaml && snakemake --cores all" in text
    assert "dvc repro" in text
    for name in params["variants"]:  # the old variants and recipes are untouched
        assert prescribed["variants"][name] == params["variants"][name]
    diff = first["params.diff"].decode()
    assert diff.startswith("--- params.yaml\n+++ results/prescription/params.yaml\n") and "+  baseline_rx:" in diff
    assert not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    record = _record(out)
    lines = text.splitlines()
    for name, v in record["variants"].items():  # every transform says why, in a comment right above it
        added = prescribed["recipes"][name]["albumentations"][-len(v["transforms"]):]
        for t, spec in zip(v["transforms"], added, strict=True):
            assert t["why"] and t["rationale"] and spec == t["spec"]
            at = above = lines.index(f"      - {prescription_file._flow(spec)}", lines.index(f"  {name}:"))
            while lines[above - 1].startswith("      # "):
                above -= 1
            comment = " ".join(line.strip()[2:] for line in lines[above:at])
            assert t["why"] in comment and t["rationale"] in comment
        control = v["control"]  # a warm start's control says what it is for, in a comment right above it
        above = lines.index(f"  {control}:")
        while lines[above - 1].startswith("  # "):
            above -= 1
        assert lines[above].startswith(f"  # the control of {name} (augaudit prescribe)")
    assert record["inputs"] and record["rules"]["reference"] == "docs/prescribe.md"


def test_the_weakest_untargeted_factors_are_prescribed_and_targeted_ones_never(run_dir):
    params = write_run(run_dir)
    record = _record(_run(run_dir, params))
    chosen = {v["prescribed_for"]: [f["factor"] for f in v["factors"]] for v in record["variants"].values()}
    assert chosen["baseline"] == ["weather", "lighting"]  # the two highest risks
    assert chosen["mixed"] == ["weather", "geometry"]  # lighting (99 %) is targeted by mixed's recipe
    assert chosen["flips"] == ["weather", "lighting"]  # geometry (90 %) is targeted by flips'
    mixed = record["variants"]["mixed_rx"]
    assert mixed["targets"] == ["blur", "noise", "lighting", "weather", "geometry"]
    assert [t["source"] for t in mixed["transforms"]] == ["fog", "vflip", "rotate"]  # the table's order
    assert [t["transform"] for t in mixed["transforms"]] == ["RandomFog", "VerticalFlip", "Affine"]
    prescribed = yaml.safe_load((run_dir / "results/prescription/params.yaml").read_text())
    assert prescribed["recipes"]["mixed_rx"]["albumentations"][:4] == params["recipes"]["mixed"]["albumentations"]
    one = _record(_run(run_dir, params, variants=("mixed",), factors=1))
    assert list(one["variants"]) == ["mixed_rx"] and [f["factor"] for f in one["variants"]["mixed_rx"]["factors"]] \
        == ["weather"]


def test_a_perturbation_the_model_copes_with_gets_no_transform(run_dir):
    params = write_run(run_dir)
    record = _record(_run(run_dir, params, variants=("mixed",)))
    geometry = next(f for f in record["variants"]["mixed_rx"]["factors"] if f["factor"] == "geometry")
    assert geometry["transforms"] == ["vflip", "rotate"]  # both at the factor's 28 % in this fake run
    assert geometry["not_tested"] == ["hflip", "scale", "translate", "perspective", "elastic_transform"]
    metrics_file = run_dir / "results/summary/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["mixed"]["risk_by_perturbation"]["vflip"]["risk"] = 50.0  # on every image: not what chooses
    metrics["mixed"]["selection"]["risk_by_perturbation"]["vflip"]["risk"] = 12.0  # the choosing half: below 20
    metrics_file.write_text(json.dumps(metrics))
    record = _record(_run(run_dir, params, variants=("mixed",)))
    geometry = next(f for f in record["variants"]["mixed_rx"]["factors"] if f["factor"] == "geometry")
    assert geometry["transforms"] == ["rotate"]
    assert geometry["skipped"] == [{"source": "vflip", "transform": "VerticalFlip",
                                    "reason": "risk 12.0 % is below 20 %: the model copes with vflip"}]
    record = _record(_run(run_dir, params, variants=("mixed",), min_risk=30))  # geometry's 28 % is below 30
    assert [f["factor"] for f in record["variants"]["mixed_rx"]["factors"]] == ["weather"]


def test_magnitude_follows_the_breaking_point_milder_for_a_model_that_breaks_earlier(run_dir):
    """Breaking earlier on the ladder means a smaller magnitude (contrast's ladder runs downwards: a
    narrower range towards 1); never breaking means the ladder's top."""
    def prescribed(red_at):
        params = write_run(run_dir, red_at=red_at)
        record = _record(_run(run_dir, params, variants=("baseline",)))
        return {t["source"]: t for t in record["variants"]["baseline_rx"]["transforms"]}

    early, late, never = prescribed(0.2), prescribed(0.6), prescribed(None)
    brightness = [t["brightness"]["magnitude"]["brightness_limit"][1] for t in (early, late)]
    assert brightness[0] < brightness[1]
    assert early["contrast"]["magnitude"]["contrast"][0] > late["contrast"]["magnitude"]["contrast"][0]
    assert early["fog"]["magnitude"]["fog_coef_range"][1] < late["fog"]["magnitude"]["fog_coef_range"][1]
    assert late["brightness"]["breaking_point"]["reached"] and not never["brightness"]["breaking_point"]["reached"]
    assert never["brightness"]["breaking_point"]["used"] == 0.5  # the run's ladder: brightness severity 5 = 0.5
    assert never["brightness"]["magnitude"]["brightness_limit"] == [0, 0.375]  # 0.75 x 0.5
    assert "never reaches the red zone" in never["brightness"]["why"]
    assert late["brightness"]["breaking_point"]["used"] == pytest.approx(0.3)  # 0.6 of the way to 0.5
    assert late["brightness"]["magnitude"]["brightness_limit"] == [0, 0.225]


def test_probabilities_leave_most_training_images_untouched(run_dir):
    params = write_run(run_dir)
    record = _record(_run(run_dir, params, factors=8, min_risk=0))
    for v in record["variants"].values():
        ps = [t["p"] for t in v["transforms"]]
        assert v["untouched"]["by_added"] >= 0.5
        assert all(p <= t["p_table"] for p, t in zip(ps, v["transforms"], strict=True))
        assert v["untouched"]["by_recipe"] == pytest.approx(v["untouched"]["by_recipe_before"]
                                                            * v["untouched"]["by_added"], abs=1e-3)
    paramsfile.load(run_dir / "results/prescription/params.yaml")
    record = _record(_run(run_dir, params, variants=("mixed",), keep_clean=0.8))
    assert record["variants"]["mixed_rx"]["untouched"]["by_added"] >= 0.8


def test_warm_start_by_default_from_scratch_on_request(run_dir):
    params = write_run(run_dir)
    warm = yaml.safe_load((_run(run_dir, params) / "params.yaml").read_text())["variants"]
    prescribed = warm["baseline_rx"]["prescribed"]   # the factors the audit will validate
    assert prescribed and set(prescribed) <= set(yaml.safe_load(
        (run_dir / "results/prescription/params.yaml").read_text())["recipes"]["baseline_rx"]["targets"])
    assert warm["baseline_rx"] == {"init": "results/models/baseline", "recipe": "baseline_rx",
                                   "baseline": "baseline_ft", "prescribed_for": "baseline", "prescribed": prescribed,
                                   "train": {"epochs": 4, "lr0": 0.0005}}
    # the control: the same start and fine-tuning, the variant's own recipe; audited against the variant
    assert warm["baseline_ft"] == {"init": "results/models/baseline", "recipe": "none", "baseline": "baseline",
                                   "train": {"epochs": 4, "lr0": 0.0005}}
    for v in ("mixed", "flips"):
        rx, ft = warm[f"{v}_rx"], warm[f"{v}_ft"]
        assert rx["init"] == ft["init"] == f"results/models/{v}" and rx["train"] == ft["train"]
        assert (rx["baseline"], ft["baseline"], ft["recipe"]) == (f"{v}_ft", v, params["variants"][v]["recipe"])
    cold = yaml.safe_load((_run(run_dir, params, from_scratch=True) / "params.yaml").read_text())["variants"]
    assert cold["baseline_rx"] == {"init": "models/yolov8n.yaml", "recipe": "baseline_rx", "baseline": "baseline",
                                   "prescribed_for": "baseline", "prescribed": prescribed}
    assert cold["flips_rx"] == {**params["variants"]["flips"], "recipe": "flips_rx", "baseline": "flips",
                                "prescribed_for": "flips", "prescribed": cold["flips_rx"]["prescribed"]}
    assert not any(name.endswith("_ft") for name in cold)  # from scratch, the variant itself is the control
    paramsfile.load(run_dir / "results/prescription/params.yaml")


def test_prescribing_again_adds_new_names_and_one_header(run_dir):
    params = write_run(run_dir)
    out = _run(run_dir, params, variants=("baseline",))
    again_text = (out / "params.yaml").read_text()
    params = write_run(run_dir, params_text=again_text)  # the prescription was run: baseline_rx has results now
    record = _record(_run(run_dir, params, variants=("baseline",)))
    assert list(record["variants"]) == ["baseline_rx2"] and record["variants"]["baseline_rx2"]["control"] == \
        "baseline_ft2"
    text = (out / "params.yaml").read_text()
    assert text.count(prescription_file.HEADER_START) == 1 and "baseline_rx:" in text and "baseline_rx2:" in text
    paramsfile.load(out / "params.yaml")
    # by default, a variant already prescribed for and a control are left out, with the reason
    record = _record(_run(run_dir, params))
    assert sorted(record["variants"]) == ["baseline_rx_rx", "flips_rx", "mixed_rx"]
    assert record["variants"]["baseline_rx_rx"]["control"] == "baseline_rx_ft"
    assert record["not_prescribed"] == {
        "baseline": "already prescribed for (baseline_rx): name it with --variant to prescribe for it",
        "baseline_ft": "the fine-tuned control of baseline_rx: name it with --variant to prescribe for it"}


def test_nothing_to_prescribe_writes_only_the_record(run_dir):
    params = write_run(run_dir)
    record = _record(_run(run_dir, params, min_risk=100))
    assert record["variants"] == {} and set(record["not_prescribed"]) == {"baseline", "mixed", "flips"}
    assert "reaches 100 %" in record["not_prescribed"]["mixed"]
    assert not (run_dir / "results/prescription/params.yaml").exists()


def test_a_stale_summary_is_refused(run_dir):
    params = write_run(run_dir)
    ran = copy.deepcopy(params)
    ran["recipes"]["mixed"]["albumentations"][0]["p"] = 0.9
    (run_dir / "results/summary/provenance.json").write_text(json.dumps({"params": ran}))
    with pytest.raises(prescribe.PrescriptionError, match="provenance.json: variants.mixed: the finished run used"):
        _run(run_dir, params)


def _script(root, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "AUGAUDIT_CONFIG_DIR": str(root / ".config")}
    return subprocess.run([sys.executable, "-m", "augaudit.command", "prescribe", *args], capture_output=True,
                          text=True, cwd=root, env=env)


def test_bad_input_is_one_line_naming_the_file_or_key(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    shutil.copytree(ROOT / "models", tmp_path / "models")
    result = _script(tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: results/summary/metrics.json: not found: no finished run here")
    write_run(tmp_path)
    result = _script(tmp_path, "--variant", "ghost")
    assert result.returncode == 1 and result.stderr.strip() == \
        "error: params.yaml: variants.ghost: not declared (known: baseline, mixed, flips)"
    result = _script(tmp_path, "--variant", "mixed")
    assert result.returncode == 0 and "mixed_rx" in result.stdout
    assert sorted(p.name for p in (tmp_path / "results/prescription").iterdir()) == \
        ["params.diff", "params.yaml", "prescription.json"]


@pytest.mark.parametrize("option, value, words", [
    ("--min-risk", "nan", "min_risk nan: a risk in percent, 0 to 100"),
    ("--min-risk", "150", "min_risk 150.0: a risk in percent, 0 to 100"),
    ("--keep-clean", "nan", "keep_clean nan: a share between 0 and 1"),
    ("--factors", "0", "factors 0: a count of at least 1"),
])
def test_an_option_outside_its_domain_is_refused_by_name(tmp_path, option, value, words):
    """NaN compares false with every bound: a NaN option must be refused, not prescribe from nothing."""
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    write_run(tmp_path)
    result = _script(tmp_path, option, value)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert not (tmp_path / "results/prescription").exists()
