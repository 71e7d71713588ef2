rule perturb:
    input:
        code=code_files("perturb"),
        data="data/clean",
        check="results/check/data_check.json",
    output:
        directory("data/perturbed/{perturbation}"),
    log:
        "logs/perturb/{perturbation}.log",
    benchmark:
        "logs/benchmark/perturb/{perturbation}.tsv"
    threads: lambda wc: workflow.cores  # deferred: `snakemake --unlock` and friends need no --cores
    params:
        stage=lambda wc: stage_params(config, "perturb", wc.perturbation),
    shell:
        "python scripts/perturb.py --perturbation {wildcards.perturbation} > {log} 2>&1"
