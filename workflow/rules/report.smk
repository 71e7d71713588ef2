rule report:
    input:
        code=code("report", "charts", "provenance"),
        summary="results/summary",
        models=expand("results/models/{variant}/recipe.json", variant=VARIANTS),
        data="data/clean",
    output:
        directory("results/report"),
    params:
        stage=lambda wc: stage_params(config, "report"),
    log:
        "logs/report.log",
    shell:
        "python scripts/report.py > {log} 2>&1"
