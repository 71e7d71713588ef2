"""Issue 6: both engines re-run exactly what changed, and nothing is lost (docs/reproducibility.md).

Every test works on a copy of the finished tiny projects (`snakemake_run`, `dvc_run`). Plans are
read from the engines themselves: Snakemake's dry-run job list (faithful: it propagates reruns
downstream), DVC's `dvc status` (stages changed *now*) and `dvc repro --dry --force-downstream`
(those plus everything downstream: an upper bound, since DVC skips a stage whose inputs come back
byte-identical). Real re-runs (`Running stage` lines, Snakemake's job blocks) prove the plans.

Job names follow DVC's stage names in both engines: `train@flips`, `perturb@fog`,
`predict@baseline-fog`, `predict_clean@baseline`, `score@mixed`, `compare`, `report`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import yaml

from augaudit.files import IGNORED_SUFFIXES, atomic_dir
from augaudit.stageparams import parent_variant

from conftest import copy_project, dead_pid, engine_env, run

e2e = pytest.mark.e2e  # every test here but the first runs the engines

PERTURBATION = "gaussian_blur"   # the perturbation whose severities change
RECIPE_OF = "baseline"           # the variant whose recipe changes (flips warm-starts from it)
KILLED = "flips"                 # the variant whose training is killed mid-stage
NOTHING_TO_DO = "Nothing to be done"

JOB_BLOCK = re.compile(r"^(?:local)?rule (\w+):\n((?:[ \t]+\S.*\n?)*)", re.MULTILINE)
DVC_RUNNING = re.compile(r"^Running stage '([^']+)':", re.MULTILINE)


# ---------------------------------------------------------------- helpers

def edit_params(project: Path, change: Callable[[dict], None]) -> dict:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    change(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def warm_started(params: dict, root: str) -> set[str]:
    """`root` and every variant that warm-starts from it, directly or through a chain."""
    out, grew = {root}, True
    while grew:
        new = {n for n, v in params["variants"].items() if parent_variant(v) in out} - out
        out |= new
        grew = bool(new)
    return out


def expected_jobs(params: dict, variants=(), perturbations=()) -> set[str]:
    """What must re-run when the given variants' models or perturbations' test sets change."""
    all_p = list(params["perturbations"])
    jobs = {"compare", "report"}
    for v in variants:
        jobs |= {f"train@{v}", f"predict_clean@{v}", f"score@{v}"} | {f"predict@{v}-{p}" for p in all_p}
    for p in perturbations:
        jobs |= {f"perturb@{p}"} | {f"predict@{v}-{p}" for v in params["variants"]}
        jobs |= {f"score@{v}" for v in params["variants"]}
    return jobs


def _job_name(rule: str, wc: dict) -> str:
    """DVC's stage name of a Snakemake job; Snakemake trains each replicate of a variant as a job of
    its own, which DVC's train@<variant> does in turn."""
    if rule == "predict":
        v, p = wc["variant"], wc["perturbation"]
        return f"predict_clean@{v}" if p == "clean" else f"predict@{v}-{p}"
    key = wc.get("variant", wc.get("perturbation"))
    return f"{rule}@{key}" if key else rule


def snakemake_jobs(output: str) -> set[str]:
    """The jobs of a Snakemake (dry-)run, from its job blocks; the `all` target is left out."""
    jobs = []
    for m in JOB_BLOCK.finditer(output):
        wc = {}
        for line in m.group(2).splitlines():
            key, _, value = line.strip().partition(": ")
            if key == "wildcards":
                wc = dict(kv.split("=", 1) for kv in value.split(", "))
        if m.group(1) != "all":
            jobs.append(_job_name(m.group(1), wc))
    once = [j for j in jobs if not j.startswith("train@")]
    assert len(once) == len(set(once)), f"a job listed twice: {sorted(jobs)}"
    total = re.search(r"^total\s+(\d+)$", output, re.MULTILINE)
    if total:  # the job-stats table counts `all` too
        assert int(total.group(1)) == len(jobs) + 1, f"parsed {sorted(jobs)} but Snakemake counts {total.group(1)}"
    return set(jobs)


def snakemake(project: Path, *args: str, check: bool = True):
    return run(["snakemake", *args], project, check=check)


def snakemake_plan(project: Path, *args: str) -> set[str]:
    out = snakemake(project, "-n", *args)
    return snakemake_jobs(out.stdout + out.stderr)


