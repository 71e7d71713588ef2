"""The stage registry (augaudit.stages): each stage module declares its JOBS and PARAMS; dispatch,
declared params and the stage list follow from them, and a stage missing any of its pieces (entry
script, rule, dvc.yaml stage, run arguments the registry can resolve) fails here, naming the fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from augaudit import dvcfile, stageparams, stages

from conftest import ROOT


def _rule_block(root: Path, stage: str) -> str | None:
    for smk in sorted((root / "workflow" / "rules").glob("*.smk")):
        if m := re.search(rf"^rule {stage}:\n(.*?)(?=^\S|\Z)", smk.read_text(), re.MULTILINE | re.DOTALL):
            return m.group(1)
    return None


def missing(root: Path) -> list[str]:
    """What each registered stage lacks, each as the fix to make."""
    folder = root / "src" / "augaudit" / "stages"
    out = []
    for stage in stages.names(folder):
        declared = stages.declaration(stage, folder)
        script = root / "scripts" / f"{stage}.py"
        calls = re.compile(rf'stageparams\.call\(\s*params, "{stage}"')
        if not script.is_file() or not calls.search(script.read_text()):
            out.append(f"add scripts/{stage}.py calling stageparams.call(params, {stage!r}, ...)")
        block = _rule_block(root, stage)
        if block is None:
            out.append(f"add rule {stage} to workflow/rules/ (log, benchmark, params: stage_params)")
        else:
            output = re.sub(r"patterns=\[.*?\]", "", block.split("output:", 1)[-1].split("log:", 1)[0])
            wildcards = set(re.findall(r"\{(\w+)\}", output))  # a report's patterns are no wildcards
            want = set(declared.jobs)
            if wildcards != want:
                out.append(f"rule {stage}: its output's wildcards {sorted(wildcards)} must be its JOBS' names "
                           f"{sorted(want)}")
            if stage != "check" and "stage_params(config, " + repr(stage).replace("'", '"') not in block:
                out.append(f"rule {stage}: add params: stage=lambda wc: stage_params(config, {stage!r}, ...)")
        for name, has_default in declared.arguments:
            if not has_default and name not in declared.jobs and name not in stageparams.DERIVED:
                out.append(f"stages/{stage}.py: run's argument {name!r} is neither a JOBS name nor one of "
                           f"stageparams.DERIVED ({', '.join(stageparams.DERIVED)})")
    try:
        dvcfile.render(root)
    except ValueError as e:
        out.append(str(e))
    return out


def test_every_stage_has_its_script_rule_dvc_stage_and_resolvable_arguments():
    assert missing(ROOT) == []


def test_a_new_stage_without_its_pieces_is_named_with_each_fix(tmp_path):
    for name in ("src", "scripts", "workflow"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "src/augaudit/stages/audit_log.py").write_text(
        'JOBS = {"variant": "variants"}\nPARAMS = ("seed",)\n\n\ndef run(params, variant, replicates, thing):\n'
        '    return None\n')
    found = missing(tmp_path)
    assert any("add scripts/audit_log.py" in m for m in found)
    assert any("add rule audit_log to workflow/rules/" in m for m in found)
    assert any("run's argument 'thing'" in m for m in found)
    assert any("dvc.yaml: no stage runs audit_log: add one" in m and "make dvc.yaml" in m for m in found)
    assert len(found) == 4
    # a rule whose wildcards are not the stage's JOBS
    rules = tmp_path / "workflow/rules/evaluate.smk"
    rules.write_text(rules.read_text().replace('paths.score_dir("{variant}")', 'paths.score_dir("all")', 1))
    assert any(m.startswith("rule score: its output's wildcards [] must be") for m in missing(tmp_path))


@pytest.mark.parametrize("source, message", [
    ('PARAMS = ("seed",)\n\ndef run(params):\n    pass\n', "declares no JOBS"),
    ('JOBS = {"variant": "everything"}\nPARAMS = ()\n\ndef run(params):\n    pass\n', "JOBS maps a job's names"),
    ('JOBS = {}\nPARAMS = ["seed"]\n\ndef run(params):\n    pass\n', "PARAMS is a tuple"),
    ('JOBS = {}\nPARAMS = tuple(["seed"])\n\ndef run(params):\n    pass\n', ":2: PARAMS must be a literal"),
    ('JOBS = {}\nPARAMS = ()\n', "defines no run(params, ...)"),
])
def test_a_malformed_declaration_is_one_line_naming_its_file(tmp_path, source, message):
    (tmp_path / "odd.py").write_text(source)
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        stages.declaration("odd", tmp_path)
    assert str(tmp_path / "odd.py") in str(e.value) and "\n" not in str(e.value)


def test_a_job_named_outside_the_stage_s_jobs_is_refused():
    from conftest import default_params

    with pytest.raises(TypeError, match=r"stage score: its jobs are named by \['variant'\], not \['perturbation'\]"):
        stageparams.stage_params(default_params(), "score", perturbation="fog")


def test_selections_keep_params_order_and_drop_emptied_sections():
    params = {"v": {"b": 1, "a": {"replicates": 3}, "c": 2, "z": 0}}
    assert list(stageparams._select(params["v"], ("c", "a", "b", "-a.replicates"))) == ["b", "c"]
    assert stageparams._select(params["v"], ("-z",)) == {"b": 1, "a": {"replicates": 3}, "c": 2}
    assert params["v"]["a"] == {"replicates": 3}  # the params themselves are untouched


def _described(stage: str) -> str:
    """A stage's PARAMS as the README's stage table writes them."""
    out = []
    for key, selection in stages.declaration(stage).params:
        key = key.replace("{variant}", "<v>").replace("{perturbation}", "<p>").replace("{recipe}", "<its recipe>")
        keep = [s for s in selection if not s.startswith("-")]
        drop = [s[1:] for s in selection if s.startswith("-")]
        text = f"`{key}`"
        if keep:
            text += ": " + ", ".join(f"`{k}`" for k in keep)
        if drop:
            text += " without " + ", ".join(f"`{k}`" for k in drop)
        out.append(text)
    return "; ".join(out) or "—"


@pytest.mark.parametrize("stage", stages.names())
def test_the_readme_s_stage_table_says_what_each_stage_declares(stage):
    rows = dict(re.findall(r"^\| (\w+) \| (.*?) \| `workflow/rules/", (ROOT / "README.md").read_text(), re.MULTILINE))
    assert rows.get(stage, "").split(" (")[0] == _described(stage), \
        f"README.md's stage table: the row of {stage} should begin | {stage} | {_described(stage)}"
