rule train:
    input:
        code=code("train", "training", "recipes"),
        data="data/clean",
        check="results/check/data_check.json",
        init=lambda wc: config["variants"][wc.variant]["init"],
    output:
        model="results/models/{variant}/best.pt",
        recipe="results/models/{variant}/recipe.json",
        log="results/models/{variant}/train.log",
        provenance="results/models/{variant}/provenance.json",
    params:
        stage=lambda wc: stage_params(config, "train", wc.variant),
    threads: lambda wc: workflow.cores  # deferred: `snakemake --unlock` and friends need no --cores
    log:
        "logs/train/{variant}.log",
    shell:
        "python scripts/train.py --variant {wildcards.variant} > {log} 2>&1"