def dvc_status(project: Path) -> dict:
    return json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")


def dvc_repro(project: Path, *args: str) -> set[str]:
    out = run(["dvc", "repro", *args], project)
    return set(DVC_RUNNING.findall(out.stdout + out.stderr))


def tree_digest(project: Path, *folders: str) -> dict[str, str]:
    """sha256 of every file under the folders (relative path -> digest)."""
    digest = {}
    for folder in folders:
        for f in sorted((project / folder).rglob("*")):
            if f.is_file():
                digest[f.relative_to(project).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return digest


def mtimes(project: Path, *folders: str) -> dict[str, int]:
    return {f.relative_to(project).as_posix(): f.stat().st_mtime_ns
            for folder in folders for f in (project / folder).rglob("*")}


def stale_temps(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for folder in ("data", "results")
                  for p in (project / folder).rglob(".*.tmp"))


KILLS = {
    "stage": "SIGKILL to the training process only (the OOM killer, a crashed job)",
    "interrupt": "SIGINT to the engine's process group (Ctrl-C in a terminal)",
    "everything": "SIGKILL to the engine and every process under it (power loss, `kill -9`)",
}


def _stage_processes(engine: psutil.Process, variant: str) -> list[psutil.Process]:
    """The running `scripts/train.py` of `variant` under the engine (the shell wrapping it excluded)."""
    found = []
    for child in engine.children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if any(a.endswith("scripts/train.py") for a in cmd) and variant in cmd and "python" in Path(cmd[0]).name:
            found.append(child)
    return found


def kill_mid_train(project: Path, cmd: list[str], variant: str, log: Path, how: str) -> int:
    """Start an engine, wait until `variant`'s training writes its temp folder, then kill as `how`
    says (see KILLS); returns the engine's exit status."""
    models = project / "results/models"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=project, env=engine_env(project), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    engine = psutil.Process(proc.pid)
    try:
        deadline = time.monotonic() + 900
        # DVC writes the variant's folder whole, Snakemake one replicate's folder at a time
        while not list(models.glob(f".{variant}.*.tmp")) + list(models.glob(f"{variant}/.r0.*.tmp")):
            assert proc.poll() is None, f"{cmd} ended before training {variant}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the training: Ultralytics takes seconds to set up one epoch
        if how == "stage":
            stage = _stage_processes(engine, variant)
            assert stage, f"no training process of {variant} under {cmd}"
            for p in stage:
                p.kill()
        elif how == "interrupt":
            os.killpg(proc.pid, signal.SIGINT)
        if how != "everything":
            proc.wait(timeout=300)  # the engine notices and ends by itself
    finally:
        if proc.poll() is None:  # "everything", or an engine that did not end by itself
            children = engine.children(recursive=True) if engine.is_running() else []
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for child in children:  # anything that left the process group (psutil checks the PID's identity)
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
            proc.wait()
    assert not (models / variant / "r0/best.pt").exists(), f"{variant}'s training finished before the kill"
    return proc.returncode


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def dvc_severity_change(dvc_run, tmp_path_factory) -> dict:
    """dvc_run with one perturbation's severities changed: the plans, then a real `dvc repro`."""
    project = copy_project(dvc_run, tmp_path_factory.mktemp("dvc-severity") / "p")
    params = edit_params(project, lambda p: p["perturbations"][PERTURBATION].update(severities=[1, 3]))
    status = dvc_status(project)
    plan = dvc_repro(project, "--dry", "--force-downstream")
    ran = dvc_repro(project)
    return {"project": project, "params": params, "status": status, "plan": plan, "ran": ran}


# ---------------------------------------------------------------- 0. stale temp folders

def test_atomic_dir_removes_what_a_killed_writer_left(tmp_path):
    """A SIGKILL skips atomic_dir's own cleanup; the next writer of the same output removes it."""
    out = tmp_path / "fog"
    for stale in (".fog.k1ll3d_x.tmp", f".fog.{dead_pid()}.k1ll3d_x.tmp", f".fog.old-{dead_pid()}"):
        (tmp_path / stale / "1").mkdir(parents=True)
    others = [tmp_path / ".fog_x.abcdefgh.tmp", tmp_path / ".fog.json.abcdefgh.tmp", tmp_path / "fog2"]
    for other in others:
        other.mkdir()
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("done")
    assert (out / "a.txt").read_text() == "done"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["fog", *(o.name for o in others)])


# ---------------------------------------------------------------- 1. a second run does nothing

