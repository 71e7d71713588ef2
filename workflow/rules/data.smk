rule prepare:
    input:
        code=code("prepare", "synthetic", "datasets"),
    output:
        directory("data/clean"),
    params:
        stage=lambda wc: stage_params(config, "prepare"),
    log:
        "logs/prepare.log",
    shell:
        "python scripts/prepare.py > {log} 2>&1"
