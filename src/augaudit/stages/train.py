"""train: one variant's model in results/models/<variant>/ (best.pt, recipe.json, results.csv)."""

from __future__ import annotations

import shutil
from pathlib import Path

from augaudit import config, provenance, recipes, runtime, training
from augaudit.files import atomic_dir, write_json, write_text

CLEAN = Path("data/clean")


def out_dir(variant: str) -> Path:
    return Path("results/models") / variant


def run(params: dict, variant: str) -> Path:
    runtime.offline()
    v = params["variants"][variant]
    init = v["init"]
    if init.endswith(".pt") and not Path(init).is_file():
        raise FileNotFoundError(f"params.yaml: variants.{variant}.init: checkpoint {init} does not exist")
    device = runtime.resolve_device(params["device"])
    seed = runtime.derive_seed(params["seed"], "train", variant)
    runtime.seed_everything(seed)
    out = out_dir(variant)
    if v.get("evaluate_only"):
        return _as_is(params, variant, Path(init), out)
    with atomic_dir(out) as tmp:
        work = tmp / "_work"
        data_yaml = training.stage_dataset(CLEAN, work / "data")
        result = training.train(init, data_yaml, params["recipes"][v["recipe"]], config.train_settings(params, variant),
                                seed, device, work)
        shutil.copyfile(result["best"], tmp / "best.pt")
        shutil.copyfile(result["results"], tmp / "results.csv")
        write_json(tmp / "recipe.json", {"name": v["recipe"], "targets": params["recipes"][v["recipe"]]["targets"],
                                         "albumentations": result["recipe"]})
        write_text(tmp / "train.log", "\n".join(result["log"]) + "\n")
        shutil.rmtree(work)
        inputs = {"data": CLEAN}
        if Path(init).is_file():
            inputs["init"] = Path(init)
        provenance.write(tmp, "train", inputs, config.stage_params(params, "train", variant), seed, device)
    return out


def _as_is(params: dict, variant: str, checkpoint: Path, out: Path) -> Path:
    """An evaluate-only variant: the checkpoint as it is, so predict/score treat it like a trained one."""
    with atomic_dir(out) as tmp:
        shutil.copyfile(checkpoint, tmp / "best.pt")
        write_json(tmp / "recipe.json", {"name": params["variants"][variant]["recipe"], "targets": [],
                                         "evaluate_only": True, "albumentations": recipes.serialise([])})
        write_text(tmp / "train.log", f"evaluate-only: {checkpoint} used as it is, no training\n")
        provenance.write(tmp, "train", {"init": checkpoint}, config.stage_params(params, "train", variant), None)
    return out
