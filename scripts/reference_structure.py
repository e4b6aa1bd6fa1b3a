"""alpha-quartz or diamond Si reference cell (rule reference_structure)."""

from siox_xanes.io import write_structure
from siox_xanes.references import reference_crystal
from siox_xanes.workflow import start

log = start(snakemake)
name = snakemake.wildcards.name
atoms = reference_crystal(name, snakemake.params.references[name]["repeat"])
log.info("%s: %s, %d atoms", name, atoms.get_chemical_formula(), len(atoms))
write_structure(snakemake.output.structure, atoms)
