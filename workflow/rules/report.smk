rule report:
    input:
        code=code_files("report"),
        summary=str(paths.SUMMARY),
        models=[m for v in VARIANTS for m in models(v)],
        scores=expand(str(paths.score_dir("{variant}")), variant=VARIANTS),
        predictions=expand(
            str(paths.prediction_dir("{variant}", "{perturbation}")),
            variant=VARIANTS,
            perturbation=["clean", *PERTURBATIONS],
        ),
        data=str(paths.CLEAN),
        perturbed=expand(str(paths.PERTURBED / "{perturbation}"), perturbation=PERTURBATIONS),
    output:
        report(
            directory(str(paths.REPORT)),
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
