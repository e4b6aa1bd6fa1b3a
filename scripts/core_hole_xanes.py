"""Core-hole SCF and xspectra.x for one Si site (rule core_hole_xanes)."""

import json
import time
import traceback
from pathlib import Path

import numpy as np

from siox_xanes.io import atomic_path, read_structure, write_json
from siox_xanes.joblog import start
from siox_xanes.spectra.calc import Launch, ScfSettings, SpectrumSettings, core_hole_site
from siox_xanes.spectra.energy import onset_energy_eV

log = start(snakemake)
inp, out, wc = snakemake.input, snakemake.output, snakemake.wildcards
site = int(wc.site)
atoms = read_structure(inp.structure)
attempt = int(snakemake.resources.scf_attempt)
# Ranks and launcher change how, not what, is computed: not params (see rules/common.smk).
launch = Launch(int(snakemake.resources.tasks), snakemake.config["xanes"]["launcher"])
settings = snakemake.params.spectrum
pseudo = {Path(p).name: p for p in inp.pseudo}
manifest = json.loads(Path(pseudo["manifest.json"]).read_text())
ground = json.loads(Path(inp.ground_state).read_text())
log.info("%s site %d (%s), attempt %d, %d rank(s)", wc.cell, site, atoms[site].symbol, attempt, launch.ranks)
# Start from the cell's ground-state density (xanes.start_from_ground_state); a
# retry after a failed SCF starts from atomic densities instead.
start_density = Path(inp.density) if settings["start_from_ground_state"] and attempt == 1 else None
try:
    result = core_hole_site(
        atoms, site, ScfSettings.from_mapping(settings), SpectrumSettings.from_mapping(settings),
        Path(pseudo["Si_hole.1s.core"]).parent, Path(pseudo["Si_hole.1s.core"]), attempt, launch,
        keep=Path(snakemake.log.qe), start_density=start_density,
    )
except Exception as exc:
    # The failed attempt's record in the job's failure log (printed by Snakemake with the
    # failure); Snakemake retries with safer mixing, and no spectrum file is left.
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cell": wc.cell, "site": site, "attempt": attempt,
              "error": str(exc), "traceback": traceback.format_exc()}
    with open(snakemake.log.failures, "w") as fh:
        fh.write(json.dumps(record) + "\n")
    raise
scf = result["scf"]
onset = onset_energy_eV(scf["total_energy_eV"], ground["total_energy_eV"], manifest["atomic_correction_eV"])
log.info("Delta-SCF onset %.3f eV (before the global shift); %s SCF iterations", onset, scf["scf_iterations"])
table = np.column_stack([result["energy_rel_eV"], result["energy_rel_eV"] + onset, *result["mu"].values(), result["mu_mean"]])
header = "energy_rel_eV,energy_abs_unshifted_eV," + ",".join(f"mu_{k}" for k in result["mu"]) + ",mu_mean"
with atomic_path(out.spectrum) as tmp:
    np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.8g")
write_json(out.summary, {
    "cell": wc.cell,
    "site": site,
    "core_hole_total_energy_eV": scf["total_energy_eV"],
    "ground_state_total_energy_eV": ground["total_energy_eV"],
    "delta_scf_eV": scf["total_energy_eV"] - ground["total_energy_eV"],
    "atomic_correction_eV": manifest["atomic_correction_eV"],
    "onset_unshifted_eV": onset,
    "scf_iterations": scf["scf_iterations"],
    "scf_attempt": attempt,
    "scf_started_from_ground_state": start_density is not None,
    "scf_wall_time_s": scf["wall_time_s"],
    "fermi_energy_eV": scf["fermi_energy_eV"],
    "qe_version": scf["qe_version"],
})
