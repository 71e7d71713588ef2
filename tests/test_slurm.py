"""The tiny config through `snakemake --executor slurm` on a throwaway one-node SLURM cluster.

Part of `make test` (about 8 minutes); root only: it apt-get installs slurm-wlm and munge when missing,
starts munged/slurmctld/slurmd on loopback (tests/slurm_cluster.py), runs the workflow with the CPU
SLURM profile (workflow/profiles/slurm-cpu) and checks that the outputs equal those of the local run
(the `snakemake_run` session fixture, which runs meanwhile when no other test has built it yet). The
SLURM run keeps pixels for a sample only (`perturb.materialize: sample`): its predict jobs regenerate
the other perturbed images from the manifests on the node, so no pixels travel between jobs, and its
numbers must equal the local run's, which keeps every image. Then one predict job goes through the GPU
profile (workflow/profiles/slurm), whose `--gres=gpu:1` lands on the cluster's stand-in GPU and runs on
the CPU: same predictions.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from augaudit.files import hash_path
from augaudit.stageparams import replicate_names

from conftest import engine_env, make_project, tiny_params
from slurm_cluster import SlurmCluster, Unsuitable, ensure_installed

pytestmark = pytest.mark.e2e

CPU_PROFILE = "workflow/profiles/slurm-cpu"
GPU_PROFILE = "workflow/profiles/slurm"
RUN_TIMEOUT = 1500  # seconds for the whole SLURM run (about 6-8 minutes on 2 busy cores)
RULES = ["prepare", "train", "perturb", "predict", "score", "compare", "report"]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.skip("the SLURM test needs root (apt-get install, slurmd)")
    try:
        ensure_installed()
    except Unsuitable as e:
        pytest.skip(str(e))
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm-cluster"), cpus=2)
    request.addfinalizer(cluster.stop)
    try:
        cluster.start()
    except Unsuitable as e:
        pytest.skip(str(e))
    return cluster


def fit_profiles_to_node(project: Path, cluster: SlurmCluster) -> None:
    """Cap the profiles' memory requests at what the test node offers (sbatch rejects larger ones)."""
    for profile_dir in (CPU_PROFILE, GPU_PROFILE):
        path = project / profile_dir / "config.yaml"
        profile = yaml.safe_load(path.read_text())
        for res in [profile.get("default-resources", {}), *profile.get("set-resources", {}).values()]:
            if res.get("mem_mb", 0) > cluster.real_memory_mb:
                res["mem_mb"] = cluster.real_memory_mb
        path.write_text(yaml.safe_dump(profile, sort_keys=False))


def slurm_cmd(profile: str, cluster: SlurmCluster, *extra: str) -> list[str]:
    return ["snakemake", "--workflow-profile", profile,
            # threads (= --cpus-per-task) capped at 1: two jobs share the 2-CPU node at a time, as predict jobs do
            # in the local `--cores 2` run (the stages use every CPU they see whatever their allocation)
            "--cores", "1",
            "--slurm-status-command", "squeue",              # no slurmdbd here: sacct is disabled
            "--slurm-init-seconds-before-status-checks", "2",
            "--slurm-keep-successful-logs", *extra]


def stop(proc: subprocess.Popen) -> None:
    """SIGINT: Snakemake cancels its SLURM jobs and exits (SIGTERM would wait for running jobs)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def predictions(project: Path, path: str) -> dict[str, pd.DataFrame]:
    """Every replicate's predictions under one predict job's folder, keyed by <replicate>/<severity>.parquet."""
    folder = project / path
    return {f.relative_to(folder).as_posix(): pd.read_parquet(f) for f in sorted(folder.glob("*/*.parquet"))}


SAMPLE = 2  # perturbed images kept per severity in the SLURM run (the tiny test split has 8)


def slurm_params() -> dict:
    params = tiny_params()
    params["perturb"] = {"materialize": "sample", "sample": SAMPLE}
    return params


def manifest(folder: Path) -> pd.DataFrame:
    """A perturbed set's manifest without what depends on which pixels were kept."""
    return pd.read_csv(folder / "manifest.csv", dtype=str).drop(columns=["kept", "png_sha256"])


