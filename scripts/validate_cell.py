"""Density and bonding checks of one quenched cell (rule validate_cell)."""

from siox_xanes.io import read_structure, write_json
from siox_xanes.structure_checks import validate_cell
from siox_xanes.workflow import start

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
cfg = snakemake.params.validation
atoms = read_structure(snakemake.input.structure)
window = cfg["density_window"].get(x)
report = {"x": x, "seed": seed, **validate_cell(atoms, cfg["cutoffs"], tuple(window) if window else None)}
for flag in report["flags"]:
    log.warning("x=%s seed=%d: %s", x, seed, flag)
write_json(snakemake.output.report, report)
