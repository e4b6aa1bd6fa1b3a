# Stage 2: PAW datasets, ground-state SCF + Bader, per-site core-hole SCF + xspectra, alignment.

PSEUDO = "results/pseudo"


rule pseudopotentials:
    input:
        Si=WORKFLOW_DIR / "pseudo/Si.ld1.in",
        Si_hole=WORKFLOW_DIR / "pseudo/Si_hole.ld1.in",
        O=WORKFLOW_DIR / "pseudo/O.ld1.in",
    output:
        Si=f"{PSEUDO}/Si.pbe-paw.UPF",
        Si_hole=f"{PSEUDO}/Si_hole.pbe-paw.UPF",
        O=f"{PSEUDO}/O.pbe-paw.UPF",
        core=f"{PSEUDO}/Si_hole.1s.core",
        manifest=f"{PSEUDO}/manifest.json",
    log:
        "logs/pseudopotentials/pseudopotentials.log",
    conda:
        "../envs/qe.yaml"
    params:
        tests=XANES["pseudo_tests"],
        max_error_mRy=XANES["max_test_error_mRy"],
        ld1_logs="logs/pseudopotentials",
    script:
        "../scripts/pseudopotentials.py"


rule reference_structure:
    output:
        structure="results/references/{name}.extxyz",
    log:
        "logs/reference_structure/{name}.log",
    conda:
        "../envs/structures.yaml"
    params:
        references=XANES["references"],
    script:
        "../scripts/reference_structure.py"


rule ground_state:
    input:
        structure=structure_of,
        pseudo=rules.pseudopotentials.output,
    output:
        summary="results/xanes/{cell}/ground_state.json",
        rho_valence=temp("results/xanes/{cell}/rho_valence.cube"),
        rho_all_electron=temp("results/xanes/{cell}/rho_all_electron.cube"),
        density=temp(directory("results/xanes/{cell}/ground_state_density")),
    log:
        "logs/ground_state/{cell}.log",
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
        xanes=XANES,
    script:
        "../scripts/ground_state.py"


rule bader_charges:
    input:
        structure=structure_of,
        rho_valence=rules.ground_state.output.rho_valence,
        rho_all_electron=rules.ground_state.output.rho_all_electron,
        pseudo_manifest=rules.pseudopotentials.output.manifest,
    output:
        charges="results/xanes/{cell}/bader.csv",
    log:
        "logs/bader_charges/{cell}.log",
    benchmark:
        "benchmarks/bader_charges/{cell}.tsv"
    conda:
        "../envs/structures.yaml"
    script:
        "../scripts/bader_charges.py"


rule core_hole_xanes:
    input:
        structure=structure_of,
        pseudo=rules.pseudopotentials.output,
        ground_state=rules.ground_state.output.summary,
        density=rules.ground_state.output.density,
    output:
        spectrum="results/xanes/{cell}/site{site}/spectrum.csv",
        summary="results/xanes/{cell}/site{site}/site.json",
    log:
        "logs/core_hole_xanes/{cell}_site{site}.log",
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
        xanes=XANES,
        failures="results/xanes/failures",
    script:
        "../scripts/core_hole_xanes.py"


rule align_spectra:
    input:
        sites=site_files(
            "results/xanes/{cell}/site{site}/site.json", GLASS_CELLS + REFERENCE_CELLS
        ),
        spectra=site_files(
            "results/xanes/{cell}/site{site}/spectrum.csv",
            GLASS_CELLS + REFERENCE_CELLS,
        ),
        pseudo_manifest=rules.pseudopotentials.output.manifest,
    output:
        spectra="results/xanes/spectra_on_grid.nc",
        alignment="results/xanes/alignment.json",
        figure_png=report(
            "results/figures/fig_s1_references.png",
            caption="../report/fig_s1_references.rst",
            category="Figures",
        ),
        figure_pdf="results/figures/fig_s1_references.pdf",
    log:
        "logs/align_spectra.log",
    conda:
        "../envs/report.yaml"
    params:
        xanes=XANES,
    script:
        "../scripts/align_spectra.py"
