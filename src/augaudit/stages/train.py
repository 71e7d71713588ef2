"""train: a variant's models, one per training seed, in results/models/<variant>/<replicate>/.

Each replicate folder holds best.pt, recipe.json, results.csv, args.yaml (the arguments Ultralytics
resolved and ran with), train.log and provenance.json. `--replicate rI` trains one replicate (one
Snakemake job each); without it every replicate of the variant is trained in turn (one DVC stage).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from augaudit import datasets, paramsfile, paths, provenance, recipes, runtime, stageparams, training
from augaudit.files import atomic_dir, write_json, write_text

# the registry (augaudit.stages): one job per variant and replicate (DVC's: one per variant, every
# replicate), and the params.yaml keys it reads
JOBS = {"variant": "variants", "replicate": "replicates"}
PARAMS = (
    "seed",
    "device",
    "train: * -replicates",  # a replicate count shapes the DAG; no job reads it
    # what training reads of a variant and its recipe; the rest (a variant's baseline, prescribed,
    # prescribed_for; a recipe's targets) is the audit's: editing it trains nothing
    "variants.{variant}: init recipe evaluate_only train -train.replicates",
    "recipes.{recipe}: albumentations ultralytics",
)


def replicate_seed(params: dict, replicate: str) -> int:
    """Replicate rI of every variant trains with the same seed: paired seeds. Two variants' replicates rI
    share the weight initialisation and the data order and differ only in what their recipes change
    (their augmentation draws included): what differs between them is the recipe (docs/risk.md)."""
    return runtime.derive_seed(params["seed"], "train", int(replicate[1:]))


def run(params: dict, variant: str, inits: dict[str, str], replicate: str | None = None) -> Path:
    """Train each replicate in `inits` from what it maps to: `replicate`'s own folder when one is
    given (a Snakemake job), else every replicate under the variant's folder (DVC's stage)."""
    runtime.offline()
    runtime.use_threads()
    device = runtime.resolve_device(params["device"])
    for init in inits.values():  # before anything is written
        if init.endswith(".pt") and not Path(init).is_file():
            raise FileNotFoundError(f"params.yaml: variants.{variant}.init: checkpoint {init} does not exist")
        if init.endswith(".pt"):
            classes = training.check_checkpoint(init, f"variants.{variant}.init")
            if params["variants"][variant].get("evaluate_only"):
                same_classes(classes, variant, init)
    if not params["variants"][variant].get("evaluate_only"):
        trainable(params, variant)
    out = paths.model_dir(variant, replicate)
    with atomic_dir(out) as tmp:
        for name, init in inits.items():
            try:
                _train_one(params, variant, name, init, device, tmp if replicate is not None else tmp / name)
            except training.Diverged as e:
                raise training.Diverged(f"variants.{variant} replicate {name}: {e}; no model kept (a smaller "
                                        "lr0, or a batch closer to nbs, usually trains)") from None
    return out


def same_classes(classes: list[str], variant: str, init: str) -> None:
    """A checkpoint evaluated as it is must detect the dataset's classes, in its order: its class ids are
    compared with the labels' (a COCO model on other classes would score its `person` as class 0)."""
    names = datasets.read_data_yaml(paths.CLEAN / "data.yaml")["names"]
    if classes != names:
        at = next((i for i, (a, b) in enumerate(zip(classes, names, strict=False)) if a != b),
                  min(len(classes), len(names)))
        raise datasets.DatasetError(
            f"params.yaml: variants.{variant}.init: {init} detects {len(classes)} classes and the dataset has "
            f"{len(names)}; class {at} is {classes[at] if at < len(classes) else 'missing'!r} in the checkpoint "
            f"and {names[at] if at < len(names) else 'missing'!r} in the data yaml: evaluate it on data with its "
            "classes, or fine-tune it (drop evaluate_only)")


def trainable(params: dict, variant: str) -> None:
    """The train split has images, and at least one batch of them: Ultralytics would otherwise train on
    one short batch per epoch with weight decay scaled by batch / nbs as if the batch were full."""
    images = len(datasets.list_images(paths.CLEAN / "images" / "train"))
    if not images:
        raise datasets.DatasetError(f"{paths.CLEAN / 'images' / 'train'}: no images, and variant {variant} trains")
    batch = stageparams.train_settings(params, variant)["batch"]
    if batch > images:
        key = f"variants.{variant}.train.batch" if "batch" in params["variants"][variant].get("train", {}) \
            else "train.batch"
        raise paramsfile.ParamsError(f"params.yaml: {key}: {batch} is larger than the train split ({images} images in "
                                 f"{paths.CLEAN / 'images' / 'train'}); use at most {images}")


def _train_one(params: dict, variant: str, replicate: str, init: str, device: str, folder: Path) -> None:
    v = params["variants"][variant]
    folder.mkdir(parents=True, exist_ok=True)
    stage_params = stageparams.stage_params(params, "train", variant=variant)
    if v.get("evaluate_only"):  # the checkpoint as it is, so predict/score treat it like a trained one
        shutil.copyfile(init, folder / "best.pt")
        write_json(folder / "recipe.json", {"name": v["recipe"], "evaluate_only": True,
                                            "albumentations": recipes.serialise([])})
        write_text(folder / "train.log", f"evaluate-only: {init} used as it is, no training\n")
        provenance.write(folder, "train", {"init": Path(init)}, stage_params, None)
        return
    seed = replicate_seed(params, replicate)
    runtime.seed_everything(seed)
    work = folder / "_work"
    data_yaml = training.stage_dataset(paths.CLEAN, work / "data")
    settings = stageparams.train_settings(params, variant)
    result = training.train(init, data_yaml, params["recipes"][v["recipe"]], settings, seed, device, work)
    for name in ("best", "results", "args"):
        shutil.copyfile(result[name], folder / Path(result[name]).name)
    write_json(folder / "recipe.json", {"name": v["recipe"], "albumentations": result["recipe"]})
    write_text(folder / "train.log", "\n".join(result["log"]) + "\n")
    shutil.rmtree(work)
    inputs = {"data": paths.CLEAN}
    if Path(init).is_file():
        inputs["init"] = Path(init)
    args = yaml.safe_load((folder / "args.yaml").read_text())
    provenance.write(folder, "train", inputs, stage_params, seed, device,
                     extra={"replicate": replicate, "ultralytics_args": args})
