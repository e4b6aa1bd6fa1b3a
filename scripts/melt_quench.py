"""LAMMPS melt-quench of one cell (rule melt_quench)."""

import tempfile
from pathlib import Path

import numpy as np

from siox_xanes.io import atomic_path, read_structure, write_structure
from siox_xanes.joblog import start
from siox_xanes.structures.lattice import density_g_cm3
from siox_xanes.structures.md import TRACE_COLUMNS, MeltQuench, melt_quench, velocity_seed
from siox_xanes.structures.oxidation import Oxidation, grow_from_si

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
protocol_settings = dict(snakemake.params.protocol)
potential = protocol_settings.pop("potential")
out = snakemake.output
atoms = read_structure(snakemake.input.structure)
protocol = MeltQuench(velocity_seed=velocity_seed(seed, x), density_g_cm3=snakemake.params.density_g_cm3,
                      **protocol_settings)
# How the ranks are started does not change what is computed: read from the config,
# which Snakemake does not compare, so editing it reruns nothing.
ranks = int(snakemake.resources.tasks)
launcher = snakemake.config["md"]["launcher"]
log.info("%s: %d steps on %d MPI rank(s)", atoms.get_chemical_formula(), protocol.total_steps, ranks)

# LAMMPS scratch (input, data files, raw trace) lives beside the outputs and is
# removed afterwards; only the parsed results are kept.
Path(out.structure).parent.mkdir(parents=True, exist_ok=True)
oxidation = Oxidation(**snakemake.params.oxidation) if snakemake.params.oxidation else None
if oxidation:
    protocol = oxidation.template_protocol(protocol)
with tempfile.TemporaryDirectory(prefix=".lammps-", dir=Path(out.structure).parent) as scratch:
    final, trace, log_text = melt_quench(atoms, protocol, potential, Path(scratch), ranks, launcher)
    if oxidation:
        # the melt-quench made a-Si: O goes into its bonds (siox_xanes.structures.oxidation)
        log.info("a-Si density %.3f g/cm3; inserting %d O in steps of x <= %g",
                 density_g_cm3(final), oxidation.n_oxygen, oxidation.step_x)
        provenance = dict(final.info)
        final, oxidation_log = grow_from_si(final, oxidation, protocol, potential, Path(scratch), seed, x, ranks, launcher)
        final.info.update(provenance)
        final.info.update({f"oxidation_{k}": v for k, v in snakemake.params.oxidation.items() if not isinstance(v, dict)})
        log_text += "\n# ---- oxidation of the a-Si cell ----\n" + oxidation_log

with atomic_path(out.trace) as tmp:
    np.savetxt(tmp, trace, delimiter=",", header=",".join(TRACE_COLUMNS), comments="", fmt="%.6f")
with atomic_path(out.lammps_log) as tmp:
    tmp.write_text(log_text)
write_structure(out.structure, final)
log.info("final density %.3f g/cm3 (%s)", density_g_cm3(final), final.info["lammps_version"])
