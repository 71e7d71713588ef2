"""Process set-up every stage shares: offline Ultralytics, device choice and seeding.

Ultralytics and Albumentations read their environment at import time, so `offline()` must run before
either is imported; every stage calls it first. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np

_OFFLINE_DONE = False
_IMPORTED = time.monotonic()
READY: float | None = None  # seconds after the process started at which offline() finished (its last set-up)


def since_start() -> float:
    """Seconds since this process started (Linux: its start time in /proc, so the interpreter's own
    start-up counts; elsewhere: since this module was imported)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


def config_dir() -> Path:
    """The project-local Ultralytics config folder (never the user's home), ignored by git."""
    return Path(os.environ.get("AUGAUDIT_CONFIG_DIR", Path.cwd() / ".config")).resolve()


def offline() -> None:
    """Make Ultralytics and Albumentations run with no network: no hub, fonts, updates or telemetry."""
    global _OFFLINE_DONE
    if _OFFLINE_DONE:
        return
    cfg = config_dir()
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_VERBOSE"] = os.environ.get("YOLO_VERBOSE", "true")
    os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"
    os.environ["MPLBACKEND"] = "Agg"
    fonts = cfg / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):  # Ultralytics fetches these fonts unless present
        if not (fonts / name).exists():
            tmp = fonts / f".{name}.tmp"
            shutil.copyfile(ttf, tmp)
            os.replace(tmp, fonts / name)
    from ultralytics import settings

    settings.update(sync=False, dvc=False, mlflow=False, wandb=False, tensorboard=False, clearml=False,
                    comet=False, raytune=False, vscode_msg=False, openvino_msg=False,
                    runs_dir=str(cfg / "runs"), weights_dir=str(cfg / "weights"), datasets_dir=str(cfg / "datasets"))
    _OFFLINE_DONE = True
    global READY
    READY = since_start()


def use_threads(threads: int | None = None) -> int:
    """Run torch on exactly `threads` threads (default: the stage's allocation, augaudit.THREADS).

    Ultralytics sets torch to min(8, cores - 1) threads whenever it picks a CPU device, which on a
    2-core machine is one thread while the job holds two; its module constant is set to match.
    """
    import torch
    import ultralytics.utils.torch_utils as ultralytics_torch

    from augaudit import THREADS

    threads = threads or THREADS
    torch.set_num_threads(threads)
    ultralytics_torch.NUM_THREADS = threads
    return threads


class DeviceError(ValueError):
    """A device this machine does not have; the message is one line naming the key."""


def resolve_device(requested: str) -> str:
    """Map `auto` to CUDA when present, else CPU; a CUDA request with no CUDA, or for a device index the
    machine lacks, is an error, never a fallback."""
    import torch

    requested = str(requested)
    if requested == "auto":
        return "0" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if not torch.cuda.is_available():
        raise DeviceError(f"params.yaml: device: {requested!r} was requested but CUDA is not available on this "
                          "machine")
    index = "0" if requested == "cuda" else requested.removeprefix("cuda:")
    if int(index) >= (count := torch.cuda.device_count()):
        raise DeviceError(f"params.yaml: device: {requested!r}: this machine has {count} CUDA device(s), "
                          f"cuda:0 to cuda:{count - 1}")
    return index


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 32-bit seed from the global seed and the item's identity (stage, names, indices)."""
    text = "/".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch for code that draws from global generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
