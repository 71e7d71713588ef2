"""prepare: materialise the clean dataset in data/clean (generated, or copied from the user's data yaml)."""

from __future__ import annotations

import sys
from pathlib import Path

from augaudit import datasets, provenance, stageparams, synthetic
from augaudit.files import atomic_dir
from augaudit.paths import CLEAN

# the registry (augaudit.stages): one job, and the params.yaml keys it reads
JOBS = {}
PARAMS = ("seed", "dataset")


def run(params: dict) -> Path:
    source = params["dataset"]["source"]
    orphans = {}
    with atomic_dir(CLEAN) as tmp:
        if source == "synthetic":
            s = params["dataset"]["synthetic"]
            synthetic.generate(tmp, params["seed"], s["imgsz"], {k: s[k] for k in ("train", "val", "test")},
                               s["max_objects"], s["distractors"])
            inputs = {}
        else:
            orphans = datasets.copy_dataset(source, tmp)
            inputs = {"dataset": Path(source).parent}
            for path, why in orphans.items():  # reported, not fatal: a stray file is not a wrong label
                print(f"warning: {path}: {why}, not copied", file=sys.stderr)
        split = params["dataset"]["eval_split"]
        if not (tmp / "images" / split).is_dir():
            raise datasets.DatasetError(f"{source}: dataset.eval_split {split!r} has no images")
        provenance.write(tmp, "prepare", inputs, stageparams.stage_params(params, "prepare"), params["seed"],
                         extra={"not_copied": orphans})
    return CLEAN
