"""One graph: dvc.yaml's code dependencies and params are the ones Snakemake's rules compute, in seconds.

Snakemake's rules take each stage's code files from augaudit.graph (the imports, followed) and its
params from stageparams.stage_params; dvc.yaml must list the same, or the two engines would re-run
different things after the same edit.
"""

from __future__ import annotations

import json

import pytest
import yaml

from augaudit import graph, stageparams

from conftest import ROOT, default_params

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
# dvc.yaml's stage names: predict runs as predict_clean (foreach) and predict (matrix)
DVC_STAGES = {"prepare": ["prepare"], "check": ["check"], "train": ["train"], "perturb": ["perturb"],
              "predict": ["predict_clean", "predict"], "score": ["score"], "compare": ["compare"],
              "report": ["report"]}


def _body(name: str) -> dict:
    stage = DVC[name]
    return stage.get("do", stage)


@pytest.mark.parametrize("stage", graph.STAGES)
def test_dvc_lists_each_stage_s_computed_code(stage):
    want = graph.code_files(stage, ROOT)
    for name in DVC_STAGES[stage]:
        listed = [d for d in _body(name)["deps"] if d.startswith(("scripts/", "src/"))]
        assert listed == want, f"dvc.yaml stage {name}: its code deps should read\n" + "\n".join(
            f"        - {f}" for f in want)


def _dvc_params(name: str, variant: str, perturbation: str) -> list[str]:
    recipe = default_params()["variants"][variant]["recipe"]
    subs = {"${key}": variant if name in ("train", "predict_clean", "score") else perturbation,
            "${item.recipe}": recipe, "${item.variant}": variant, "${item.perturbation}": perturbation}
    out = []
    for key in _body(name).get("params", []):
        for a, b in subs.items():
            key = key.replace(a, b)
        out.append(key)
    return out


@pytest.mark.parametrize("stage", graph.STAGES)
def test_dvc_lists_each_stage_s_declared_params(stage):
    params = default_params()
    variant, perturbation = "flips", "fog"
    item = {"train": variant, "perturb": perturbation}.get(stage)
    want = sorted(stageparams.stage_params(params, stage, item))
    for name in DVC_STAGES[stage]:
        assert sorted(_dvc_params(name, variant, perturbation)) == want, name


def test_code_follows_imports_wherever_they_are(tmp_path):
    """A lazy import inside a function counts; a module nobody imports does not."""
    package = tmp_path / "src" / "augaudit"
    (package / "stages").mkdir(parents=True)
    (tmp_path / "scripts").mkdir()
    (package / "__init__.py").write_text("")
    (package / "stages" / "__init__.py").write_text("")
    (package / "stages" / "demo.py").write_text("from augaudit import a\n\ndef run():\n    import augaudit.b\n")
    (package / "a.py").write_text("from augaudit.c import thing\n")
    for name in ("b", "c", "unused"):
        (package / f"{name}.py").write_text("thing = 1\n")
    files = graph.code_files("demo", tmp_path)
    assert files == ["scripts/demo.py"] + [f"src/augaudit/{f}" for f in
                                           ("__init__.py", "a.py", "b.py", "c.py", "stages/demo.py")]


def _placeholders(project, params) -> None:
    """Every output of the tiny DAG as a placeholder file, so the engines plan from a finished state."""
    def make(rel, folder=False):
        path = project / rel
        (path if folder else path.parent).mkdir(parents=True, exist_ok=True)
        (path / "x" if folder else path).write_text("x")

    make("data/clean", True)
    make("results/check/data_check.json")
    for v in params["variants"]:
        for r in stageparams.replicate_names(params, v):
            for name in ("best.pt", "recipe.json", "train.log", "provenance.json"):
                make(f"results/models/{v}/{r}/{name}")
        for t in ["clean", *params["perturbations"]]:
            make(f"results/predictions/{v}/{t}", True)
        make(f"results/scores/{v}", True)
    for t in params["perturbations"]:
        make(f"data/perturbed/{t}", True)
    make("results/summary", True)
    make("results/report", True)


# what re-runs after a stage re-runs (its outputs are newer than theirs)
DOWNSTREAM = {"prepare": set(graph.STAGES) - {"prepare"}, "check": {"train", "perturb", "predict", "score", "compare",
                                                                    "report"},
              "train": {"predict", "score", "compare", "report"}, "perturb": {"predict", "score", "compare", "report"},
              "predict": {"score", "compare", "report"}, "score": {"compare", "report"}, "compare": {"report"},
              "report": set()}


def _stage(job: str) -> str:
    return "predict" if job.startswith("predict") else job.split("@")[0]


@pytest.mark.e2e
def test_editing_a_module_plans_exactly_the_stages_that_import_it(tmp_path):
    """Both real engines, no training: from a finished state (placeholder outputs, touched by
    Snakemake and committed by DVC), an edit of each augaudit module makes `snakemake -n` and
    `dvc status` plan exactly the stages whose code imports it -- no fewer, no more."""
    import os
    import re

    from conftest import make_project, run, tiny_params

    params = tiny_params()
    project = make_project(tmp_path / "p", params)
    _placeholders(project, params)
    run(["snakemake", "--touch", "--cores", "1"], project)
    run(["dvc", "commit", "-f", "-q"], project)
    assert "Nothing to be done" in run(["snakemake", "-n"], project).stdout
    modules = sorted(p for p in (project / "src/augaudit").rglob("*.py") if "__pycache__" not in p.parts)
    checked = 0
    for module in modules:
        rel = module.relative_to(project).as_posix()
        expected = {s for s in graph.STAGES if rel in graph.code_files(s, project)}
        original, stat = module.read_bytes(), module.stat()
        module.write_bytes(original + b"\n# an edit\n")
        try:
            plan = run(["snakemake", "-n"], project).stdout
            snakemake = {rule for rule in re.findall(r"^(?:local)?rule (\w+):$", plan, re.MULTILINE)} - {"all"}
            dvc = {_stage(job) for job in json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")}
        finally:
            module.write_bytes(original)
            os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        # Snakemake re-runs everything downstream of a re-run job; DVC lists the stages changed now
        downstream = {s for s in graph.STAGES if any(s in DOWNSTREAM[e] for e in expected)}
        assert snakemake == expected | downstream, f"{rel}: snakemake plans {sorted(snakemake)}, imports say " \
            f"{sorted(expected)} and what follows them"
        assert dvc == expected, f"{rel}: dvc plans {sorted(dvc)}, imports say {sorted(expected)}"
        checked += bool(expected)
    assert checked >= 15  # most modules feed some stage
