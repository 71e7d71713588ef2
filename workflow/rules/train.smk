rule scope:
    input:
        code=code_files("scope"),
    output:
        directory("results/scope"),
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
        data="data/clean",
        check="results/check/data_check.json",
        init=lambda wc: init_path(config, wc.variant, wc.replicate),  # the parent's replicate on a warm start
    output:
        model="results/models/{variant}/{replicate}/best.pt",
        recipe="results/models/{variant}/{replicate}/recipe.json",
        log="results/models/{variant}/{replicate}/train.log",
        provenance="results/models/{variant}/{replicate}/provenance.json",
    log:
        "logs/train/{variant}/{replicate}.log",
    benchmark:
        "logs/benchmark/train/{variant}/{replicate}.tsv"
    # two trainings at once (deferred: `snakemake --unlock` and friends need no --cores): on 2 cores, two
    # 1-thread trainings take 116 s where the same two take 166 s one after the other on 2 threads
    threads: lambda wc: max(1, workflow.cores // 2)
    params:
        stage=lambda wc: stage_params(config, "train", wc.variant),
    shell:
        "python scripts/train.py --variant {wildcards.variant} --replicate {wildcards.replicate} > {log} 2>&1"
