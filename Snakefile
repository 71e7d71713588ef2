# augaudit workflow: snakemake --cores all   (the same stages as dvc.yaml; see README)
from snakemake.exceptions import WorkflowError

from augaudit import paramsfile
from augaudit.runtime import config_dir


configfile: "params.yaml"


# Checked once by the main process (cluster job steps, remote_exec, re-parse this file per job and skip
# it); a params.yaml that already passed with this code is not validated again (.config/augaudit), by
# this or by the jobs.
if not workflow.remote_exec:
    try:
        strict = paramsfile.load("params.yaml", config_dir() / "augaudit")  # duplicate keys, aliases, NaN...
    except paramsfile.ParamsError as e:
        raise WorkflowError(str(e)) from None
    if strict != config:  # every job reads params.yaml itself: a plan from other values would lie
        raise WorkflowError(
            "--config/--configfile change the plan but not the jobs, which read params.yaml: edit params.yaml "
            "(or cp configs/<name>.yaml params.yaml; with DVC, dvc exp run -S key=value) instead"
        )


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/perturb.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        str(paths.REPORT),
        str(paths.SCOPE),  # dvc.yaml's train trigger, made here too for a hand-over to DVC
