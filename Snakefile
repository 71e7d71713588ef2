# augaudit workflow: snakemake --cores all   (the same stages as dvc.yaml; see README)
from snakemake.exceptions import WorkflowError

from augaudit import config as params_schema


configfile: "params.yaml"


# Validated once by the main process; cluster job steps (remote_exec) re-parse this file per job
# and skip the check, which imports Albumentations and costs seconds.
if not workflow.remote_exec:
    try:
        params_schema.validate(config, "params.yaml", open("params.yaml").read())
    except params_schema.ConfigError as e:
        raise WorkflowError(str(e)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/perturb.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        "results/report",
