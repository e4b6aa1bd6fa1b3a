"""Ground-state SCF of one cell and its densities for Bader (rule ground_state)."""

from pathlib import Path

from siox_xanes.io import read_structure, write_json
from siox_xanes.joblog import start
from siox_xanes.spectra.calc import Launch, ScfSettings, ground_state

log = start(snakemake)
out = snakemake.output
atoms = read_structure(snakemake.input.structure)
attempt = int(snakemake.resources.scf_attempt)
# Ranks and launcher change how, not what, is computed: not params (see rules/common.smk).
launch = Launch(int(snakemake.resources.tasks), snakemake.config["xanes"]["launcher"])
log.info("%s: %d atoms, attempt %d, %d rank(s)", atoms.get_chemical_formula(), len(atoms), attempt, launch.ranks)
pseudo_dir = Path(snakemake.input.pseudo[0]).parent
density_dir = Path(out.density) if "density" in out.keys() else None
result = ground_state(
    atoms, ScfSettings.from_mapping(snakemake.params.scf), pseudo_dir, Path(out.rho_valence),
    Path(out.rho_all_electron), attempt, launch, keep=Path(snakemake.log.qe), density_dir=density_dir,
)
log.info("E_tot = %.6f eV after %s SCF iterations", result["total_energy_eV"], result["scf_iterations"])
write_json(out.summary, {"cell": snakemake.wildcards.cell, "n_atoms": len(atoms), **result})
