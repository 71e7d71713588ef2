"""Train one variant with Ultralytics: recipe injection, warm start, offline, verified augmentation.

Ultralytics writes a label cache beside every dataset it reads, so training reads data/clean through
a scratch folder of symlinks: the cache lands there and the DVC-tracked dataset stays untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from augaudit import recipes
from augaudit.files import IGNORED_SUFFIXES


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
    finally:
        logger.removeHandler(capture)
    recipes.check_applied(capture.lines, transforms)
    run_dir = workdir / "run"
    return {"best": run_dir / "weights" / "best.pt", "results": run_dir / "results.csv", "args": run_dir / "args.yaml",
            "recipe": recipes.serialise(transforms), "log": capture.lines}
