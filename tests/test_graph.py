"""One graph: dvc.yaml's code dependencies and params are the ones Snakemake's rules compute, in seconds.

Snakemake's rules take each stage's code files from augaudit.graph (the imports, followed) and its
params from stageparams.stage_params; dvc.yaml must list the same, or the two engines would re-run
different things after the same edit.
"""

from __future__ import annotations

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
