def test_data(wc):
    return "data/clean" if wc.perturbation == "clean" else f"data/perturbed/{wc.perturbation}"


rule predict:
    input:
        code=code_files("predict"),
        models=lambda wc: models(wc.variant),
        data=test_data,
    output:
        directory("results/predictions/{variant}/{perturbation}"),
    params:
        stage=lambda wc: stage_params(config, "predict"),
    benchmark:
        "logs/benchmark/predict/{variant}/{perturbation}.tsv"
    log:
        "logs/predict/{variant}/{perturbation}.log",
    shell:
        "python scripts/predict.py --variant {wildcards.variant} --perturbation {wildcards.perturbation} > {log} 2>&1"


rule score:
    input:
        code=code_files("score"),
        predictions=expand("results/predictions/{{variant}}/{perturbation}", perturbation=["clean", *PERTURBATIONS]),
        data="data/clean",
        perturbed=expand("data/perturbed/{perturbation}", perturbation=PERTURBATIONS),
    output:
        directory("results/scores/{variant}"),
    params:
        stage=lambda wc: stage_params(config, "score"),
    benchmark:
        "logs/benchmark/score/{variant}.tsv"
    log:
        "logs/score/{variant}.log",
    shell:
        "python scripts/score.py --variant {wildcards.variant} > {log} 2>&1"


rule compare:
    input:
        code=code_files("compare"),
        scores=expand("results/scores/{variant}", variant=VARIANTS),
    output:
        directory("results/summary"),
    params:
        stage=lambda wc: stage_params(config, "compare"),
    benchmark:
        "logs/benchmark/compare.tsv"
    log:
        "logs/compare.log",
    shell:
        "python scripts/compare.py > {log} 2>&1"
