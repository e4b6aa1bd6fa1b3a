# Stage 3: per-site RDFs and the self-describing NetCDF cubes (site-resolved and per cell).


rule site_rdf:
    input:
        **SELECTION_INPUT,
        structure=structure_of,
    output:
        rdf=layout.SITE_RDF,
    log:
        "logs/site_rdf/{cell}.log",
    conda:
        "../envs/analysis.yaml"
    params:
        r_max=config["dataset"]["rdf_r_max"],
        bins=config["dataset"]["rdf_bins"],
        sigma=config["dataset"]["rdf_sigma_A"],
        cutoffs=config["validation"]["cutoffs"],
        sites=lambda wc: sites_of(wc.cell),
    script:
        "../scripts/site_rdf.py"


rule dataset_cubes:
    input:
        **SELECTION_INPUT,
        # every Si's PDOS and local gap, where the config computes them (block pdos)
        **({"pdos": expand(layout.CELL_PDOS, cell=GLASS_CELLS)} if PDOS else {}),
        spectra=rules.align_spectra.output.spectra,
        alignment=rules.align_spectra.output.alignment,
        pseudo_manifest=SITE_PSEUDO.manifest,
        structures=[layout.structure_path(c) for c in GLASS_CELLS],
        bader=expand(layout.BADER_CHARGES, cell=GLASS_CELLS),
        rdf=expand(layout.SITE_RDF, cell=GLASS_CELLS),
        ground_states=expand(layout.GROUND_STATE_SUMMARY, cell=GLASS_CELLS),
    output:
        sites=layout.SITE_CUBE,
        systems=layout.SYSTEM_CUBE,
    log:
        "logs/dataset_cubes.log",
    benchmark:
        "benchmarks/dataset_cubes.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        # the glass cells and their sites, in the cubes' order
        sites=lambda wc: glass_sites(),
        # the xspectra mesh of each cell's spectra, recorded per site in the cube
        xspectra_kpoints={
            c: xanes_settings(c, ["xspectra_kpoints"])["xspectra_kpoints"]
            for c in GLASS_CELLS
        },
        test_fraction=config["dataset"]["test_fraction"],
        split_seed=config["dataset"]["split_seed"],
        # whole: every key of the block is a leaf the cubes' normalised spectra read
        # (tests/test_config.py::test_blocks_passed_whole_hold_only_the_leaves_their_rules_read)
        normalisation=config["normalisation"],
    script:
        "../scripts/dataset_cubes.py"
