"""Seeded random SiOx network on the cubic SiO2 site lattice (rule random_network)."""

from siox_xanes.config import lattice_from_config
from siox_xanes.io import write_structure
from siox_xanes.network import build_network, density_g_cm3, min_distance
from siox_xanes.workflow import start

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
structures = snakemake.params.structures
counts = structures["compositions"][x]
atoms = build_network(counts["Si"], counts["O"], lattice_from_config(structures), seed, x)
log.info(
    "%s: %d atoms, density %.3f g/cm3, min distance %.3f A",
    atoms.get_chemical_formula(), len(atoms), density_g_cm3(atoms), min_distance(atoms),
)
write_structure(snakemake.output.structure, atoms)