@e2e
def test_snakemake_second_run_does_nothing(snakemake_run, tmp_path):
    project = copy_project(snakemake_run, tmp_path / "p")
    before = mtimes(project, "data", "results")
    out = snakemake(project, "--cores", "2")
    assert NOTHING_TO_DO in out.stdout + out.stderr
    assert snakemake_jobs(out.stdout + out.stderr) == set()
    assert mtimes(project, "data", "results") == before  # nothing rewritten, nothing touched


@e2e
def test_dvc_second_run_does_nothing(dvc_run, tmp_path):
    project = copy_project(dvc_run, tmp_path / "p")
    lock = (project / "dvc.lock").read_bytes()
    assert dvc_status(project) == {}
    assert dvc_repro(project) == set()
    assert (project / "dvc.lock").read_bytes() == lock


# ---------------------------------------------------------------- 2. one perturbation's parameters

@e2e
def test_snakemake_perturbation_change_reruns_only_that_perturbation(snakemake_run, tmp_path):
    project = copy_project(snakemake_run, tmp_path / "p")
    params = edit_params(project, lambda p: p["perturbations"][PERTURBATION].update(severities=[1, 3]))
    plan = snakemake_plan(project)
    assert plan == expected_jobs(params, perturbations=[PERTURBATION])
    assert not any(j.startswith(("train", "prepare")) for j in plan)
    # a ladder override is a parameter change of that perturbation too
    edit_params(project, lambda p: p["perturbations"][PERTURBATION].update(severities=[1, 2], ladder=[2, 3, 4]))
    assert snakemake_plan(project) == expected_jobs(params, perturbations=[PERTURBATION])


@e2e
def test_dvc_perturbation_change_reruns_only_that_perturbation(dvc_severity_change):
    d = dvc_severity_change
    expected = expected_jobs(d["params"], perturbations=[PERTURBATION])
    assert f"perturb@{PERTURBATION}" in d["status"] and set(d["status"]) <= expected
    assert d["plan"] == expected          # DVC's own plan, downstream included
    assert d["ran"] == expected           # and what a real `dvc repro` ran
    assert dvc_status(d["project"]) == {}


# ---------------------------------------------------------------- 3. one variant's recipe

def _change_recipe(params: dict) -> None:
    recipe = params["recipes"][params["variants"][RECIPE_OF]["recipe"]]
    recipe["albumentations"] = recipe["albumentations"] + [{"transform": "ToGray", "p": 0.1}]


@e2e
def test_snakemake_recipe_change_reruns_variant_and_its_warm_starts(snakemake_run, tmp_path):
    project = copy_project(snakemake_run, tmp_path / "p")
    params = edit_params(project, _change_recipe)
    retrained = warm_started(params, RECIPE_OF)
    assert retrained == {"baseline", "flips"}  # the tiny config: flips warm-starts from baseline
    plan = snakemake_plan(project)
    assert plan == expected_jobs(params, variants=retrained) | {"scope"}  # scope: every recipe's file, rewritten
    assert {j for j in plan if j.startswith("train")} == {f"train@{v}" for v in retrained}


@e2e
def test_dvc_recipe_change_reruns_variant_and_its_warm_starts(dvc_run, tmp_path):
    project = copy_project(dvc_run, tmp_path / "p")
    params = edit_params(project, _change_recipe)
    retrained = warm_started(params, RECIPE_OF)
    # changed now: scope and compare (each reads every recipe)
    assert set(dvc_status(project)) == {"scope", "compare"}
    # scope's new file for the variant: its training (the others' files come back byte-identical)
    assert dvc_repro(project, "--single-item", "scope") == {"scope"}
    assert set(dvc_status(project)) == {f"train@{RECIPE_OF}", "compare"}
    # with the new weights: the warm-started variant too, and everything downstream of both
    plan = dvc_repro(project, "--dry", "--force-downstream")
    assert plan == expected_jobs(params, variants=retrained)
    assert {j for j in plan if j.startswith("train")} == {f"train@{v}" for v in retrained}


def _change_audit_only(params: dict) -> None:
    """What the audit reads and training does not: whom a variant is compared with, what a recipe targets."""
    params["variants"]["flips"]["baseline"] = "mixed"
    params["recipes"][params["variants"]["mixed"]["recipe"]]["targets"].remove("noise")


