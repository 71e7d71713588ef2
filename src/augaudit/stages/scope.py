"""scope: what each variant's training reads of params.yaml, one file per variant, for dvc.yaml's train.

dvc.yaml cannot list a key that some variants lack (a variant's own `train:` settings, `evaluate_only`,
a recipe's `ultralytics`), so its train stage could only list whole `variants.<v>` and
`recipes.<r>` entries, and editing what the audit alone reads (a variant's `baseline`, a recipe's
`targets`) would retrain. Instead it depends on `results/scope/train/<variant>.json`: the params
`stageparams.stage_params` declares for the variant's training, and its replicate count (DVC's
stage trains every replicate). This stage re-runs on any edit of `seed`, `device`, `train`,
`variants` or `recipes`, in about a second; DVC re-runs a stage only when a dep's bytes change, so a
variant's training re-runs exactly when its file does. Snakemake's train jobs have their params as
`params:` and do not read the file (an input made by a job that re-runs would make Snakemake skip
their own params check); `rule all` asks for it, so a project run by Snakemake can be handed over to
DVC (docs/reproducibility.md).
"""

from __future__ import annotations

from pathlib import Path

from augaudit import paths, provenance, stageparams
from augaudit.files import atomic_dir, write_json

# the registry (augaudit.stages): one job, and the params.yaml keys it reads
JOBS = {}
PARAMS = ("seed", "device", "train", "variants", "recipes")


def run(params: dict) -> Path:
    with atomic_dir(paths.SCOPE) as tmp:
        for variant in params["variants"]:
            write_json(tmp / paths.train_scope(variant).relative_to(paths.SCOPE),
                       {"params": stageparams.stage_params(params, "train", variant=variant),
                        "replicates": stageparams.replicates(params, variant)})
        provenance.write(tmp, "scope", {}, stageparams.stage_params(params, "scope"), None)
    return paths.SCOPE
