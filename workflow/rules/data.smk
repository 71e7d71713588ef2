rule prepare:
    input:
        code=code_files("prepare"),
        # a user's dataset: its folder, so changed files re-run prepare (DVC: see README)
        source=lambda wc: (
            [] if config["dataset"]["source"] == "synthetic" else [str(Path(config["dataset"]["source"]).parent)]
        ),
    output:
        directory(str(paths.CLEAN)),
    log:
        "logs/prepare.log",
    benchmark:
        "logs/benchmark/prepare.tsv"
    params:
        stage=lambda wc: stage_params(config, "prepare"),
    shell:
        "python scripts/prepare.py > {log} 2>&1"


rule check:
    input:
        code=code_files("check"),
        data=str(paths.CLEAN),
    output:
        str(paths.CHECK / "data_check.json"),
    log:
        "logs/check.log",
    benchmark:
        "logs/benchmark/check.tsv"
    shell:
        "python scripts/check.py > {log} 2>&1"
