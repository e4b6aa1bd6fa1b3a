# Structure -> spectrum (seed 002): which glass sites get DFT, chosen from their descriptors
# before any DFT (xanes.site_selection).


checkpoint site_selection:
    input:
        structures=[layout.structure_path(c) for c in GLASS_CELLS],
    output:
        order=layout.SITE_SELECTION,
    log:
        "logs/site_selection.log",
    conda:
        "../envs/forward.yaml"
    params:
        # the order depends on these, not on the amount taken of it: a larger amount reuses it
        cells=GLASS_CELLS,
        candidates={c: CANDIDATE_SITES[c] for c in GLASS_CELLS},
        method=SITE_SELECTION["method"],
        descriptor=SITE_SELECTION.get("descriptor", {"kind": "soap"}),
        seed=SITE_SELECTION.get("seed", 0),
        ridge=SITE_SELECTION.get("ridge", 1.0),
    script:
        "../scripts/site_selection.py"


# the glass cells the forward models read: a release's structures file or the run's cells
FORWARD_STRUCTURES = (
    [release_file(DATASET_RELEASE, "structures")]
    if DATASET_RELEASE
    else [layout.structure_path(c) for c in GLASS_CELLS]
)


# The structure -> spectrum model of `siox-xanes spectrum`: trained on the computed sites of the
# run's cubes (or a release's), with its errors measured by cell.
rule forward_model:
    input:
        sites=dataset_input("sites", layout.SITE_CUBE),
        structures=FORWARD_STRUCTURES,
    output:
        model=layout.FORWARD_MODEL,
        metrics=layout.FORWARD_METRICS,
    log:
        "logs/forward_model.log",
    conda:
        "../envs/forward.yaml"
    params:
        cells=GLASS_CELLS,
        descriptor=FORWARD["descriptor"],
        compression=FORWARD["compression"],
        folds=FORWARD["folds"],
        confidence=FORWARD["confidence"],
        seed=FORWARD["seed"],
        cutoffs=config["validation"]["cutoffs"],
    script:
        "../scripts/forward_model.py"


# Every Si of every cell: the computed spectra and the forward model's for the sites without
# DFT (sites_per_cell below all, or an active site selection), and averages over all Si.
rule completed_spectra:
    input:
        # every Si's PDOS and local gap, computed or not its spectrum (block pdos; a run from a
        # release has no PDOS files: its release's own completed cube holds them)
        **(
            {"pdos": expand(layout.CELL_PDOS, cell=GLASS_CELLS)}
            if PDOS and not DATASET_RELEASE
            else {}
        ),
        sites=dataset_input("sites", layout.SITE_CUBE),
        model=rules.forward_model.output.model,
        structures=FORWARD_STRUCTURES,
    output:
        completed=layout.COMPLETED_SPECTRA,
    log:
        "logs/completed_spectra.log",
    conda:
        "../envs/forward.yaml"
    params:
        # from a release: the cells its cube holds (the config's own cells name another run)
        cells=[] if DATASET_RELEASE else GLASS_CELLS,
    script:
        "../scripts/completed_spectra.py"


# Every Si of the run's cells predicted by the shipped forward model from the structures alone:
# spectra of cells no DFT has touched (the paper preset's right after its MD), asked for by name.
rule predicted_spectra:
    input:
        model=repository_file(layout.SHIPPED_FORWARD_MODEL),
        structures=FORWARD_STRUCTURES,
    output:
        predicted=layout.PREDICTED_SPECTRA,
    log:
        "logs/predicted_spectra.log",
    benchmark:
        "benchmarks/predicted_spectra.tsv"
    conda:
        "../envs/forward.yaml"
    params:
        cells=GLASS_CELLS,
    script:
        "../scripts/predicted_spectra.py"


# How well the structure -> spectrum models do on cells they never saw, and how fast each site
# selection teaches them: both in the report (forward.evaluation; absent: neither is made).
FORWARD_EVALUATION = FORWARD.get("evaluation")

if FORWARD_EVALUATION:

    rule forward_evaluation:
        input:
            sites=dataset_input("sites", layout.SITE_CUBE),
            structures=FORWARD_STRUCTURES,
        output:
            evaluation=layout.FORWARD_EVALUATION,
            predictions=layout.FORWARD_PREDICTIONS,
        log:
            "logs/forward_evaluation.log",
        benchmark:
            "benchmarks/forward_evaluation.tsv"
        conda:
            "../envs/forward.yaml"
        threads: 2
        resources:
            runtime=120,
            mem_mb=4000,
        params:
            cells=GLASS_CELLS,
            descriptors=FORWARD_EVALUATION["descriptors"],
            models=FORWARD_EVALUATION["models"],
            ensemble=FORWARD_EVALUATION["ensemble"],
            # the ensemble's descriptor, with its settings
            descriptor=FORWARD["descriptor"],
            folds=FORWARD["folds"],
            seed=FORWARD["seed"],
        script:
            "../scripts/forward_evaluation.py"

    rule selection_curves:
        input:
            sites=dataset_input("sites", layout.SITE_CUBE),
            structures=FORWARD_STRUCTURES,
            # the full window's valence network reads each cell's mean valence off its averaged spectra
            valence=layout.MODEL.format(window=layout.FULL_WINDOW, target="valence"),
        output:
            curves=layout.SELECTION_CURVES,
        log:
            "logs/selection_curves.log",
        benchmark:
            "benchmarks/selection_curves.tsv"
        conda:
            "../envs/forward.yaml"
        threads: 2
        resources:
            runtime=120,
            mem_mb=4000,
        params:
            cells=GLASS_CELLS,
            descriptor=FORWARD["descriptor"],
            ensemble=FORWARD_EVALUATION["ensemble"],
            fractions=FORWARD_EVALUATION["curves"]["fractions"],
            methods=FORWARD_EVALUATION["curves"]["methods"],
            random_repeats=FORWARD_EVALUATION["curves"]["random_repeats"],
            seed=FORWARD["seed"],
        script:
            "../scripts/selection_curves.py"
