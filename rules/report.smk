# Stage 5: the paper's figures and the reproduction report.

from siox_xanes.figures import FIGURES, figures_for, input_path

# Figures of the windows in the config (a run without sub-windows makes fewer).
REPORT_FIGURES = figures_for(WINDOWS)


report: "../report/workflow.rst"


rule figure:
    input:
        unpack(lambda wc: {key: input_path(key) for key in FIGURES[wc.fig][1]}),
    output:
        png=report(
            "results/figures/{fig}.png",
            caption="../report/figure.rst",
            category="Figures",
        ),
        pdf="results/figures/{fig}.pdf",
    log:
        "logs/figure/{fig}.log",
    wildcard_constraints:
        fig="|".join(FIGURES),
    conda:
        "../envs/report.yaml"
    params:
        windows=LEARNING["windows"],
    script:
        "../scripts/figure.py"


rule reproduction_report:
    input:
        paper=WORKFLOW_DIR / "reference/paper_numbers.yaml",
        metrics=expand(rules.train_model.output.metrics, window=WINDOWS, target=TARGETS),
        baseline="results/learning/window_full/valence/baseline_metrics.json",
        averaged="results/learning/window_full/averaged_metrics.json",
        alignment=rules.align_spectra.output.alignment,
        compositions=rules.structure_report.output.compositions,
        sites=rules.dataset_cubes.output.sites,
        systems=rules.dataset_cubes.output.systems,
        figures=expand("results/figures/{fig}.png", fig=REPORT_FIGURES),
    output:
        report="results/report.md",
    log:
        "logs/reproduction_report.log",
    conda:
        "../envs/report.yaml"
    params:
        config=config,
        windows=WINDOWS,
    script:
        "../scripts/reproduction_report.py"
