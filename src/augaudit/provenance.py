"""provenance.json: what produced an output — input hashes, parameters, code, packages, device, seed.

Written beside every output so any number in the report can be traced to the exact data, code and
parameters behind it. The code version is the git commit of the augaudit source plus a hash of the
package's files, which stays meaningful when the source is not a git checkout or is dirty.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from augaudit import __version__
from augaudit.files import hash_path, hash_sources, write_json

PACKAGES = ("torch", "torchvision", "ultralytics-opencv-headless", "albumentations", "numpy",
            "opencv-python-headless", "pandas", "faster-coco-eval", "snakemake", "dvc", "altair")
_SRC = Path(__file__).resolve().parent


@cache
def code_version() -> dict:
    """augaudit's version, source hash and (when available) git commit and dirty flag."""
    out = {"augaudit": __version__, "source_sha256": hash_sources(_SRC)}
    try:
        git = ["git", "-C", str(_SRC)]
        out["git_commit"] = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                           check=True, timeout=10).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True, text=True,
                               check=True, timeout=10).stdout.strip()
        out["git_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


@cache
def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info(device: str | None) -> dict:
    """The device a stage ran on, with the GPU's name when it was one."""
    info = {"device": device, "platform": platform.platform(), "machine": platform.machine()}
    if device not in (None, "cpu") and "torch" in sys.modules:
        import torch

        info["gpu"] = torch.cuda.get_device_name(int(str(device).split(",")[0]))
    return info


def write(folder: str | Path, stage: str, inputs: dict[str, str | Path], params: dict, seed: int | None,
          device: str | None = None, extra: dict | None = None) -> None:
    """Write `folder/provenance.json` for one stage's output."""
    record = {
        "stage": stage,
        "inputs": {name: {"path": str(p), "sha256": hash_path(p)} for name, p in sorted(inputs.items())},
        "params": params,
        "seed": seed,
        "code": code_version(),
        "packages": package_versions(),
        "device": device_info(device),
        "command": sys.argv,
    }
    if extra:
        record.update(extra)
    write_json(Path(folder) / "provenance.json", record)
