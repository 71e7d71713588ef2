"""One graph: dvc.yaml's code dependencies and params are the ones Snakemake's rules compute, in seconds.

Snakemake's rules take each stage's code files from augaudit.codedeps (the imports, followed) and its
params from stageparams.stage_params; dvc.yaml must list the same, or the two engines would re-run
different things after the same edit: `make dvc.yaml` writes its code lists (augaudit.dvcfile).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil

import pytest
import yaml

from augaudit import codedeps, dvcfile, paths, stageparams, stages

from conftest import ROOT, default_params

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
STAGES = stages.names()
# dvc.yaml's stage names: predict runs as predict_clean (foreach) and predict (matrix)
DVC_STAGES = {s: [name for name in DVC if dvcfile.STAGE_OF.get(name, name) == s] for s in STAGES}


def _body(name: str) -> dict:
    stage = DVC[name]
    return stage.get("do", stage)


@pytest.mark.parametrize("stage", STAGES)
def test_dvc_lists_each_stage_s_computed_code(stage):
    want = codedeps.code_files(stage, ROOT)
    for name in DVC_STAGES[stage]:
        listed = [d for d in _body(name)["deps"] if d.startswith(("scripts/", "src/"))]
        assert listed == want, f"dvc.yaml stage {name}: its code deps are not the computed ones: run make dvc.yaml"


def test_dvc_yaml_is_what_make_dvc_yaml_writes():
    assert dvcfile.render(ROOT) == (ROOT / "dvc.yaml").read_text(), "dvc.yaml is out of date: run make dvc.yaml"


def test_make_dvc_yaml_rewrites_code_deps_and_params_and_keeps_everything_else(tmp_path):
    """A stale code list and stale params are rewritten from the imports and the declared params; other
    deps, their comments and the rest stay."""
    for name in ("src", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    text = (ROOT / "dvc.yaml").read_text()
    check = "    deps:\n      - scripts/check.py\n"
    stale = text.replace("      - src/augaudit/synthetic.py\n", "", 1).replace(
        check, check + "      - src/augaudit/gone.py\n", 1).replace("        - perturb\n", "", 1)
    assert stale != text and "# its params: seed, device" in stale
    (tmp_path / "dvc.yaml").write_text(stale)
    assert dvcfile.render(tmp_path) == text


def test_make_dvc_yaml_makes_prepare_depend_on_a_user_dataset_and_dvc_refuses_a_stale_one(tmp_path):
    """prepare's deps: the data yaml and the folders it reaches (through `path:`, outside the project),
    written from params; a `dvc repro` whose dvc.yaml names other data fails, naming the fix."""
    from augaudit import paramsfile, synthetic

    project = tmp_path / "p"
    for name in ("src", "scripts"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    synthetic.generate(tmp_path / "data", 0, 32, {"train": 2, "val": 2}, 1, 0)
    (tmp_path / "yamls").mkdir()
    (tmp_path / "yamls" / "data.yaml").write_text("path: ../data\ntrain: images/train\nval: images/val\n"
                                                  "names: [circle, square, triangle]\n")
    params = default_params()
    params["dataset"].update(source="../yamls/data.yaml", eval_split="val")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copy(ROOT / "dvc.yaml", project / "dvc.yaml")
    with pytest.raises(paramsfile.ParamsError, match=r"^dvc.yaml: stage prepare depends on no dataset files, but "
                       r"dataset.source reads \.\./yamls/data.yaml, .*: run make dvc.yaml, then dvc repro$"):
        dvcfile.check_source(params, project)
    text = dvcfile.render(project)
    (project / "dvc.yaml").write_text(text)
    deps = yaml.safe_load(text)["stages"]["prepare"]["deps"]
    assert deps == codedeps.code_files("prepare", project) + [
        "../yamls/data.yaml", "../data/images/train", "../data/labels/train", "../data/images/val",
        "../data/labels/val"]
    dvcfile.check_source(params, project)  # up to date: no error
    assert dvcfile.render(project) == text  # and stable
    params["dataset"]["source"] = "synthetic"
    with pytest.raises(paramsfile.ParamsError, match="reads none \\(synthetic\\): run make dvc.yaml"):
        dvcfile.check_source(params, project)


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


@pytest.mark.parametrize("stage", STAGES)
def test_dvc_lists_each_stage_s_declared_params(stage):
    params = default_params()
    variant, perturbation = "flips", "fog"
    for name in DVC_STAGES[stage]:
        job = {"train": {"variant": variant}, "perturb": {"perturbation": perturbation},
               "predict": {"perturbation": perturbation}, "predict_clean": {"perturbation": "clean"}}.get(name, {})
        want = sorted(stageparams.stage_params(params, stage, **job))
        if stage == "train":  # through its scope file, which the scope stage writes from every key it reads
            assert _dvc_params(name, variant, perturbation) == []
            assert f"results/scope/train/{variant}.json" in _dvc_deps(name, variant)
            assert {key.split(".")[0] for key in want} <= set(_dvc_params("scope", variant, perturbation))
            continue
        assert sorted(_dvc_params(name, variant, perturbation)) == want, name


def _dvc_deps(name: str, variant: str) -> list[str]:
    return [d.replace("${key}", variant) for d in _body(name)["deps"]]


def test_train_declares_what_training_reads_and_not_what_the_audit_reads():
    """A variant's `baseline` (and a prescription's keys) and a recipe's `targets` are the audit's:
    editing them re-runs compare, not training. Its own `train:` settings, `evaluate_only` and a
    recipe's `ultralytics` settings are training's, present in some variants and absent in others:
    the scope stage's file carries them to DVC."""
    params = default_params()
    declared = stageparams.stage_params(params, "train", variant="flips")
    assert set(declared["variants.flips"]) == {"init", "recipe", "train"}
    assert set(declared["recipes.flips"]) == {"albumentations"}
    edited = copy.deepcopy(params)
    edited["variants"]["flips"].update(baseline="mixed", prescribed=["noise"], prescribed_for="mixed")
    edited["recipes"]["flips"]["targets"] = ["noise"]
    assert stageparams.stage_params(edited, "train", variant="flips") == declared
    edited["variants"]["flips"]["evaluate_only"] = True
    edited["recipes"]["flips"]["ultralytics"] = {"mosaic": 1.0}
    now = stageparams.stage_params(edited, "train", variant="flips")
    assert now["variants.flips"]["evaluate_only"] is True and now["recipes.flips"]["ultralytics"] == {"mosaic": 1.0}


