# Stage 5: the paper's figures and the reproduction report.

from siox_xanes.report.catalog import figure_inputs, figure_windows

ABLATION = LEARNING.get("ablation", {})
# label -> an earlier run's report numbers (config report.compare_with)
COMPARE_WITH = (config.get("report") or {}).get("compare_with") or {}
FIGURE_INPUTS = figure_inputs(ABLATION, bool(FORWARD.get("evaluation")), LEARN_PDOS)


report: "../report/workflow.rst"


rule figure:
    input:
        unpack(lambda wc: {key: figure_input(key) for key in FIGURE_INPUTS[wc.fig]}),
    output:
        png=report(
            layout.FIGURE,
            caption="../report/figure.rst",
            category="Figures",
        ),
        pdf=layout.FIGURE_PDF,
    log:
        "logs/figure/{fig}.log",
    wildcard_constraints:
        fig="|".join(FIGURE_INPUTS),
    conda:
        "../envs/analysis.yaml"
    params:
        windows=lambda wc: {
            w: LEARNING["windows"][w] for w in figure_windows(wc.fig, ABLATION)
        },
        ablation=ABLATION,
    script:
        "../scripts/figure.py"


rule reproduction_report:
    # a dataset from a release: the settings that made it are the release's (provenance.json)
    input:
        **(
            {"release": release_file(DATASET_RELEASE, "provenance")}
            if DATASET_RELEASE
            else {}
        ),
        **(
            {
                "forward_evaluation": layout.FORWARD_EVALUATION,
                "selection_curves": layout.SELECTION_CURVES,
            }
            if FORWARD.get("evaluation")
            else {}
        ),
        # the valence interval's coverage with every cell held out once, where configured
        **(
            {"predictor_cv": layout.PREDICTOR_CROSS_VALIDATION}
            if config["uncertainty"].get("cross_validation_folds")
            else {}
        ),
        # earlier runs' headline numbers, set beside this run's (e.g. the previous release's)
        earlier=[repository_file(p) for p in COMPARE_WITH.values()],
        paper=repository_file("reference/paper_numbers.yaml"),
        metrics=expand(rules.train_model.output.metrics, window=WINDOWS, target=TARGETS),
        baseline=layout.BASELINE_METRICS.format(window=layout.FULL_WINDOW),
        averaged=layout.AVERAGED_METRICS.format(window=layout.FULL_WINDOW),
        alignment=dataset_input("alignment", rules.align_spectra.output.alignment),
        references=dataset_input(
            "reference_spectra", rules.align_spectra.output.spectra
        ),
        compositions=dataset_input(
            "validation_compositions", rules.structure_report.output.compositions
        ),
        sites=dataset_input("sites", rules.dataset_cubes.output.sites),
        systems=dataset_input("systems", rules.dataset_cubes.output.systems),
        predictor=rules.train_predictor.output.evaluation,
        splits=expand(rules.evaluate_splits.output.splits, target=TARGETS),
        curves=expand(rules.evaluate_splits.output.learning_curve, target=TARGETS),
        figures=expand(layout.FIGURE, fig=FIGURE_INPUTS),
    output:
        report=layout.REPORT,
        numbers=layout.REPORT_NUMBERS,
    log:
        "logs/reproduction_report.log",
    conda:
        "../envs/analysis.yaml"
    # The report prints the run's settings: it is cheap and redone whenever the
    # config changes (the config is read from snakemake.config, not compared).
    # It shows every window (each window's metrics are its inputs as well).
    params:
        windows=LEARNING["windows"],
        ablation=ABLATION,
        earlier_labels=list(COMPARE_WITH),
    script:
        "../scripts/reproduction_report.py"
