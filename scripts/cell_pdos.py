"""Every Si's ground-state s and p PDOS and local gap of one cell (rule cell_pdos)."""

from pathlib import Path

from siox_xanes.io import atomic_path, read_structure
from siox_xanes.joblog import start
from siox_xanes.spectra.calc import Launch, ScfSettings
from siox_xanes.spectra.pdos import PdosSettings, cell_pdos, pdos_dataset

log = start(snakemake)
cell = snakemake.wildcards.cell
atoms = read_structure(snakemake.input.structure)
attempt = int(snakemake.resources.scf_attempt)
# Ranks and launcher change how, not what, is computed: not params (see rules/common.smk).
launch = Launch(int(snakemake.resources.tasks), snakemake.config["xanes"]["launcher"])
pdos = PdosSettings.from_mapping(snakemake.params.pdos)
log.info("%s: %d atoms, nscf mesh %s, attempt %d, %d rank(s)", atoms.get_chemical_formula(), len(atoms),
         "x".join(map(str, pdos.nscf_kpoints)), attempt, launch.ranks)
result = cell_pdos(atoms, ScfSettings.from_mapping({**snakemake.params.scf, "environment_pseudopotentials": "paw"}),
                   pdos=pdos, pseudo_dir=Path(snakemake.input.pseudo[0]).parent, attempt=attempt, launch=launch,
                   keep=Path(snakemake.log.qe))
log.info("%d bands reach %.1f eV above the highest occupied level (%.3f eV); median local gap %.2f eV; nscf %.0f CPU s",
         result["nbnd"], result["bands_reach_eV"], result["highest_occupied_eV"],
         float(sorted(result["local_gap_eV"])[len(result["local_gap_eV"]) // 2]), result["nscf_cpu_s"])
with atomic_path(snakemake.output.pdos) as tmp:
    pdos_dataset(result, cell, pdos).to_netcdf(tmp)
