"""The whole DAG on a tiny config through both real engines, with outbound network blocked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from augaudit.files import hash_path
from augaudit.perturbations import CATALOGUE
from augaudit.risk import VERDICTS

from conftest import run, tiny_params

pytestmark = pytest.mark.e2e

STAGE_OUTPUTS = ["data/clean", "data/perturbed/fog", "results/models/flips/r1", "results/predictions/mixed/clean",
                 "results/predictions/baseline/rotate", "results/scores/baseline", "results/summary", "results/report"]


@pytest.mark.parametrize("engine", ["snakemake_run", "dvc_run"])
def test_engine_runs_offline_and_writes_every_output(engine, request):
    project = request.getfixturevalue(engine)
    assert not (project / "network.log").exists(), (project / "network.log").read_text()
    for out in STAGE_OUTPUTS:
        assert (project / out / "provenance.json").is_file(), f"{out} has no provenance.json"
    prov = json.loads((project / "results/models/flips/r1/provenance.json").read_text())
    assert prov["inputs"]["init"]["path"] == "results/models/baseline/r1/best.pt"  # replicate i from replicate i
    assert set(prov) >= {"inputs", "params", "code", "packages", "device", "seed", "ultralytics_args"}
    assert prov["params"]["variants.flips"]["recipe"] == "flips" and prov["replicate"] == "r1"
    # the arguments Ultralytics resolved and ran with, kept beside the model and in its provenance
    args = yaml.safe_load((project / "results/models/flips/r1/args.yaml").read_text())
    assert args == prov["ultralytics_args"] and args["optimizer"] == "AdamW" and args["lr0"] == 0.002
    assert prov["packages"]["ultralytics-opencv-headless"] and prov["code"]["source_sha256"]


def test_both_engines_produce_the_same_outputs(snakemake_run, dvc_run):
    for out in ["data/clean", *(f"data/perturbed/{p}" for p in tiny_params()["perturbations"])]:
        assert hash_path(snakemake_run / out) == hash_path(dvc_run / out), out
    a = pd.read_csv(snakemake_run / "results/summary/summary.csv")
    b = pd.read_csv(dvc_run / "results/summary/summary.csv")
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((snakemake_run / "results/summary/audit.json").read_text()) == \
        json.loads((dvc_run / "results/summary/audit.json").read_text())


def test_contracts(snakemake_run):
    params = tiny_params()
    preds = pd.read_parquet(snakemake_run / "results/predictions/baseline/clean/r1/0.parquet")
    assert list(preds.columns) == ["image_id", "class_id", "score", "x1", "y1", "x2", "y2"]
    n_tests = 1 + sum(len(p["severities"]) for p in params["perturbations"].values())
    n_images = params["dataset"]["synthetic"]["test"]
    for variant, replicates in (("mixed", 1), ("baseline", 2)):
        per_image = pd.read_parquet(snakemake_run / f"results/scores/{variant}/per_image.parquet")
        assert list(per_image.columns) == ["variant", "replicate", "test", "perturbation", "factor", "severity",
                                           "image_id", "tp", "fp", "fn", "f1", "broken"]
        assert len(per_image) == n_tests * n_images * replicates  # images without detections still appear
    summary = pd.read_csv(snakemake_run / "results/summary/summary.csv")
    assert list(summary.columns) == ["variant", "perturbation", "factor", "severity", "map50", "map50_95", "risk",
                                     "risk_low", "risk_high", "n_images", "map50_sd", "map50_95_sd", "replicates"]
    assert summary.groupby("variant")["replicates"].first().to_dict() == {"baseline": 2, "flips": 2, "mixed": 1}
    assert set(summary["variant"]) == set(params["variants"])
    assert (summary["risk_low"] <= summary["risk"]).all() and (summary["risk"] <= summary["risk_high"]).all()
    metrics = json.loads((snakemake_run / "results/summary/metrics.json").read_text())
    for m in metrics.values():
        assert {"map_clean", "map_clean_sd", "mP_tested", "rP_tested", "risk", "risk_by_factor",
                "breaking_points", "tests"} <= set(m)
        assert "mPC" not in m  # the tiny run is not the COCO-C protocol: nothing claims it
        assert len(m["risk_by_factor"]) >= 4
        assert set(m["breaking_points"]) == set(params["perturbations"]) - {"vflip"}  # none for one level
        assert m["breaking_points"]["gaussian_blur"]["unit"] == "sigma (px)"
        assert m["breaking_points"]["gaussian_blur"]["ladder"] == [1.0, 2.0]
    audit = json.loads((snakemake_run / "results/summary/audit.json").read_text())
    assert set(audit["variants"]) == {"mixed", "flips"}
    assert audit["method"]["multiplicity"] == "holm"


def test_recipes_were_applied_by_ultralytics(snakemake_run):
    log = (snakemake_run / "results/models/mixed/r0/train.log").read_text()
    assert "albumentations: GaussianBlur(p=0.3" in log and "RandomFog(p=0.1" in log
    recipe = json.loads((snakemake_run / "results/models/flips/r1/recipe.json").read_text())
    names = [t["__class_fullname__"] for t in recipe["albumentations"]["transform"]["transforms"]]
    assert names == ["HorizontalFlip", "VerticalFlip"]


def test_geometric_perturbation_moves_the_boxes(snakemake_run):
    clean = snakemake_run / "data/clean/labels/test"
    flipped = snakemake_run / "data/perturbed/vflip/1/labels"
    for label in sorted(clean.glob("*.txt")):
        a = np.loadtxt(label, ndmin=2)
        b = np.loadtxt(flipped / label.name, ndmin=2)
        np.testing.assert_allclose(b[:, 2], 1 - a[:, 2], atol=2e-6)
        np.testing.assert_allclose(b[:, [0, 1, 3, 4]], a[:, [0, 1, 3, 4]], atol=2e-6)


def test_report_is_self_contained(snakemake_run):
    page = (snakemake_run / "results/report/index.html").read_text()
    assert "vega-embed" in page or "vegaEmbed" in page
    assert "cdn.jsdelivr" not in page and 'src="http' not in page
    for title in ["Risk per factor", "Risk vs severity per perturbation", "Augmentation audit", "Provenance"]:
        assert title in page
    assert (snakemake_run / "results/report/figures/risk_by_factor.png").stat().st_size > 1000


def test_every_stage_leaves_a_benchmark_and_make_profile_sums_them(snakemake_run):
    out = run(["augaudit", "profile"], snakemake_run).stdout
    stages = {line.split()[0] for line in out.splitlines()[1:] if line and not line.startswith(("stage", " "))}
    assert {"prepare", "check", "train", "perturb", "predict", "score", "compare", "report"} <= stages, out


def test_long_stages_say_what_they_did_in_their_logs(snakemake_run):
    """perturb, predict, score and compare: progress lines (no carriage returns in a log) and, before the
    timing line, one saying what the job did."""
    for stage, what in (("perturb", "images x"), ("predict", "replicates x"), ("score", "tests x"),
                        ("compare", "audit rows")):
        logs = sorted((snakemake_run / "logs" / stage).rglob("*.log")) or [snakemake_run / "logs" / f"{stage}.log"]
        for log in logs:
            lines = log.read_text().splitlines()
            assert "\r" not in log.read_text() and len(lines) >= 2, log
            last = lines[-2]
            assert lines[-1].startswith("timing: ") and what in last and last.endswith(" s)"), (log, lines[-3:])
        if stage != "compare":
            assert any("%|" in line for line in lines), (log, lines)  # tqdm's progress


def test_second_snakemake_run_does_nothing(snakemake_run):
    out = run(["snakemake", "--cores", "2", "-n"], snakemake_run)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_unkept_pixels_are_regenerated_and_give_the_same_numbers(snakemake_run, tmp_path):
    """perturb.materialize: sample keeps `perturb.sample` images per severity; predict regenerates the rest
    from the clean images and the manifest: only perturb and what follows re-run, the numbers are
    byte-identical, and a manifest the code no longer reproduces is a one-line error naming the image."""
    from conftest import copy_project

    project = copy_project(snakemake_run, tmp_path / "p")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["perturb"] = {"materialize": "sample", "sample": 3}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["snakemake", "--cores", "2"], project)
    ran = {line.split()[1].rstrip(":") for line in (out.stdout + out.stderr).splitlines()
           if line.startswith(("rule ", "localrule "))}
    assert ran == {"perturb", "predict", "score", "compare", "report", "all"}, ran
    n = params["dataset"]["synthetic"]["test"]
    for p, spec in params["perturbations"].items():
        for severity in spec["severities"]:
            assert len(list((project / f"data/perturbed/{p}/{severity}/images").iterdir())) == 3
            assert len(list((snakemake_run / f"data/perturbed/{p}/{severity}/images").iterdir())) == n
        assert (project / f"data/perturbed/{p}/{severity}/boxes.csv").read_bytes() == \
            (snakemake_run / f"data/perturbed/{p}/{severity}/boxes.csv").read_bytes()
    for v in params["variants"]:
        assert (project / f"results/scores/{v}/metrics.json").read_bytes() == \
            (snakemake_run / f"results/scores/{v}/metrics.json").read_bytes()
    assert (project / "results/summary/audit.json").read_bytes() == \
        (snakemake_run / "results/summary/audit.json").read_bytes()
    # a manifest whose pixel hash the code no longer reproduces: one line naming the test and the image
    manifest = project / "data/perturbed/fog/manifest.csv"
    table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    last = table.index[-1]
    table.loc[last, "pixels_sha256"] = "0" * 64
    table.to_csv(manifest, index=False)
    out = run(["snakemake", "--cores", "1", "--forcerun", "results/predictions/baseline/fog"], project, check=False)
    log = (project / "logs/predict/baseline/fog.log").read_text()
    said = [line for line in log.splitlines() if "%|" not in line]  # less the progress lines
    assert out.returncode != 0 and "Traceback" not in log and len(said) == 1, log[-2000:]
    assert f"fog severity {table.loc[last, 'severity']} image {table.loc[last, 'image_id']}: regenerated" in log


def test_label_free_mode_rescores_without_labels(snakemake_run, tmp_path):
    from conftest import copy_project

    project = copy_project(snakemake_run, tmp_path / "p")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"]["reference"] = "predictions"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["snakemake", "--cores", "2"], project)
    ran = {line.split()[1].rstrip(":") for line in (out.stdout + out.stderr).splitlines()
           if line.startswith(("rule ", "localrule "))}
    assert ran == {"score", "compare", "report", "all"}, ran
    per_image = pd.read_parquet(project / "results/scores/baseline/per_image.parquet")
    assert (per_image.loc[per_image["test"] == "clean", "f1"] == 1.0).all()  # self-consistent by definition
    assert json.loads((project / "results/scores/baseline/metrics.json").read_text())["reference"] == "predictions"
    # every image is breakable now, so the audit compares: flips (2 seeds vs 2) covers seed variation,
    # mixed (1 seed) gets no verdict and says what would give it one
    audit = json.loads((project / "results/summary/audit.json").read_text())
    factors = {p.factor for name, p in CATALOGUE.items() if name in params["perturbations"]}
    alone = {f for f in factors if sum(CATALOGUE[p].factor == f for p in params["perturbations"]) == 1}
    for variant, assessable in (("mixed", False), ("flips", True)):
        rows = [r for r in audit["rows"] if r["variant"] == variant]
        assert len(rows) == len(factors) + len(params["perturbations"])
        assert audit["variants"][variant]["family_size"] == len(rows) - len(alone)   # duplicates counted once
        assert audit["variants"][variant]["assessable"] == assessable
        if assessable:
            assert all(r["verdict"] in set(VERDICTS) - {"not assessable"} or "zero standard error" in r["reason"]
                       for r in rows)
            assert all(r["p_adjusted"] >= r["p_value"] for r in rows if r["p_value"] is not None)
        else:
            assert {r["verdict"] for r in rows} == {"not assessable"}
            assert all("one trained replicate" in r["reason"] for r in rows)
    page = (project / "results/report/index.html").read_text()
    assert "not assessable</b>" in page and "<h2>Findings</h2>" in page


def test_prescribe_train_and_validate_the_prescription(snakemake_run, tmp_path):
    """The loop closed on the tiny config: prescribe from a finished run, run the prescribed params
    (only the new variant's and its control's jobs and the summary run), and the audit validates each
    prescribed factor against the control: the variant fine-tuned the same way with its own recipe.
    Label-free scoring, so every image can break."""
    from conftest import copy_project

    project = copy_project(snakemake_run, tmp_path / "p")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["score"]["reference"] = "predictions"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["snakemake", "--cores", "2"], project)
    run(["augaudit", "prescribe", "--variant", "baseline", "--factors", "1", "--min-risk", "0"], project)
    (project / "params.yaml").write_text((project / "results/prescription/params.yaml").read_text())
    variants = yaml.safe_load((project / "params.yaml").read_text())["variants"]
    prescribed, control = variants["baseline_rx"], variants["baseline_ft"]
    assert (prescribed["baseline"], prescribed["prescribed_for"], control["baseline"]) == \
        ("baseline_ft", "baseline", "baseline")
    assert len(prescribed["prescribed"]) == 1 and control["train"] == prescribed["train"]
    out = run(["snakemake", "--cores", "2"], project)
    jobs = [line.split()[1].rstrip(":") for line in (out.stdout + out.stderr).splitlines()
            if line.startswith(("rule ", "localrule "))]
    assert sorted(jobs) == sorted(["train"] * 4 + ["predict"] * 2 * (1 + len(params["perturbations"]))
                                  + ["score"] * 2 + ["scope", "compare", "report", "all"]), jobs
    audit = json.loads((project / "results/summary/audit.json").read_text())
    (check,) = audit["variants"]["baseline_rx"]["prescription"]
    alone = next(r for r in audit["rows"] if r["variant"] == "baseline_ft" and r["name"] == check["factor"])
    assert check["training_alone"] == {k: alone[k] for k in ("difference", "low", "high", "p_adjusted", "verdict")}
    assert check["factor"] == prescribed["prescribed"][0] and check["verdict"] != "not tested"
    assert check["validated"] == (check["verdict"] == "helped")
    assert check["difference"] == pytest.approx(check["risk"] - check["baseline_risk"])
    assert "<h2>Prescriptions" in (project / "results/report/index.html").read_text()


def test_snakemake_report_includes_the_figures(snakemake_run, tmp_path):
    from conftest import copy_project

    project = copy_project(snakemake_run, tmp_path / "p")
    run(["snakemake", "--report", "report.html"], project)
    page = (project / "report.html").read_text(errors="replace")
    figures = {p.stem for p in (project / "results/report/figures").glob("*.png")}
    # the audit heatmap exists when some image can break under both variants; the tiny models find nothing
    assert {"risk_by_factor", "risk_vs_severity", "map_vs_risk", "slices"} <= figures
    for figure in figures:
        assert f"{figure}.png" in page, figure


def test_dvc_plots_show_renders_risk_curves(dvc_run, tmp_path):
    """`dvc plots show` fills the risk_curves template; its page loads Vega from a CDN, so the filled
    spec is rendered offline with vl-convert instead."""
    import vl_convert as vlc

    from conftest import copy_project

    project = copy_project(dvc_run, tmp_path / "p")
    out = run(["dvc", "plots", "show", "--json"], project)
    specs = [item["content"] for items in json.loads(out.stdout)["data"].values() for item in items
             if item.get("type") == "vega"]
    assert len(specs) == 1
    svg = vlc.vegalite_to_svg(json.dumps(specs[0]))
    assert "Risk vs severity per perturbation" in svg
    assert all(f">{p}<" in svg for p in tiny_params()["perturbations"])
