rule source:
    input:
        code=code_files("source"),
    output:
        "results/source/fingerprint.json",
    log:
        "logs/source.log",
    benchmark:
        "logs/benchmark/source.tsv"
    params:
        stage=lambda wc: stage_params(config, "source"),
        # the user's dataset by content, computed while planning: an edited, added or removed file re-runs it
        fingerprint=lambda wc: source_fingerprint(config),
    shell:
        "python scripts/source.py > {log} 2>&1"


rule prepare:
    input:
        code=code_files("prepare"),
        source="results/source/fingerprint.json",
    output:
        directory("data/clean"),
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
        data="data/clean",
    output:
        "results/check/data_check.json",
    log:
        "logs/check.log",
    benchmark:
        "logs/benchmark/check.tsv"
    shell:
        "python scripts/check.py > {log} 2>&1"
