rule prepare:
    input:
        code=code("prepare", "synthetic", "datasets"),
        # a user's dataset: its folder, so changed files re-run prepare (DVC: see README)
        source=lambda wc: [] if config["dataset"]["source"] == "synthetic"
        else [str(Path(config["dataset"]["source"]).parent)],
    output:
        directory("data/clean"),
    params:
        stage=lambda wc: stage_params(config, "prepare"),
    log:
        "logs/prepare.log",
    shell:
        "python scripts/prepare.py > {log} 2>&1"


rule check:
    input:
        code=code("check", "datasets"),
        data="data/clean",
    output:
        "results/check/data_check.json",
    log:
        "logs/check.log",
    shell:
        "python scripts/check.py > {log} 2>&1"
