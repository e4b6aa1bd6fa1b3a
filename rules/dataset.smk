# Stage 3: per-site RDFs and the self-describing NetCDF cubes (site-resolved and per cell).


rule site_rdf:
    input:
        structure=structure_of,
    output:
        rdf="results/dataset/{cell}/site_rdf.nc",
    log:
        "logs/site_rdf/{cell}.log",
    conda:
        "../envs/report.yaml"
    params:
        dataset=config["dataset"],
        cutoffs=config["validation"]["cutoffs"],
        sites=lambda wc: SITES[wc.cell],
    script:
        "../scripts/site_rdf.py"


rule dataset_cubes:
    input:
        spectra=rules.align_spectra.output.spectra,
        alignment=rules.align_spectra.output.alignment,
        pseudo_manifest=rules.pseudopotentials.output.manifest,
        structures=[glass_structure(c) for c in GLASS_CELLS],
        bader=expand(rules.bader_charges.output.charges, cell=GLASS_CELLS),
        rdf=expand(rules.site_rdf.output.rdf, cell=GLASS_CELLS),
        ground_states=expand(rules.ground_state.output.summary, cell=GLASS_CELLS),
    output:
        sites="results/dataset/spectra_sites.nc",
        systems="results/dataset/spectra_systems.nc",
    log:
        "logs/dataset_cubes.log",
    benchmark:
        "benchmarks/dataset_cubes.tsv"
    conda:
        "../envs/report.yaml"
    params:
        cells=GLASS_CELLS,
        sites={c: SITES[c] for c in GLASS_CELLS},
        dataset=config["dataset"],
        xanes=XANES,
        config=config,
    script:
        "../scripts/dataset_cubes.py"
