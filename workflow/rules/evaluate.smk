rule predict:
    input:
        code=code_files("predict"),
        models=lambda wc: models(wc.variant),
        data=lambda wc: str(paths.test_dir(wc.perturbation)),
        clean=str(paths.CLEAN),  # a perturbed image perturb did not keep is regenerated from it
    output:
        directory(str(paths.prediction_dir("{variant}", "{perturbation}"))),
    log:
        "logs/predict/{variant}/{perturbation}.log",
    benchmark:
        "logs/benchmark/predict/{variant}/{perturbation}.tsv"
    params:
        stage=lambda wc: stage_params(config, "predict", perturbation=wc.perturbation),
    shell:
        "python scripts/predict.py --variant {wildcards.variant} --perturbation {wildcards.perturbation} > {log} 2>&1"


rule score:
    input:
        code=code_files("score"),
        predictions=expand(
            str(paths.prediction_dir("{{variant}}", "{perturbation}")), perturbation=["clean", *PERTURBATIONS]
        ),
        data=str(paths.CLEAN),
        perturbed=expand(str(paths.PERTURBED / "{perturbation}"), perturbation=PERTURBATIONS),
    output:
        directory(str(paths.score_dir("{variant}"))),
    log:
        "logs/score/{variant}.log",
    benchmark:
        "logs/benchmark/score/{variant}.tsv"
    params:
        stage=lambda wc: stage_params(config, "score"),
    shell:
        "python scripts/score.py --variant {wildcards.variant} > {log} 2>&1"


rule compare:
    input:
        code=code_files("compare"),
        scores=expand(str(paths.score_dir("{variant}")), variant=VARIANTS),
    output:
        directory(str(paths.SUMMARY)),
    log:
        "logs/compare.log",
    benchmark:
        "logs/benchmark/compare.tsv"
    params:
        stage=lambda wc: stage_params(config, "compare"),
    shell:
        "python scripts/compare.py > {log} 2>&1"
