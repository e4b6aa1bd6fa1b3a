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
