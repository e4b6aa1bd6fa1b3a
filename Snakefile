# Machine-learning analysis of Si K-edge XANES of amorphous SiOx: the whole study as one DAG.
# Default: the laptop-sized config.yaml. Paper scale: --configfile config_paper.yaml.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/structures.smk"
include: "rules/xanes.smk"
include: "rules/dataset.smk"
include: "rules/learning.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.structure_report.output,
        rules.align_spectra.output,
        expand(rules.bader_charges.output.charges, cell=REFERENCE_CELLS),
        rules.dataset_cubes.output,
        expand(rules.train_model.output.metrics, window=WINDOWS, target=TARGETS),
        expand(rules.linear_baseline.output.metrics, window=WINDOWS),
        expand(rules.averaged_evaluation.output.metrics, window=WINDOWS),
        expand(rules.evaluate_splits.output, target=TARGETS),
        rules.train_predictor.output,
        rules.reproduction_report.output,
