"""Train one variant with Ultralytics: recipe injection, warm start, offline, verified augmentation.

Ultralytics writes a label cache beside every dataset it reads, so training reads data/clean through
a scratch folder of symlinks: the cache lands there and the DVC-tracked dataset stays untouched.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import yaml

from augaudit import recipes
from augaudit.datasets import DatasetError
from augaudit.files import IGNORED_SUFFIXES


class Diverged(DatasetError):
    """Training produced non-finite losses: no model is kept (Ultralytics would zero the NaN weights and
    save a normal-looking checkpoint)."""


def check_checkpoint(path: str | Path, key: str) -> list[str]:
    """The class names of a `.pt` file Ultralytics can load, or a one-line error naming the key and the
    file (a text file, a truncated download and a plain PyTorch state dict all fail deep inside
    Ultralytics otherwise)."""
    from ultralytics.nn.tasks import load_checkpoint

    try:
        model, _ = load_checkpoint(str(path), device="cpu")
        names = model.names
    except Exception as e:  # whatever unpickling or Ultralytics raises: the file is the culprit
        raise DatasetError(f"params.yaml: {key}: {path} is not a checkpoint Ultralytics can load "
                           f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)


def first_divergence(results_csv: Path) -> tuple[int, str] | None:
    """(epoch, column) of the first non-finite loss in Ultralytics' results.csv, or None."""
    with open(results_csv, newline="") as f:
        for row in csv.DictReader(f):
            for column, value in row.items():
                name = column.strip()
                if "loss" in name:
                    try:
                        finite = math.isfinite(float(value))
                    except (TypeError, ValueError):
                        finite = False
                    if not finite:
                        return int(float(row["epoch"])), name
    return None


class _Capture(logging.Handler):
    """Collects Ultralytics' log messages so the run can check what it actually applied."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(recipes.strip_ansi(record.getMessage()))


def stage_dataset(clean: Path, scratch: Path) -> Path:
    """A data yaml in `scratch` over per-file symlinks into the clean dataset.

    Folders are real (Ultralytics resolves folder paths, which would lead it back into data/clean) and
    files are links (it globs them without resolving), so its label cache is written into `scratch`.
    """
    for kind in ("images", "labels"):
        for split in ("train", "val"):
            folder = scratch / kind / split
            folder.mkdir(parents=True)
            for f in sorted((clean / kind / split).iterdir()):
                if not f.name.endswith(IGNORED_SUFFIXES):
                    (folder / f.name).symlink_to(f.resolve())
    data = yaml.safe_load((clean / "data.yaml").read_text())
    staged = {"path": str(scratch.resolve()), "train": "images/train", "val": "images/val", "names": data["names"]}
    (scratch / "data.yaml").write_text(yaml.safe_dump(staged, sort_keys=False))
    return scratch / "data.yaml"


def train(init: str, data_yaml: Path, recipe: dict, settings: dict, seed: int, device: str, workdir: Path) -> dict:
    """Train from `init` (architecture yaml or checkpoint); return paths and the serialised recipe."""
    from ultralytics import RTDETR, YOLO

    transforms, switches = recipes.build(recipe)
    capture = _Capture()
    logger = logging.getLogger("ultralytics")
    logger.addHandler(capture)
    try:
        # YOLO() routes RT-DETR checkpoints by their head, but not RT-DETR architecture yamls
        model = (RTDETR if Path(init).suffix in (".yaml", ".yml") and "rtdetr" in Path(init).stem else YOLO)(init)
        model.train(data=str(data_yaml), augmentations=transforms, **switches, **settings, seed=seed,
                    deterministic=True, device=device, amp=False, plots=False, project=str(workdir.resolve()),
                    name="run", exist_ok=True, verbose=True, val=True)
    except RuntimeError as e:  # Ultralytics gives up after three NaN recoveries
        if "NaN" not in str(e):
            raise
        raise Diverged(f"training diverged ({' '.join(str(e).split())})") from None
    finally:
        logger.removeHandler(capture)
    recipes.check_applied(capture.lines, transforms)
    run_dir = workdir / "run"
    if found := first_divergence(run_dir / "results.csv"):
        raise Diverged(f"training diverged: {found[1]} is not finite at epoch {found[0]} (results.csv)")
    return {"best": run_dir / "weights" / "best.pt", "results": run_dir / "results.csv", "args": run_dir / "args.yaml",
            "recipe": recipes.serialise(transforms), "log": capture.lines}
