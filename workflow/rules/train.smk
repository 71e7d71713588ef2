rule scope:
    input:
        code=code_files("scope"),
    output:
        directory(str(paths.SCOPE)),
    log:
        "logs/scope.log",
    benchmark:
        "logs/benchmark/scope.tsv"
    params:
        stage=lambda wc: stage_params(config, "scope"),
    shell:
        "python scripts/scope.py > {log} 2>&1"


rule train:
    input:
        code=code_files("train"),
        data=str(paths.CLEAN),
        check=str(paths.CHECK / "data_check.json"),
        init=lambda wc: init_path(config, wc.variant, wc.replicate),  # the parent's replicate on a warm start
    output:
        model=str(paths.model_dir("{variant}", "{replicate}") / "best.pt"),
        recipe=str(paths.model_dir("{variant}", "{replicate}") / "recipe.json"),
        log=str(paths.model_dir("{variant}", "{replicate}") / "train.log"),
        provenance=str(paths.model_dir("{variant}", "{replicate}") / "provenance.json"),
    log:
        "logs/train/{variant}/{replicate}.log",
    benchmark:
        "logs/benchmark/train/{variant}/{replicate}.tsv"
    # two trainings at once (deferred: `snakemake --unlock` and friends need no --cores): on 2 cores, two
    # 1-thread trainings take 116 s where the same two take 166 s one after the other on 2 threads
    threads: lambda wc: max(1, workflow.cores // 2)
    params:
        stage=lambda wc: stage_params(config, "train", variant=wc.variant),
    shell:
        "python scripts/train.py --variant {wildcards.variant} --replicate {wildcards.replicate} > {log} 2>&1"
