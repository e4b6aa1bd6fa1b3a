# Stage 2: PAW datasets, ground-state SCF + Bader, per-site core-hole SCF + xspectra, alignment.

PSEUDO = "results/pseudo"
# The ground-state density is kept only when core-hole SCFs start from it.
GROUND_STATE_DENSITY = (
    {"density": temp(directory("results/xanes/{cell}/ground_state_density"))}
    if XANES["start_from_ground_state"]
    else {}
)


rule pseudopotentials:
    input:
        Si=repository_file("pseudo/Si.ld1.in"),
        Si_hole=repository_file("pseudo/Si_hole.ld1.in"),
        O=repository_file("pseudo/O.ld1.in"),
    output:
        Si=f"{PSEUDO}/Si.pbe-paw.UPF",
        Si_hole=f"{PSEUDO}/Si_hole.pbe-paw.UPF",
        O=f"{PSEUDO}/O.pbe-paw.UPF",
        core=f"{PSEUDO}/Si_hole.1s.core",
        manifest=f"{PSEUDO}/manifest.json",
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
        Si=f"{PSEUDO}/ultrasoft/Si.pbe-us.UPF",
        O=f"{PSEUDO}/ultrasoft/O.pbe-us.UPF",
        # the PAW files beside them: pw.x reads one pseudo_dir
        Si_paw=f"{PSEUDO}/ultrasoft/Si.pbe-paw.UPF",
        Si_hole=f"{PSEUDO}/ultrasoft/Si_hole.pbe-paw.UPF",
        O_paw=f"{PSEUDO}/ultrasoft/O.pbe-paw.UPF",
        core=f"{PSEUDO}/ultrasoft/Si_hole.1s.core",
        manifest=f"{PSEUDO}/ultrasoft/manifest.json",
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
        rho_valence=temp("results/xanes/{cell}/rho_valence.cube"),
        rho_all_electron=temp("results/xanes/{cell}/rho_all_electron.cube"),
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
        scf=lambda wc: xanes_settings(wc.cell, SCF_KEYS),
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
        spectrum="results/xanes/{cell}/site{site}/spectrum.csv",
        summary="results/xanes/{cell}/site{site}/site.json",
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
        spectrum=lambda wc: xanes_settings(wc.cell, SPECTRUM_KEYS),
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
        pseudo_manifest=SITE_PSEUDO.manifest,
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
        "../envs/analysis.yaml"
    params:
        alignment=subset(XANES, ALIGNMENT_KEYS),
    script:
        "../scripts/align_spectra.py"
