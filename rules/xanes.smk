# Stage 2: PAW datasets, ground-state SCF + Bader, per-site core-hole SCF + xspectra, alignment.

# The ground-state density is kept only when core-hole SCFs start from it.
GROUND_STATE_DENSITY = (
    {"density": temp(directory(layout.GROUND_STATE_DENSITY))}
    if XANES["start_from_ground_state"]
    else {}
)


rule pseudopotentials:
    input:
        Si=repository_file("pseudo/Si.ld1.in"),
        Si_hole=repository_file("pseudo/Si_hole.ld1.in"),
        O=repository_file("pseudo/O.ld1.in"),
    output:
        **{k: f"{layout.PSEUDO_DIR}/{f}" for k, f in layout.PAW_DATASETS.items()},
        core=f"{layout.PSEUDO_DIR}/{layout.CORE_WAVEFUNCTION}",
        manifest=f"{layout.PSEUDO_DIR}/{layout.PSEUDO_MANIFEST}",
    log:
        main="logs/pseudopotentials/pseudopotentials.log",
        # ld1.x's own outputs (generation and transferability tests), one file per dataset
        Si="logs/pseudopotentials/Si.ld1.txt",
        Si_hole="logs/pseudopotentials/Si_hole.ld1.txt",
        O="logs/pseudopotentials/O.ld1.txt",
    conda:
        "../envs/qe.yaml"
    params:
        tests=XANES["pseudo_tests"],
        max_error_mRy=XANES["max_test_error_mRy"],
    script:
        "../scripts/pseudopotentials.py"


rule ultrasoft_pseudopotentials:
    input:
        Si=repository_file("pseudo/Si.ld1.in"),
        O=repository_file("pseudo/O.ld1.in"),
        paw=rules.pseudopotentials.output,
    output:
        **{
            k: f"{layout.ULTRASOFT_PSEUDO_DIR}/{f}"
            for k, f in layout.ULTRASOFT_DATASETS.items()
        },
        # the PAW files beside them: pw.x reads one pseudo_dir
        Si_paw=f"{layout.ULTRASOFT_PSEUDO_DIR}/{layout.PAW_DATASETS['Si']}",
        Si_hole=f"{layout.ULTRASOFT_PSEUDO_DIR}/{layout.PAW_DATASETS['Si_hole']}",
        O_paw=f"{layout.ULTRASOFT_PSEUDO_DIR}/{layout.PAW_DATASETS['O']}",
        core=f"{layout.ULTRASOFT_PSEUDO_DIR}/{layout.CORE_WAVEFUNCTION}",
        manifest=f"{layout.ULTRASOFT_PSEUDO_DIR}/{layout.PSEUDO_MANIFEST}",
    log:
        main="logs/pseudopotentials/ultrasoft.log",
        Si="logs/pseudopotentials/Si.us.ld1.txt",
        O="logs/pseudopotentials/O.us.ld1.txt",
    conda:
        "../envs/qe.yaml"
    script:
        "../scripts/ultrasoft_pseudopotentials.py"


# The pseudopotential folder of the DFT jobs (xanes.environment_pseudopotentials).
SITE_PSEUDO = (
    rules.ultrasoft_pseudopotentials.output
    if XANES["environment_pseudopotentials"] == "ultrasoft"
    else rules.pseudopotentials.output
)


rule reference_structure:
    output:
        structure=layout.REFERENCE_STRUCTURE,
    log:
        "logs/reference_structure/{name}.log",
    conda:
        "../envs/structures.yaml"
    params:
        repeat=lambda wc: XANES["references"][wc.name]["repeat"],
    script:
        "../scripts/reference_structure.py"


rule ground_state:
    input:
        structure=structure_of,
        pseudo=SITE_PSEUDO,
    output:
        **GROUND_STATE_DENSITY,
        summary=layout.GROUND_STATE_SUMMARY,
        rho_valence=temp(layout.RHO_VALENCE),
        rho_all_electron=temp(layout.RHO_ALL_ELECTRON),
    log:
        main="logs/ground_state/{cell}.log",
        qe=layout.GROUND_STATE_QE_LOG,
    benchmark:
        "benchmarks/ground_state/{cell}.tsv"
    retries: len(XANES["mixing_beta"]) - 1
    conda:
        "../envs/qe.yaml"
    threads: XANES["mpi_ranks"]
    resources:
        tasks=XANES["mpi_ranks"],
        mem_mb=lambda wc, attempt: XANES["mpi_ranks"]
        * XANES["mem_mb_per_rank"]
        * attempt,
        runtime=lambda wc, attempt: XANES["runtime_min"]["ground_state"] * attempt,
        scf_attempt=lambda wc, attempt: attempt,
    params:
        scf=lambda wc: xanes_settings(wc.cell, layout.SCF_KEYS),
    script:
        "../scripts/ground_state.py"


