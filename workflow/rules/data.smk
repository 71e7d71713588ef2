rule prepare:
    input:
        code=code_files("prepare"),
        # a user's dataset: its folder, so changed files re-run prepare (DVC: see README)
        source=lambda wc: [] if config["dataset"]["source"] == "synthetic"
        else [str(Path(config["dataset"]["source"]).parent)],
    output:
        directory("data/clean"),
    params:
        stage=lambda wc: stage_params(config, "prepare"),
    benchmark:
        "logs/benchmark/prepare.tsv"
    log:
        "logs/prepare.log",
    shell:
        "python scripts/prepare.py > {log} 2>&1"


rule check:
    input:
        code=code_files("check"),
        data="data/clean",
    output:
        "results/check/data_check.json",
    benchmark:
        "logs/benchmark/check.tsv"
    log:
        "logs/check.log",
    shell:
        "python scripts/check.py > {log} 2>&1"
