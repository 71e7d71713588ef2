rule report:
    input:
        code=code_files("report"),
        summary="results/summary",
        models=[m for v in VARIANTS for m in models(v)],
        scores=expand("results/scores/{variant}", variant=VARIANTS),
        predictions=expand(
            "results/predictions/{variant}/{perturbation}", variant=VARIANTS, perturbation=["clean", *PERTURBATIONS]
        ),
        data="data/clean",
        perturbed=expand("data/perturbed/{perturbation}", perturbation=PERTURBATIONS),
    output:
        report(
            directory("results/report"),
            patterns=["figures/{name}.png"],
            category="augaudit",
            caption="../report/figures.rst",
        ),
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmark/report.tsv"
    params:
        stage=lambda wc: stage_params(config, "report"),
    shell:
        "python scripts/report.py > {log} 2>&1"