rule bader_charges:
    input:
        structure=structure_of,
        rho_valence=rules.ground_state.output.rho_valence,
        rho_all_electron=rules.ground_state.output.rho_all_electron,
        pseudo_manifest=SITE_PSEUDO.manifest,
    output:
        charges=layout.BADER_CHARGES,
    log:
        "logs/bader_charges/{cell}.log",
    benchmark:
        "benchmarks/bader_charges/{cell}.tsv"
    # First in line once its ground state is done: the density cubes (temporary, large) then
    # live seconds, and a run stopped between the two leaves little for the release to keep.
    priority: 10
    conda:
        "../envs/bader.yaml"
    script:
        "../scripts/bader_charges.py"


if PDOS:

    # Every Si's ground-state s and p PDOS and local gap (seed 004): its own all-PAW SCF, so that
    # the ground state's jobs (and a release's finished ones) stay as they are.
    rule cell_pdos:
        input:
            structure=structure_of,
            pseudo=rules.pseudopotentials.output,
        output:
            pdos=layout.CELL_PDOS,
        log:
            main="logs/cell_pdos/{cell}.log",
            qe=layout.PDOS_QE_LOG,
        benchmark:
            "benchmarks/cell_pdos/{cell}.tsv"
        retries: len(XANES["mixing_beta"]) - 1
        conda:
            "../envs/qe.yaml"
        threads: XANES["mpi_ranks"]
        resources:
            tasks=XANES["mpi_ranks"],
            mem_mb=lambda wc, attempt: XANES["mpi_ranks"]
            * XANES["mem_mb_per_rank"]
            * attempt,
            runtime=lambda wc, attempt: 2
            * XANES["runtime_min"]["ground_state"]
            * attempt,
            scf_attempt=lambda wc, attempt: attempt,
        params:
            scf=lambda wc: pdos_scf_settings(wc.cell),
            pdos=lambda wc: pdos_settings(wc.cell),
        script:
            "../scripts/cell_pdos.py"


rule core_hole_xanes:
    input:
        **(
            {"density": rules.ground_state.output.density}
            if GROUND_STATE_DENSITY
            else {}
        ),
        structure=structure_of,
        pseudo=SITE_PSEUDO,
        ground_state=rules.ground_state.output.summary,
        # read only when core-hole SCFs start from the ground-state density
    output:
        spectrum=layout.SITE_SPECTRUM,
        summary=layout.SITE_SUMMARY,
    log:
        main="logs/core_hole_xanes/{cell}_site{site}.log",
        qe=layout.SITE_QE_LOG,
        # the failed attempt's record; Snakemake prints it with the failure (show-failed-logs)
        # and removes it when the retry starts
        failures="logs/core_hole_xanes/{cell}_site{site}.failures.jsonl",
    benchmark:
        "benchmarks/core_hole_xanes/{cell}_site{site}.tsv"
    retries: len(XANES["mixing_beta"]) - 1
    conda:
        "../envs/qe.yaml"
    threads: XANES["mpi_ranks"]
    resources:
        tasks=XANES["mpi_ranks"],
        mem_mb=lambda wc, attempt: XANES["mpi_ranks"]
        * XANES["mem_mb_per_rank"]
        * attempt,
        runtime=lambda wc, attempt: XANES["runtime_min"]["core_hole"] * attempt,
        scf_attempt=lambda wc, attempt: attempt,
    params:
        spectrum=lambda wc: xanes_settings(wc.cell, layout.SPECTRUM_KEYS),
    script:
        "../scripts/core_hole_xanes.py"


rule align_spectra:
    input:
        sites=lambda wc: site_files(layout.SITE_SUMMARY, GLASS_CELLS + REFERENCE_CELLS),
        spectra=lambda wc: site_files(
            layout.SITE_SPECTRUM, GLASS_CELLS + REFERENCE_CELLS
        ),
        pseudo_manifest=SITE_PSEUDO.manifest,
    output:
        spectra=layout.ALIGNED_SPECTRA,
        alignment=layout.ALIGNMENT,
        figure_png=report(
            layout.FIGURE.format(fig="fig_s1_references"),
            caption="../report/fig_s1_references.rst",
            category="Figures",
        ),
        figure_pdf=layout.FIGURE_PDF.format(fig="fig_s1_references"),
    log:
        "logs/align_spectra.log",
    conda:
        "../envs/analysis.yaml"
    params:
        alignment=subset(XANES, layout.ALIGNMENT_KEYS),
    script:
        "../scripts/align_spectra.py"
