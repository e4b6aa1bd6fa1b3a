# Machine-learning analysis of Si K-edge XANES of amorphous SiOx: the whole study as one DAG.
# Default: the laptop-sized config.yaml. Paper scale: --configfile config_paper.yaml.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/structures.smk"
include: "rules/forward.smk"
include: "rules/xanes.smk"
include: "rules/dataset.smk"
include: "rules/learning.smk"
include: "rules/report.smk"
include: "rules/release.smk"


# Everything up to the cubes (and the release they go into); none of it when the dataset
# comes from a published release.
DATASET_TARGETS = (
    []
    if DATASET_RELEASE
    else [
        rules.structure_report.output,
        rules.align_spectra.output,
        expand(rules.bader_charges.output.charges, cell=REFERENCE_CELLS),
        rules.dataset_cubes.output,
        *([rules.data_release.output] if RELEASE_PUBLISH else []),
    ]
)


rule all:
    default_target: True
    input:
        DATASET_TARGETS,
        expand(rules.train_model.output.metrics, window=WINDOWS, target=TARGETS),
        expand(rules.linear_baseline.output.metrics, window=WINDOWS),
        expand(rules.averaged_evaluation.output.metrics, window=WINDOWS),
        expand(rules.evaluate_splits.output, target=TARGETS),
        rules.train_predictor.output,
        rules.forward_model.output,
        rules.completed_spectra.output,
        rules.reproduction_report.output,
