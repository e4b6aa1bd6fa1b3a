# Stage 6: a versioned data release (release.publish): the cubes, every site's raw
# spectrum, the structures, the Bader charges and the provenance, in one folder that a
# preset with dataset.from_release learns from without DFT; and the models trained on a
# release, shipped beside it (rule ship_models, asked for by name).

if RELEASE_PUBLISH:

    rule data_release:
        input:
            sites=rules.dataset_cubes.output.sites,
            systems=rules.dataset_cubes.output.systems,
            completed=rules.completed_spectra.output.completed,
            aligned=rules.align_spectra.output.spectra,
            alignment=rules.align_spectra.output.alignment,
            site_spectra=rules.align_spectra.input.spectra,
            site_records=rules.align_spectra.input.sites,
            pseudo_manifest=SITE_PSEUDO.manifest,
            validation_cells=rules.structure_report.output.cells,
            validation_compositions=rules.structure_report.output.compositions,
            structures=[layout.structure_path(c) for c in GLASS_CELLS + REFERENCE_CELLS],
            bader=expand(layout.BADER_CHARGES, cell=GLASS_CELLS + REFERENCE_CELLS),
        output:
            **{key: release_file(RELEASE_PUBLISH, key) for key in layout.RELEASE_FILES},
        log:
            "logs/data_release.log",
        conda:
            "../envs/analysis.yaml"
        params:
            cells=GLASS_CELLS + REFERENCE_CELLS,
        script:
            "../scripts/data_release.py"


if DATASET_RELEASE:

    rule ship_models:
        input:
            predictor=rules.train_predictor.output.predictor,
            evaluation=rules.train_predictor.output.evaluation,
            models=expand(layout.MODEL, window=layout.FULL_WINDOW, target=TARGETS),
            metrics=expand(layout.METRICS, window=layout.FULL_WINDOW, target=TARGETS),
            provenance=release_file(DATASET_RELEASE, "provenance"),
            numbers=layout.REPORT_NUMBERS,
        output:
            # in the launch directory (the repository's data/models from its root)
            predictor=launch_file(layout.SHIPPED_PREDICTOR),
            models=[launch_file(layout.SHIPPED_MODEL.format(target=t)) for t in TARGETS],
            card=launch_file(layout.SHIPPED_MODELS_CARD),
            numbers=launch_file(
                layout.SHIPPED_REPORT_NUMBERS.format(
                    release=Path(DATASET_RELEASE).name
                )
            ),
        log:
            "logs/ship_models.log",
        conda:
            "../envs/ml.yaml"
        params:
            release=DATASET_RELEASE,
        script:
            "../scripts/ship_models.py"

    rule ship_forward_model:
        input:
            model=rules.forward_model.output.model,
            metrics=rules.forward_model.output.metrics,
            provenance=release_file(DATASET_RELEASE, "provenance"),
        output:
            model=launch_file(layout.SHIPPED_FORWARD_MODEL),
            card=launch_file(layout.SHIPPED_FORWARD_CARD),
        log:
            "logs/ship_forward_model.log",
        conda:
            "../envs/forward.yaml"
        params:
            release=DATASET_RELEASE,
        script:
            "../scripts/ship_forward_model.py"
