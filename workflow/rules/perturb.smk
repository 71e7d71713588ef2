rule perturb:
    input:
        code=code_files("perturb"),
        data=str(paths.CLEAN),
        check=str(paths.CHECK / "data_check.json"),
    output:
        directory(str(paths.PERTURBED / "{perturbation}")),
    log:
        "logs/perturb/{perturbation}.log",
    benchmark:
        "logs/benchmark/perturb/{perturbation}.tsv"
    # half the cores, like train (deferred: `snakemake --unlock` and friends need no --cores): a rule
    # that asks for every core cannot start beside a training job, so it waited for all of them
    threads: lambda wc: max(1, workflow.cores // 2)
    params:
        stage=lambda wc: stage_params(config, "perturb", perturbation=wc.perturbation),
    shell:
        "python scripts/perturb.py --perturbation {wildcards.perturbation} > {log} 2>&1"
