# Stage 4: valence, RDF and PDOS networks per energy window, the linear baseline, averaged spectra.

LEARNING = config["learning"]
WINDOWS = list(LEARNING["windows"])
# the PDOS where the run computes it, or its release holds it (common.smk)
TARGETS = [t for t in layout.TARGETS if t != layout.PDOS_TARGET or LEARN_PDOS]
OWN_SITES = dataset_input("sites", rules.dataset_cubes.output.sites)
# Training across fidelities (dataset.lower_fidelity: a release of the same cells at a lower
# fidelity, v2's Gamma-only spectra beside v3's): its sites train beside the run's own in every
# learning rule and never test, calibrate or validate (learning.fidelity).
LOWER_FIDELITY = config["dataset"].get("lower_fidelity")
if LOWER_FIDELITY and os.path.normpath(LOWER_FIDELITY) == os.path.normpath(
    DATASET_RELEASE or ""
):
    raise WorkflowError(
        f"dataset.lower_fidelity {LOWER_FIDELITY} is the release the run learns from: "
        "a lower-fidelity release of the same cells expected (its sites would train twice)"
    )
if LOWER_FIDELITY and not os.path.isfile(release_file(LOWER_FIDELITY, "sites")):
    raise WorkflowError(
        f"dataset.lower_fidelity {LOWER_FIDELITY}: {release_file(LOWER_FIDELITY, 'sites')} not found "
        "(a folder written by rule data_release expected)"
    )


wildcard_constraints:
    window=r"[A-Za-z0-9_]+",
    target="|".join(layout.TARGETS),


if LOWER_FIDELITY:

    rule pooled_sites:
        input:
            # the appended sites' PDOS: every Si's, in the run's (or its release's) completed cube
            **(
                {"site_pdos": dataset_input("completed", layout.COMPLETED_SPECTRA)}
                if LEARN_PDOS
                else {}
            ),
            sites=OWN_SITES,
            lower=release_file(LOWER_FIDELITY, "sites"),
        output:
            sites=layout.POOLED_SITE_CUBE,
        log:
            "logs/pooled_sites.log",
        conda:
            "../envs/ml.yaml"
        script:
            "../scripts/pooled_sites.py"


TRAINING_SITES = rules.pooled_sites.output.sites if LOWER_FIDELITY else OWN_SITES


rule train_model:
    input:
        sites=TRAINING_SITES,
        selection=architecture_selection,
    output:
        model=layout.MODEL,
        predictions=layout.PREDICTIONS,
        metrics=layout.METRICS,
        learning_curve=layout.LEARNING_CURVE,
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
        seed=LEARNING["seed"],
        cv_folds=LEARNING["cv_folds"],
        training=LEARNING["training"],
        candidates=lambda wc: LEARNING["candidates"][wc.target],
    script:
        "../scripts/train_model.py"


rule linear_baseline:
    input:
        sites=TRAINING_SITES,
    output:
        metrics=layout.BASELINE_METRICS,
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
        systems=dataset_input("systems", rules.dataset_cubes.output.systems),
        valence=layout.MODEL.replace("{target}", "valence"),
        rdf=layout.MODEL.replace("{target}", "rdf"),
    output:
        metrics=layout.AVERAGED_METRICS,
        predictions=layout.AVERAGED_PREDICTIONS,
    log:
        "logs/averaged_evaluation/{window}.log",
    conda:
        "../envs/ml.yaml"
    script:
        "../scripts/averaged_evaluation.py"


rule train_predictor:
    input:
        # where configured, the held-out cells' scores give each composition its interval scale
        **(
            {"cross_validation": layout.PREDICTOR_CROSS_VALIDATION}
            if config["uncertainty"].get("cross_validation_folds")
            else {}
        ),
        sites=TRAINING_SITES,
        systems=dataset_input("systems", rules.dataset_cubes.output.systems),
        spectra=dataset_input("reference_spectra", rules.align_spectra.output.spectra),
        # the full window's CV picks each target's network
        selection=expand(layout.METRICS, window=layout.FULL_WINDOW, target=TARGETS),
    output:
        predictor=layout.PREDICTOR,
        evaluation=layout.PREDICTOR_EVALUATION,
        robustness=layout.PREDICTOR_ROBUSTNESS,
    log:
        "logs/train_predictor.log",
    benchmark:
        "benchmarks/train_predictor.tsv"
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
    params:
        learning={
            "training": LEARNING["training"],
            "candidates": {t: LEARNING["candidates"][t] for t in TARGETS},
        },
        # whole blocks: each holds only leaves the predictor reads (tests/test_config.py), less the
        # folds of its cross-validation, which this rule does not read
        normalisation=config["normalisation"],
        uncertainty={
            k: v
            for k, v in config["uncertainty"].items()
            if k != "cross_validation_folds"
        },
    script:
        "../scripts/train_predictor.py"


rule predictor_cross_validation:
    input:
        sites=TRAINING_SITES,
        systems=dataset_input("systems", rules.dataset_cubes.output.systems),
        selection=expand(layout.METRICS, window=layout.FULL_WINDOW, target=["valence"]),
    output:
        layout.PREDICTOR_CROSS_VALIDATION,
    log:
        "logs/predictor_cross_validation.log",
    benchmark:
        "benchmarks/predictor_cross_validation.tsv"
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
    params:
        learning={
            "training": LEARNING["training"],
            "candidates": {"valence": LEARNING["candidates"]["valence"]},
        },
        normalisation=config["normalisation"],
        uncertainty=config["uncertainty"],
    script:
        "../scripts/predictor_cross_validation.py"


rule evaluate_splits:
    input:
        sites=TRAINING_SITES,
        # the full window's CV picks the network that every split evaluates
        selection=layout.METRICS.replace("{window}", layout.FULL_WINDOW),
    output:
        splits=layout.SPLIT_EVALUATION,
        learning_curve=layout.SPLIT_LEARNING_CURVE,
    log:
        "logs/evaluate_splits/{target}.log",
    benchmark:
        "benchmarks/evaluate_splits/{target}.tsv"
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        runtime=240,
        mem_mb=8000,
    params:
        window=LEARNING["windows"][layout.FULL_WINDOW],
        seed=LEARNING["seed"],
        training=LEARNING["training"],
        candidates=lambda wc: LEARNING["candidates"][wc.target],
        evaluation=LEARNING["evaluation"],
    script:
        "../scripts/evaluate_splits.py"