@e2e
def test_snakemake_audit_only_change_trains_nothing(snakemake_run, tmp_path):
    project = copy_project(snakemake_run, tmp_path / "p")
    edit_params(project, _change_audit_only)
    assert snakemake_plan(project) == {"scope", "compare", "report"}


@e2e
def test_dvc_audit_only_change_trains_nothing(dvc_run, tmp_path):
    project = copy_project(dvc_run, tmp_path / "p")
    edit_params(project, _change_audit_only)
    before = tree_digest(project, "results/models")
    assert dvc_repro(project) == {"scope", "compare", "report"}
    assert tree_digest(project, "results/models") == before
    audit = json.loads((project / "results/summary/audit.json").read_text())
    assert audit["variants"]["flips"]["baseline"] == "mixed" and "noise" not in audit["variants"]["mixed"]["targets"]


# ---------------------------------------------------------------- 4. experiments and metrics diff

@e2e
def test_dvc_experiment_shows_the_risk_change(dvc_run, tmp_path):
    project = copy_project(dvc_run, tmp_path / "p")
    for cmd in (["git", "add", "-A"], ["git", "commit", "-qm", "tiny run"]):
        run(cmd, project)
    # The tiny models (one epoch on 16 images) predict one full-frame box with a tiny score, so
    # every risk of the tiny run is 0. Label-free scoring at a low confidence makes that box the
    # reference, and zooming out (scale, severity 5 = 0.5) moves the reference but not the box:
    # risk rises from 0, through exactly the stages these parameters feed.
    out = run(["dvc", "exp", "run", "-S", "score.reference=predictions", "-S", "score.conf=0.001",
               "-S", "+perturbations.scale.severities=[5]"], project)
    ran = set(DVC_RUNNING.findall(out.stdout + out.stderr))
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert ran == expected_jobs(params, perturbations=["scale"])
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], project).stdout)["results/summary/metrics.json"]
    for variant in params["variants"]:
        risk = diff[f"{variant}.risk.risk"]
        assert risk["new"] != risk["old"], risk
    assert "risk.risk" in run(["dvc", "metrics", "diff"], project).stdout
    assert dvc_status(project) == {}


# ---------------------------------------------------------------- 5. push, delete, pull

@e2e
def test_dvc_push_pull_restores_byte_identical_outputs(dvc_run, tmp_path):
    project = copy_project(dvc_run, tmp_path / "p")
    run(["dvc", "remote", "add", "-d", "local", str(tmp_path / "remote")], project)
    before = tree_digest(project, "data", "results")
    assert len(before) > 100
    run(["dvc", "push"], project)
    for folder in ("data", "results", ".dvc/cache"):
        shutil.rmtree(project / folder)
    assert dvc_status(project) != {}
    run(["dvc", "pull"], project)
    assert tree_digest(project, "data", "results") == before
    assert dvc_status(project) == {}
    assert json.loads(run(["dvc", "status", "--cloud", "--json"], project).stdout or "{}") == {}


# ---------------------------------------------------------------- 6. killed mid-stage

def _change_flips_recipe(params: dict) -> None:
    params["recipes"][params["variants"][KILLED]["recipe"]]["albumentations"][0]["p"] = 0.4


@e2e
@pytest.mark.parametrize("how", list(KILLS))
def test_snakemake_killed_mid_stage_leaves_nothing_finished(snakemake_run, tmp_path, how):
    project = copy_project(snakemake_run, tmp_path / "p")
    params = edit_params(project, _change_flips_recipe)
    status = kill_mid_train(project, ["snakemake", "--cores", "2"], KILLED, tmp_path / "killed.log", how)
    assert status != 0, f"snakemake reported success after {KILLS[how]}"
    assert not (project / f"results/models/{KILLED}/r0/best.pt").exists()
    if how == "everything":
        # Snakemake's lock survives a SIGKILL of Snakemake itself (nothing of it is left to lift
        # it): the next run refuses and says why; `snakemake --unlock` lifts it (README)
        locked = snakemake(project, "--cores", "2", check=False)
        assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
        snakemake(project, "--unlock")
    assert f"train@{KILLED}" in snakemake_plan(project)  # not considered complete
    out = snakemake(project, "--cores", "2")  # any other kill: the next run just completes
    # (scope, which the recipe edit re-runs beside the training, may or may not have run before the kill)
    ran = snakemake_jobs(out.stdout + out.stderr) - {"scope"}
    assert ran == expected_jobs(params, variants=warm_started(params, KILLED))
    assert (project / f"results/models/{KILLED}/r0/best.pt").is_file()
    assert stale_temps(project) == []  # the killed run's temp folder was cleaned up
    assert snakemake_plan(project) == set()