def test_every_variant_and_recipe_key_is_training_s_or_the_audit_s():
    """A key added to the schema must be classed: read by training (re-trains) or by the audit alone."""
    schema = yaml.safe_load((ROOT / "src/augaudit/schemas/params.schema.yaml").read_text())["properties"]
    variant = set(schema["variants"]["additionalProperties"]["properties"])
    recipe = set(schema["recipes"]["additionalProperties"]["properties"])
    training = {key: {s for s in selection if not s.startswith("-")} for key, selection in
                stages.declaration("train").params}  # train's PARAMS: the keys it keeps of each
    assert variant == training["variants.{variant}"] | {"baseline", "prescribed", "prescribed_for"}
    assert recipe == training["recipes.{recipe}"] | {"targets"}


def test_scope_writes_each_variant_s_training_params_and_replicates(tmp_path, monkeypatch):
    """The file DVC's train@<v> depends on: equal bytes for an audit-only edit, new ones for a training edit."""
    monkeypatch.chdir(tmp_path)
    params = default_params()
    params["variants"]["mixed"]["train"] = {"replicates": 5}

    def written(p):
        stageparams.call(p, "scope")
        return {v: paths.train_scope(v).read_bytes() for v in p["variants"]}

    before = written(params)
    record = json.loads(before["flips"])
    assert record == {"params": json.loads(json.dumps(stageparams.stage_params(params, "train", variant="flips"))),
                      "replicates": params["train"]["replicates"]}
    assert json.loads(before["mixed"])["replicates"] == 5
    audit = copy.deepcopy(params)
    audit["variants"]["flips"]["baseline"] = "mixed"
    audit["recipes"]["mixed"]["targets"] = ["noise"]
    assert written(audit) == before
    training = copy.deepcopy(params)
    training["recipes"]["flips"]["albumentations"][0]["p"] = 0.25
    after = written(training)
    assert {v for v in before if after[v] != before[v]} == {"flips"}


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
    files = codedeps.code_files("demo", tmp_path)
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
    from conftest import run

    run(["python", "scripts/scope.py"], project)  # real: its bytes decide which training DVC re-runs


