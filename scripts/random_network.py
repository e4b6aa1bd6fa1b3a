"""Seeded random SiOx network on the cubic SiO2 site lattice (rule random_network)."""

from siox_xanes.config import lattice_from_config
from siox_xanes.io import write_structure
from siox_xanes.joblog import start
from siox_xanes.structures.lattice import build_network, density_g_cm3, min_distance

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
counts = snakemake.params.counts
atoms = build_network(counts["Si"], counts["O"], lattice_from_config(snakemake.params.lattice), seed, x)
log.info(
    "%s: %d atoms, density %.3f g/cm3, min distance %.3f A",
    atoms.get_chemical_formula(), len(atoms), density_g_cm3(atoms), min_distance(atoms),
)
write_structure(snakemake.output.structure, atoms)