@e2e
@pytest.mark.parametrize("how", ["stage", "everything"])
def test_dvc_killed_mid_stage_leaves_nothing_finished(dvc_run, tmp_path, how):
    project = copy_project(dvc_run, tmp_path / "p")
    params = edit_params(project, _change_flips_recipe)
    status = kill_mid_train(project, ["dvc", "repro"], KILLED, tmp_path / "killed.log", how)
    assert status != 0, f"dvc repro reported success after {KILLS[how]}"
    assert not (project / f"results/models/{KILLED}/r0/best.pt").exists()
    assert f"train@{KILLED}" in dvc_status(project)  # not considered complete
    ran = dvc_repro(project)  # DVC drops a dead process's read/write locks itself
    assert ran == expected_jobs(params, variants=warm_started(params, KILLED))
    assert (project / f"results/models/{KILLED}/r0/best.pt").is_file()
    assert stale_temps(project) == []
    assert dvc_status(project) == {}


# ---------------------------------------------------------------- 7. both engines in one project

@e2e
def test_snakemake_after_dvc_repro(dvc_severity_change, tmp_path):
    """DVC's outputs (made in pipeline order) look up to date to Snakemake, but Snakemake has no
    metadata for them, so it could not see a later params change; `--touch --forceall` records it."""
    project = copy_project(dvc_severity_change["project"], tmp_path / "p")
    out = snakemake(project, "-n")
    assert NOTHING_TO_DO in out.stdout and "missing provenance/metadata" in out.stdout
    edit_params(project, lambda p: p["compare"].update(primary_weight=0.7))
    assert snakemake_plan(project) == set()  # the blind spot: no metadata, no params trigger
    edit_params(project, lambda p: p["compare"].update(primary_weight=0.8))
    snakemake(project, "--touch", "--forceall")
    assert dvc_status(project) == {}  # touching changes mtimes, not content
    edit_params(project, lambda p: p["compare"].update(primary_weight=0.7))
    assert snakemake_plan(project) == {"compare", "report"}
    assert set(dvc_status(project)) == {"compare", "report"}


@e2e
def test_dvc_after_snakemake_and_back(snakemake_run, tmp_path):
    """Snakemake's outputs are new to DVC until `dvc commit -f` records them; after DVC re-runs a
    stage Snakemake's params trigger fires until `snakemake --touch`; after a checkout, mtimes do."""
    project = copy_project(snakemake_run, tmp_path / "p")
    params = yaml.safe_load((project / "params.yaml").read_text())
    n_stages = len(expected_jobs(params, variants=params["variants"], perturbations=params["perturbations"]))
    assert len(dvc_status(project)) >= n_stages  # no dvc.lock: every stage looks new to DVC
    run(["dvc", "commit", "-f"], project)
    assert dvc_status(project) == {}
    # a change re-run by DVC is re-run again by Snakemake (its metadata has the old params) ...
    edit_params(project, lambda p: p["compare"].update(primary_weight=0.7))
    assert dvc_repro(project) == {"compare", "report"}
    assert snakemake_plan(project) == {"compare", "report"}
    snakemake(project, "--touch")  # ... unless told that the outputs are current
    assert snakemake_plan(project) == set() and dvc_status(project) == {}
    # a change re-run by Snakemake: DVC sees new outputs until `dvc commit -f`
    edit_params(project, lambda p: p["compare"].update(primary_weight=0.5))
    out = snakemake(project, "--cores", "2")
    assert snakemake_jobs(out.stdout + out.stderr) == {"compare", "report"}
    assert set(dvc_status(project)) == {"compare", "report"}
    run(["dvc", "commit", "-f"], project)
    assert dvc_status(project) == {}
    # DVC restores files in its own order, with new mtimes: Snakemake's mtime check fires
    before = tree_digest(project, "data", "results")
    for folder in ("data", "results"):
        shutil.rmtree(project / folder)
    run(["dvc", "checkout"], project)
    assert tree_digest(project, "data", "results") == {k: v for k, v in before.items()
                                                       if not k.endswith(IGNORED_SUFFIXES)}
    assert dvc_status(project) == {}
    assert snakemake_plan(project) != set()
    snakemake(project, "--touch")
    assert snakemake_plan(project) == set() and dvc_status(project) == {}
