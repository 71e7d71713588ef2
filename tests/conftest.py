"""Shared fixtures: the repository, a tiny params set, and a copy of the project to run engines in."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PROJECT_FILES = ["Snakefile", "dvc.yaml", ".dvcignore", "workflow", "scripts", "src", "models"]
NETWORK_GUARD = '''
import socket, os
_log = os.environ["AUGAUDIT_NETWORK_LOG"]
_orig = socket.socket.connect
def _guard(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
        with open(_log, "a") as f:
            f.write(f"{os.getpid()} {address!r}\\n")
        raise OSError(f"augaudit test: network connection to {address!r} blocked")
    return _orig(self, address)
socket.socket.connect = _guard
'''


def default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def tiny_params() -> dict:
    """The default params shrunk to seconds: few tiny images, one epoch, 6 perturbations × 2 severities,
    two replicates of baseline and flips (flips warm-starts replicate for replicate), one of mixed."""
    p = copy.deepcopy(default_params())
    p["dataset"]["synthetic"].update(imgsz=64, train=16, val=8, test=8)
    p["train"].update(imgsz=64, epochs=1, batch=8, nbs=8, workers=0, replicates=2)
    p["variants"]["mixed"]["train"] = {"replicates": 1}  # one provisional arm beside a seed-covered one
    p["variants"]["flips"]["train"] = {"epochs": 1, "lr0": 0.002, "warmup_epochs": 0}
    keep = ["gaussian_blur", "gaussian_noise", "brightness", "rotate", "vflip", "fog"]
    p["perturbations"] = {k: {"severities": [1, 2] if k != "vflip" else [1]} for k in keep}
    p["predict"].update(imgsz=64, batch=4)
    p["compare"]["primary_weight"] = 0.8
    return p


def make_project(dest: Path, params: dict) -> Path:
    """A runnable copy of the project (code + workflow files) with its own params, git and DVC."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (dest / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    env = engine_env(dest)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run(["dvc", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run(["dvc", "config", "core.analytics", "false"], cwd=dest, check=True, env=env)
    shutil.copytree(ROOT / ".dvc" / "plots", dest / ".dvc" / "plots")
    return dest


def engine_env(project: Path, block_network: bool = False) -> dict:
    """Environment for engine runs: the venv first on PATH, optionally with outbound sockets blocked."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "augaudit-tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@augaudit.invalid"
    if block_network:
        guard = project / ".network-guard"
        guard.mkdir(exist_ok=True)
        (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
        env["PYTHONPATH"] = f"{guard}{os.pathsep}{env.get('PYTHONPATH', '')}"
        env["AUGAUDIT_NETWORK_LOG"] = str(project / "network.log")
    return env


def run(cmd: list[str], cwd: Path, env: dict | None = None, check: bool = True, timeout: int = 1800):
    result = subprocess.run(cmd, cwd=cwd, env=env or engine_env(cwd), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def detector(tmp_path_factory) -> dict:
    """A checkpoint and a labelled YOLO dataset to test inference and mAP against Ultralytics on:
    ../shared's COCO-pretrained yolov8n.pt on coco8 (copied: Ultralytics writes label caches beside
    a dataset), or, where ../shared is absent, a model this suite trains on the embedded synthetic
    data with the default's training settings (one seed, through the real workflow; about a minute on
    2 cores). `kind` says which; `images`: 8 images of the data (coco8's train and val); `imgsz`: the
    checkpoint's own size."""
    from augaudit import datasets

    weights, coco8 = SHARED / "weights" / "yolov8n.pt", SHARED / "datasets" / "coco8"
    if weights.is_file() and coco8.is_dir():
        dest = tmp_path_factory.mktemp("coco8")
        shutil.copytree(coco8, dest / "coco8")
        info = datasets.read_data_yaml(dest / "coco8" / "data.yaml")
        images = [i for split in ("train", "val") for i in datasets.list_images(info["splits"][split])]
        return {"kind": "coco8", "weights": weights, "data": dest / "coco8" / "data.yaml", "split": "val",
                "images": sorted(images), "imgsz": 640}
    params = default_params()
    params["variants"] = {"baseline": {"init": "models/yolov8n.yaml", "recipe": "none"}}
    params["train"]["replicates"] = 1
    project = make_project(tmp_path_factory.mktemp("detector"), params)
    run(["snakemake", "--cores", "2", "results/models/baseline/r0/best.pt"], project)
    info = datasets.read_data_yaml(project / "data" / "clean" / "data.yaml")
    return {"kind": "synthetic", "weights": project / "results/models/baseline/r0/best.pt",
            "data": project / "data" / "clean" / "data.yaml", "split": "test",
            "images": datasets.list_images(info["splits"]["test"])[:8], "imgsz": params["train"]["imgsz"]}


@pytest.fixture(scope="session")
def snakemake_run(tmp_path_factory) -> Path:
    """The tiny config run once by `snakemake --cores 2`, outbound network blocked. Do not modify it:
    tests that change things work on `copy_project(snakemake_run, ...)`."""
    project = make_project(tmp_path_factory.mktemp("snakemake"), tiny_params())
    run(["snakemake", "--cores", "2"], project, engine_env(project, block_network=True))
    return project


@pytest.fixture(scope="session")
def dvc_run(tmp_path_factory) -> Path:
    """The tiny config run once by `dvc repro`, outbound network blocked (read-only, as above)."""
    project = make_project(tmp_path_factory.mktemp("dvc"), tiny_params())
    run(["dvc", "repro"], project, engine_env(project, block_network=True))
    return project


def dead_pid() -> int:
    """The PID of a process that has ended (a killed writer's, for stale-folder tests)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def copy_project(project: Path, dest: Path) -> Path:
    """A full copy of a finished project (outputs, .snakemake metadata, DVC cache), mtimes kept."""
    shutil.copytree(project, dest, symlinks=True)
    return dest
