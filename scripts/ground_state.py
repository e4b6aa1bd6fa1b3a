"""Ground-state SCF of one cell and its densities for Bader (rule ground_state)."""

from pathlib import Path

from siox_xanes.io import read_structure, write_json
from siox_xanes.qe.calc import ground_state
from siox_xanes.workflow import start

log = start(snakemake)
out = snakemake.output
atoms = read_structure(snakemake.input.structure)
attempt = int(snakemake.resources.scf_attempt)
ranks = int(snakemake.resources.tasks)
keep = Path(snakemake.log[0]).with_suffix("")  # QE outputs kept beside the log
keep.mkdir(parents=True, exist_ok=True)
log.info("%s: %d atoms, attempt %d, %d rank(s)", atoms.get_chemical_formula(), len(atoms), attempt, ranks)
pseudo_dir = Path(snakemake.input.pseudo[0]).parent
result = ground_state(
    atoms, snakemake.params.xanes, pseudo_dir, Path(out.rho_valence),
    Path(out.rho_all_electron), attempt, ranks, keep=keep, density_dir=Path(out.density),
)
log.info("E_tot = %.6f eV after %s SCF iterations", result["total_energy_eV"], result["scf_iterations"])
write_json(out.summary, {"cell": snakemake.wildcards.cell, "n_atoms": len(atoms), **result})
