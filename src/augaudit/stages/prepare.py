"""prepare: materialise the clean dataset in data/clean (generated, or copied from the user's data yaml)."""

from __future__ import annotations

from pathlib import Path

from augaudit import config, datasets, provenance, synthetic
from augaudit.paths import CLEAN
from augaudit.files import atomic_dir

def run(params: dict) -> Path:
    source = params["dataset"]["source"]
    with atomic_dir(CLEAN) as tmp:
        if source == "synthetic":
            s = params["dataset"]["synthetic"]
            synthetic.generate(tmp, params["seed"], s["imgsz"], {k: s[k] for k in ("train", "val", "test")},
                               s["max_objects"], s["distractors"])
            inputs = {}
        else:
            datasets.copy_dataset(source, tmp)
            inputs = {"dataset": Path(source).parent}
        split = params["dataset"]["eval_split"]
        if not (tmp / "images" / split).is_dir():
            raise datasets.DatasetError(f"{source}: dataset.eval_split {split!r} has no images")
        provenance.write(tmp, "prepare", inputs, config.stage_params(params, "prepare"), params["seed"])
    return CLEAN
