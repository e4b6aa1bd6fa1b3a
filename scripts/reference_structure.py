"""alpha-quartz or diamond Si reference cell (rule reference_structure)."""

from siox_xanes.io import write_structure
from siox_xanes.spectra.references import reference_crystal
from siox_xanes.joblog import start

log = start(snakemake)
name = snakemake.wildcards.name
atoms = reference_crystal(name, snakemake.params.repeat)
log.info("%s: %s, %d atoms", name, atoms.get_chemical_formula(), len(atoms))
write_structure(snakemake.output.structure, atoms)
