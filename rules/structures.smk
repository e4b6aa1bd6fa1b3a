# Stage 1: random SiOx networks, LAMMPS melt-quench, structure validation.


rule random_network:
    output:
        structure=layout.GLASS_INITIAL,
    log:
        "logs/random_network/x{x}_seed{seed}.log",
    conda:
        "../envs/structures.yaml"
    params:
        lattice=STRUCTURES["lattice"],
        counts=initial_counts,
    script:
        "../scripts/random_network.py"


rule melt_quench:
    input:
        structure=rules.random_network.output.structure,
    output:
        structure=layout.GLASS_STRUCTURE,
        trace=layout.MD_TRACE,
        lammps_log=layout.MD_LAMMPS_LOG,
    log:
        "logs/melt_quench/x{x}_seed{seed}.log",
    benchmark:
        "benchmarks/melt_quench/x{x}_seed{seed}.tsv"
    conda:
        "../envs/structures.yaml"
    threads: MD["mpi_ranks"]
    resources:
        tasks=MD["mpi_ranks"],
        mem_mb=2000,
        runtime=MD["runtime_min"],
    params:
        protocol=md_protocol(),
        density_g_cm3=md_density,
        oxidation=md_oxidation,
        redraw=md_redraw,
    script:
        "../scripts/melt_quench.py"


rule validate_cell:
    input:
        structure=rules.melt_quench.output.structure,
    output:
        report=layout.GLASS_VALIDATION,
    log:
        "logs/validate_cell/x{x}_seed{seed}.log",
    conda:
        "../envs/structures.yaml"
    params:
        cutoffs=config["validation"]["cutoffs"],
        bounds=cell_bounds,
    script:
        "../scripts/validate_cell.py"


rule structure_report:
    input:
        reports=all_cells(rules.validate_cell.output.report),
    output:
        cells=layout.VALIDATION_CELLS,
        compositions=layout.VALIDATION_COMPOSITIONS,
        classes=layout.COORDINATION_CLASSES,
        figure_png=report(
            layout.FIGURE.format(fig="fig_s2_coordination"),
            caption="../report/fig_s2_coordination.rst",
            category="Figures",
        ),
        figure_pdf=layout.FIGURE_PDF.format(fig="fig_s2_coordination"),
    log:
        "logs/structure_report.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/structure_report.py"