def test_slurm_run_equals_local_run(slurm_cluster, request, tmp_path):
    project = make_project(tmp_path / "slurm", slurm_params())
    fit_profiles_to_node(project, slurm_cluster)
    env = slurm_cluster.env(engine_env(project, block_network=True))
    log_path = tmp_path / "snakemake-slurm.log"
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(slurm_cmd(CPU_PROFILE, slurm_cluster), cwd=project, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        local = request.getfixturevalue("snakemake_run")  # the local run, concurrently if not built yet
        rc = proc.wait(timeout=max(1, RUN_TIMEOUT - (time.monotonic() - start)))
    finally:
        stop(proc)
    out = log_path.read_text(errors="replace")
    assert rc == 0, f"snakemake --executor slurm failed ({rc}):\n{out[-6000:]}\n{slurm_cluster.logs()}"

    # every job but `localrule all` went through sbatch (one SLURM log each, kept by --slurm-keep-successful-logs)
    slurm_logs = project / ".snakemake" / "slurm_logs"
    for rule in RULES:
        assert list((slurm_logs / f"rule_{rule}").glob("**/*.log")), f"no SLURM job ran rule {rule}"
    n_jobs = sum(line.startswith("rule ") for line in out.splitlines())
    assert n_jobs >= 30 and len(SUBMITTED.findall(out)) == n_jobs, out[-4000:]
    assert not (project / "network.log").exists(), (project / "network.log").read_text()

    # the same data and numbers as the local run, which kept every perturbed image
    params = slurm_params()
    assert hash_path(project / "data/clean") == hash_path(local / "data/clean")
    for name, spec in params["perturbations"].items():
        folder = project / "data/perturbed" / name
        pd.testing.assert_frame_equal(manifest(folder), manifest(local / "data/perturbed" / name))
        for severity in spec["severities"]:
            kept = list((folder / str(severity)).rglob("*.png"))
            assert len(kept) == SAMPLE, f"{folder}/{severity}: {len(kept)} images kept, not {SAMPLE}"
    pd.testing.assert_frame_equal(pd.read_csv(project / "results/summary/summary.csv"),
                                  pd.read_csv(local / "results/summary/summary.csv"))
    assert json.loads((project / "results/summary/audit.json").read_text()) == \
        json.loads((local / "results/summary/audit.json").read_text())
    assert (project / "results/report/index.html").is_file()

    # nothing left to do (a dry run: no cluster involved)
    again = subprocess.run(["snakemake", "--workflow-profile", CPU_PROFILE, "--cores", "2", "-n"], check=False,
                           cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:] + again.stderr[-3000:]

    # the GPU profile: one predict job re-run with --gres=gpu:1 (the stand-in GPU; CPU inside), same predictions
    target = "results/predictions/baseline/vflip"
    gpu = subprocess.run(slurm_cmd(GPU_PROFILE, slurm_cluster, "--force", target), check=False, cwd=project,
                         env=env, capture_output=True, text=True, timeout=600)
    gpu_out = gpu.stdout + gpu.stderr
    assert gpu.returncode == 0, f"{gpu_out[-6000:]}\n{slurm_cluster.logs()}"
    (job_id,) = SUBMITTED.findall(gpu_out)
    tres = slurm_cluster.run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%b").stdout
    assert "gpu:1" in tres, f"job {job_id} asked for {tres!r}, not gpu:1"
    new, old = predictions(project, target), predictions(local, target)
    expected = {f"{r}/{s}.parquet" for r in replicate_names(params, "baseline")
                for s in params["perturbations"]["vflip"]["severities"]}
    assert new.keys() == old.keys() == expected  # every replicate compared, none missing
    for name in new:
        pd.testing.assert_frame_equal(new[name], old[name])
