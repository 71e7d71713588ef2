rule prepare:
    input:
        code=code_files("prepare"),
        source=lambda wc: [] if config["dataset"]["source"] == "synthetic" else [config["dataset"]["source"]],
    output:
        directory(str(paths.CLEAN)),
    log:
        "logs/prepare.log",
    benchmark:
        "logs/benchmark/prepare.tsv"
    params:
        stage=lambda wc: stage_params(config, "prepare"),
        source=source_fingerprint,
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