# what re-runs after a stage re-runs (its outputs are newer than theirs)
# (Snakemake's train does not read scope's file: it decides from its own params)
DOWNSTREAM = {"prepare": set(STAGES) - {"prepare", "scope"}, "check": {"train", "perturb", "predict", "score",
                                                                             "compare", "report"}, "scope": set(),
              "train": {"predict", "score", "compare", "report"}, "perturb": {"predict", "score", "compare", "report"},
              "predict": {"score", "compare", "report"}, "score": {"compare", "report"}, "compare": {"report"},
              "report": set()}


def _stage(job: str) -> str:
    return "predict" if job.startswith("predict") else job.split("@")[0]


def _plans(project, follow_scope: bool = False) -> tuple[set[str], set[str]]:
    """The stages `snakemake -n` and `dvc status` plan, the two run side by side. `follow_scope`: when
    DVC's scope stage is among them, run it (a second) and add the training whose file it changed,
    which `dvc status` shows only then."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import run

    with ThreadPoolExecutor(2) as pool:
        plan, status = pool.map(lambda cmd: run(cmd, project).stdout,
                                [["snakemake", "-n"], ["dvc", "status", "--json"]])
    snakemake = {rule for rule in re.findall(r"^(?:local)?rule (\w+):$", plan, re.MULTILINE)} - {"all"}
    dvc = set(json.loads(status or "{}"))
    if follow_scope and "scope" in dvc:
        run(["dvc", "repro", "--single-item", "-q", "scope"], project)
        dvc |= set(json.loads(run(["dvc", "status", "--json"], project).stdout or "{}"))
    return snakemake, {_stage(job) for job in dvc}


@pytest.mark.e2e
def test_editing_a_module_plans_exactly_the_stages_that_import_it(tmp_path):
    """Both real engines, no training: from a finished state (placeholder outputs, touched by
    Snakemake and committed by DVC), an edit of each augaudit module makes `snakemake -n` and
    `dvc status` plan exactly the stages whose code imports it -- no fewer, no more."""
    import os

    from conftest import make_project, run, tiny_params

    params = tiny_params()
    project = make_project(tmp_path / "p", params)
    _placeholders(project, params)
    run(["snakemake", "--touch", "--forceall", "--cores", "1"], project)  # records every job's params
    run(["dvc", "commit", "-f", "-q"], project)
    assert "Nothing to be done" in run(["snakemake", "-n"], project).stdout
    modules = sorted(p for p in (project / "src/augaudit").rglob("*.py") if "__pycache__" not in p.parts)
    checked = 0
    for module in modules:
        rel = module.relative_to(project).as_posix()
        expected = {s for s in STAGES if rel in codedeps.code_files(s, project)}
        original, stat = module.read_bytes(), module.stat()
        module.write_bytes(original + b"\n# an edit\n")
        try:
            snakemake, dvc = _plans(project)
        finally:
            module.write_bytes(original)
            os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        # Snakemake re-runs everything downstream of a re-run job; DVC lists the stages changed now
        downstream = {s for s in STAGES if any(s in DOWNSTREAM[e] for e in expected)}
        assert snakemake == expected | downstream, f"{rel}: snakemake plans {sorted(snakemake)}, imports say " \
            f"{sorted(expected)} and what follows them"
        assert dvc == expected, f"{rel}: dvc plans {sorted(dvc)}, imports say {sorted(expected)}"
        checked += bool(expected)
    assert checked >= 15  # most modules feed some stage


def _jobs(params: dict, stage: str) -> list[dict]:
    """Every job of a stage as Snakemake runs it (its JOBS' names and values), replicates left out: no
    stage's params depend on them."""
    ranges = {"variants": list(params["variants"]), "perturbations": list(params["perturbations"]),
              "test sets": ["clean", *params["perturbations"]]}
    out = [{}]
    for name, over in stages.declaration(stage).jobs.items():
        if over != "replicates":
            out = [{**job, name: value} for job in out for value in ranges[over]]
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_gets_its_declared_params_and_nothing_else(stage, monkeypatch):
    """What a stage runs on is `scope`: exactly the keys it declares (so reading any other key is a
    KeyError in every test that runs it), and its declaration reads nothing outside them."""
    import importlib

    params = default_params()
    params["train"]["replicates"] = 2
    module = importlib.import_module(f"augaudit.stages.{stage}")
    for job in _jobs(params, stage):
        declared = stageparams.stage_params(params, stage, **job)
        scoped = stageparams.scoped(params, stage, **job)
        assert stageparams.stage_params(scoped, stage, **job) == declared
        flat = {}
        for key in declared:  # the scope, flattened back to the declared keys
            node = scoped
            for part in key.split("."):
                node = node[part]
            flat[key] = node
        assert flat == declared
        assert set(scoped) == {key.split(".")[0] for key in declared}

        got = []

        @functools.wraps(module.run)  # call() reads run's arguments from its declaration, not from this
        def record(p, _got=got, **kw):
            _got.append((p, kw))

        monkeypatch.setattr(module, "run", record)
        stageparams.call(params, stage, **job)
        assert got[0][0] == scoped
        kw = got[0][1]
        assert {k for k, _ in stages.declaration(stage).arguments if k in kw} == set(kw)
        if stage == "train":  # warm start: replicate i from the parent's replicate i
            assert kw["inits"]["r1"] == ("results/models/baseline/r1/best.pt" if job["variant"] == "flips"
                                         else params["variants"][job["variant"]]["init"])
        if stage in ("predict", "score"):
            assert kw["replicates"] == ["r0", "r1"]
        if stage == "report":
            assert kw["replicates_of"] == {v: ["r0", "r1"] for v in params["variants"]}


STRINGS = {"device": "cpu", "eval_split": "val", "optimizer": "SGD", "reference": "predictions",
           "multiplicity": "bh", "recipe": "flips", "baseline": "mixed", "source": None, "init": None}


def _leaves(node, path=()):
    """Every scalar and list of scalars in params, with its path (list items of dicts by index)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def _changed(value, key):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value * 0.9, 6) if value else 0.1
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        return value[:-1] if len(value) > 1 else [value[0] + 1]
    if isinstance(value, list) and len(value) > 1 and all(isinstance(x, str) for x in value):
        return value[:-1]
    if isinstance(value, list) and len(value) == 2:  # a (low, high) range
        return [value[0], value[0] + (value[1] - value[0]) / 2]
    return STRINGS.get(key)


def _edits(params):
    """(dotted key, edited params) for one leaf of each way of being declared (the set of stages'
    declared keys that hold it: `score.break_drop` is declared apart from the rest of `score`), the
    first that has a valid other value. Replicates set the DAG's shape (jobs appear or go), not a
    job's params, and are left to the replicate tests."""
    from augaudit import paramsfile

    declared = {(s, key): value for s in STAGES for job in _jobs(params, s)
                for key, value in stageparams.stage_params(params, s, **job).items()}

    def holds(key, value, dotted):  # the declared value holds the leaf (train's keeps part of a variant)
        if dotted == key:
            return True
        if not dotted.startswith(key + "."):
            return False
        for part in dotted[len(key) + 1:].split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return False
        return True

    seen = set()
    for path, value in _leaves(params):
        dotted = ".".join(map(str, path))
        how = frozenset(d for d, v in declared.items() if holds(d[1], v, dotted))
        new = _changed(value, path[-1])
        if path[-1] == "replicates" or new is None or how in seen:
            continue
        edited = copy.deepcopy(params)
        node = edited
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = new
        try:
            paramsfile.validate(edited)
        except paramsfile.ParamsError:
            continue
        seen.add(how)
        yield dotted, edited


@pytest.mark.e2e
def test_editing_a_param_plans_exactly_the_stages_that_declare_it(tmp_path):
    """Both real engines, no training: from a finished state, params keys edited in turn (one for each
    way of being declared, every section) make `snakemake -n` and `dvc status` plan exactly the
    stages whose declared params (stage_params, for any of their jobs) change -- no fewer, no more."""
    from conftest import make_project, run, tiny_params

    params = tiny_params()
    project = make_project(tmp_path / "p", params)
    _placeholders(project, params)
    run(["snakemake", "--touch", "--forceall", "--cores", "1"], project)  # records every job's params
    run(["dvc", "commit", "-f", "-q"], project)
    original = (project / "params.yaml").read_text()
    checked = set()
    for key, edited in _edits(params):
        expected = {s for s in STAGES for job in _jobs(params, s)
                    if stageparams.stage_params(edited, s, **job) != stageparams.stage_params(params, s, **job)}
        (project / "params.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
        try:
            snakemake, dvc = _plans(project, follow_scope=True)
        finally:
            (project / "params.yaml").write_text(original)
            if "scope" in dvc:  # back to the finished state's scope files and dvc.lock
                run(["dvc", "repro", "--single-item", "-q", "scope"], project)
        downstream = {s for s in STAGES if any(s in DOWNSTREAM[e] for e in expected)}
        assert snakemake == expected | downstream, f"{key}: snakemake plans {sorted(snakemake)}, declarations " \
            f"say {sorted(expected)} and what follows them"
        assert dvc == expected, f"{key}: dvc plans {sorted(dvc)}, declarations say {sorted(expected)}"
        checked.add(key.split(".")[0])
    assert checked == set(params)  # every section had a key edited


@pytest.mark.e2e
def test_editing_a_user_dataset_plans_prepare_in_both_engines(tmp_path):
    """Both real engines, no training: from a finished state on a user's dataset reached through `path:`
    (outside the project), an edited label, an added image and a removed one each make `snakemake -n`
    and `dvc status` plan prepare (DVC: only prepare; Snakemake: what follows it too); touching a file
    (its bytes unchanged) plans nothing. With dataset.source pointed elsewhere but dvc.yaml not
    regenerated, `dvc repro` refuses, naming the fix."""
    import os

    from augaudit import synthetic

    from conftest import make_project, run, tiny_params

    data = tmp_path / "data"
    synthetic.generate(data, 0, 64, {"train": 16, "val": 8, "test": 8}, 2, 0)
    (tmp_path / "yamls").mkdir()
    (tmp_path / "yamls" / "data.yaml").write_text(
        "path: ../data\ntrain: images/train\nval: images/val\ntest: images/test\n"
        "names: [circle, square, triangle]\n")
    params = tiny_params()
    params["dataset"]["source"] = "../yamls/data.yaml"
    project = make_project(tmp_path / "p", params)
    run(["augaudit", "dvc-yaml"], project)
    _placeholders(project, params)
    run(["snakemake", "--touch", "--forceall", "--cores", "1"], project)  # records every job's params
    run(["dvc", "commit", "-f", "-q"], project)
    assert _plans(project) == (set(), set())
    label = data / "labels/test/test_00000.txt"
    image = data / "images/test/test_00001.png"
    edits = {
        "a label edited": lambda: label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n"),
        "an image added": lambda: (data / "images/test/new.png").write_bytes(image.read_bytes()),
        "an image removed": image.unlink,
    }
    after_prepare = {"prepare"} | DOWNSTREAM["prepare"]
    for what, edit in edits.items():
        saved = {p: p.read_bytes() for p in (label, image)}
        edit()
        try:
            assert _plans(project) == (after_prepare, {"prepare"}), what
        finally:
            for p, content in saved.items():
                p.write_bytes(content)
            (data / "images/test/new.png").unlink(missing_ok=True)
        assert _plans(project) == (set(), set()), f"{what}, undone"
    os.utime(image)  # the same bytes, a new mtime
    assert _plans(project) == (set(), set())
    shutil.copytree(data, tmp_path / "other")
    (tmp_path / "yamls" / "other.yaml").write_text((tmp_path / "yamls" / "data.yaml").read_text().replace(
        "../data", "../other"))
    params["dataset"]["source"] = "../yamls/other.yaml"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro", "--single-item", "prepare"], project, check=False)
    assert out.returncode != 0
    assert "error: dvc.yaml: stage prepare depends on ../yamls/data.yaml" in out.stdout + out.stderr
    assert "run make dvc.yaml, then dvc repro" in out.stdout + out.stderr


def _snakemake_jobs(plan: str) -> dict[str, tuple[set[str], set[str]]]:
    """Each job of a `snakemake -n` plan as the DVC stage it is (train's replicates: one stage), with
    its inputs and outputs."""
    jobs: dict[str, tuple[set[str], set[str]]] = {}
    for block in re.split(r"^(?=(?:local)?rule \w+:$)", plan, flags=re.MULTILINE)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        fields = dict(re.findall(r"^    (\w+): (.*)$", block, re.MULTILINE))
        wc = dict(item.split("=", 1) for item in fields["wildcards"].split(", ")) if "wildcards" in fields else {}
        if rule == "all":
            continue
        name = {"train": f"train@{wc.get('variant')}", "perturb": f"perturb@{wc.get('perturbation')}",
                "score": f"score@{wc.get('variant')}",
                "predict": f"predict_clean@{wc.get('variant')}" if wc.get("perturbation") == "clean"
                else f"predict@{wc.get('variant')}-{wc.get('perturbation')}"}.get(rule, rule)
        ins, outs = jobs.setdefault(name, (set(), set()))
        ins.update(fields.get("input", "").split(", "))
        outs.update(fields["output"].split(", "))
    return jobs


def _covers(folders: set[str], paths: set[str]) -> set[str]:
    """The paths that are none of `folders` and lie under none of them."""
    return {p for p in paths if not any(p == f or p.startswith(f.rstrip("/") + "/") for f in folders)}


@pytest.mark.e2e  # both engines plan a scratch project (about 7 s): the end-to-end lane
def test_both_engines_wire_the_same_files_into_each_stage(tmp_path):
    """The same stages, and for each the same data it reads and writes: every input and output of a
    Snakemake job is (in) a dep or out of its DVC stage, and every DVC dep and out holds one of the
    job's (Snakemake names files inside the folders DVC tracks whole). Code files and params: the tests
    above."""
    from dvc.repo import Repo

    from conftest import make_project, run, tiny_params

    params = tiny_params()
    project = make_project(tmp_path / "p", params)
    snakemake = _snakemake_jobs(run(["snakemake", "-n", "--forceall"], project).stdout)
    with Repo(str(project)) as repo:
        dvc = {s.name: ({str(d.def_path) for d in s.deps}, {str(o.def_path) for o in s.outs})
               for s in repo.index.stages}
    assert set(snakemake) == set(dvc)
    for name, (ins, outs) in snakemake.items():
        deps, dvc_outs = (_covers({"scripts", "src", "params.yaml"}, files) for files in dvc[name])
        if name.startswith("train@"):  # DVC's channel for its params (Snakemake's job has them as `params:`)
            deps.remove(f"results/scope/train/{name.removeprefix('train@')}.json")
        ins = _covers({"scripts", "src"}, ins)
        assert not _covers(deps, ins), f"{name}: Snakemake reads {sorted(_covers(deps, ins))}, dvc.yaml does not"
        assert not _covers(dvc_outs, outs), f"{name}: Snakemake writes {sorted(_covers(dvc_outs, outs))}, dvc.yaml not"
        assert all(_covers({d}, ins) != ins for d in deps), f"{name}: a dvc.yaml dep Snakemake does not read"
        assert all(_covers({o}, outs) != outs for o in dvc_outs), f"{name}: a dvc.yaml out Snakemake does not write"


@pytest.mark.e2e
def test_a_prescription_plans_only_the_new_variants_and_the_summary(tmp_path):
    """From a finished state, running the prescribed params file plans, in both engines, the new
    variants' train/predict/score jobs, compare and report -- nothing of the variants already run."""
    from test_prescribe import write_run

    from conftest import make_project, run, tiny_params

    params = tiny_params()
    project = make_project(tmp_path / "p", params)
    _placeholders(project, params)
    write_run(project, (project / "params.yaml").read_text())  # the run's summary: risks and breaking points
    run(["snakemake", "--touch", "--forceall", "--cores", "1"], project)
    run(["dvc", "commit", "-f", "-q"], project)
    run(["augaudit", "prescribe"], project)
    prescribed = project / "results/prescription/params.yaml"
    new = set(yaml.safe_load(prescribed.read_text())["variants"]) - set(params["variants"])
    assert new
    (project / "params.yaml").write_text(prescribed.read_text())
    want = {"compare", "report"} | {f"{stage}@{v}" for v in new for stage in ("train", "predict_clean", "score")} \
        | {f"predict@{v}-{p}" for v in new for p in params["perturbations"]}
    want.add("scope")  # the variants changed: it re-writes every file, the old variants' with the same bytes
    plan = run(["snakemake", "-n"], project).stdout
    assert set(_snakemake_jobs(plan)) == want
    assert set(json.loads(run(["dvc", "status", "--json"], project).stdout)) == want
    run(["dvc", "repro", "--single-item", "-q", "scope"], project)
    assert set(json.loads(run(["dvc", "status", "--json"], project).stdout)) == want - {"scope"}


def test_a_stage_depends_on_the_templates_its_modules_render():
    assert "src/augaudit/templates/report.html.j2" in codedeps.code_files("report", ROOT)
    assert not any(f.endswith(".j2") for f in codedeps.code_files("compare", ROOT))


def test_a_stage_that_reads_another_stage_s_declaration_depends_on_it_and_not_on_its_code():
    """scope writes the params train declares: editing train's PARAMS must re-run scope, while train's
    own imports (training, recipes...) stay out of scope's code."""
    scope = codedeps.code_files("scope", ROOT)
    assert "src/augaudit/stages/train.py" in scope
    assert "src/augaudit/training.py" not in scope and "src/augaudit/recipes.py" not in scope
