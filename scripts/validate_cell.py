"""Density and bonding checks of one quenched cell (rule validate_cell)."""

from siox_xanes.io import read_structure, write_json
from siox_xanes.joblog import start
from siox_xanes.structures.checks import Soundness, validate_cell

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
params = snakemake.params
atoms = read_structure(snakemake.input.structure)
report = {"x": x, "seed": seed, **validate_cell(atoms, params.cutoffs, Soundness.from_mapping(params.bounds))}
for flag in report["flags"]:
    log.warning("x=%s seed=%d: %s", x, seed, flag)
write_json(snakemake.output.report, report)
