# Stage 4: valence and RDF networks per energy window, the linear baseline, averaged spectra.

LEARNING = config["learning"]
WINDOWS = list(LEARNING["windows"])
TARGETS = ["valence", "rdf"]


wildcard_constraints:
    window=r"[A-Za-z0-9_]+",
    target=r"valence|rdf",


rule train_model:
    input:
        sites=rules.dataset_cubes.output.sites,
    output:
        model="results/learning/window_{window}/{target}/model.pt",
        predictions="results/learning/window_{window}/{target}/predictions.nc",
        metrics="results/learning/window_{window}/{target}/metrics.json",
        learning_curve="results/learning/window_{window}/{target}/learning_curve.csv",
    log:
        "logs/train_model/{window}_{target}.log",
    benchmark:
        "benchmarks/train_model/{window}_{target}.tsv"
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
    params:
        window=lambda wc: LEARNING["windows"][wc.window],
        learning=LEARNING,
        config=config,
    script:
        "../scripts/train_model.py"


rule linear_baseline:
    input:
        sites=rules.dataset_cubes.output.sites,
    output:
        metrics="results/learning/window_{window}/valence/baseline_metrics.json",
    log:
        "logs/linear_baseline/{window}.log",
    conda:
        "../envs/ml.yaml"
    params:
        window=lambda wc: LEARNING["windows"][wc.window],
    script:
        "../scripts/linear_baseline.py"


rule averaged_evaluation:
    input:
        systems=rules.dataset_cubes.output.systems,
        valence="results/learning/window_{window}/valence/model.pt",
        rdf="results/learning/window_{window}/rdf/model.pt",
    output:
        metrics="results/learning/window_{window}/averaged_metrics.json",
        predictions="results/learning/window_{window}/averaged_predictions.nc",
    log:
        "logs/averaged_evaluation/{window}.log",
    conda:
        "../envs/ml.yaml"
    script:
        "../scripts/averaged_evaluation.py"
