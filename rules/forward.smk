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


# The structure -> spectrum model of `siox-xanes spectrum`: trained on the computed sites of the
# run's cubes (or a release's), with its errors measured by cell.
rule forward_model:
    input:
        sites=dataset_input("sites", layout.SITE_CUBE),
        structures=(
            [release_file(DATASET_RELEASE, "structures")]
            if DATASET_RELEASE
            else [layout.structure_path(c) for c in GLASS_CELLS]
        ),
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
