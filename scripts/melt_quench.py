"""LAMMPS melt-quench of one cell (rule melt_quench); grown from a-Si where md.oxidation
lists the composition; drawn again while it misses validation.bounds (md.max_attempts)."""

import tempfile
from pathlib import Path

import numpy as np

from siox_xanes.io import atomic_path, read_structure, write_structure
from siox_xanes.joblog import start
from siox_xanes.structures.checks import Soundness, validate_cell
from siox_xanes.structures.lattice import density_g_cm3
from siox_xanes.structures.md import TRACE_COLUMNS, MeltQuench, first_sound, melt_quench, velocity_seed
from siox_xanes.structures.oxidation import Oxidation, TooFewBonds, grow_from_si

log = start(snakemake)
x, seed = snakemake.wildcards.x, int(snakemake.wildcards.seed)
params, out = snakemake.params, snakemake.output
protocol_settings = dict(params.protocol)
potential = protocol_settings.pop("potential")
atoms = read_structure(snakemake.input.structure)
oxidation = Oxidation(**params.oxidation) if params.oxidation else None
redraw = params.redraw or {"max_attempts": 1}
# How the ranks are started does not change what is computed: read from the config,
# which Snakemake does not compare, so editing it reruns nothing.
ranks = int(snakemake.resources.tasks)
launcher = snakemake.config["md"]["launcher"]


def attempt(k: int, scratch: Path):
    """Cell (x, seed) drawn the k-th time: its own velocity seed (and O insertion stream)."""
    protocol = MeltQuench(velocity_seed=velocity_seed(seed, x, k), density_g_cm3=params.density_g_cm3,
                          **protocol_settings)
    log.info("attempt %d: %s, %d steps on %d MPI rank(s)", k, atoms.get_chemical_formula(), protocol.total_steps, ranks)
    if oxidation:
        # the melt-quench makes a-Si, O goes into its bonds (siox_xanes.structures.oxidation)
        try:
            final, trace, log_text = grow_from_si(atoms, oxidation, protocol, potential, scratch, seed, x, ranks,
                                                  launcher, k)
        except TooFewBonds as err:
            log.info("  cannot be finished: %s", err)
            return None
        log.info("a-Si density %.3f g/cm3; %d O inserted in steps of x <= %g",
                 final.info["a_si_density_g_cm3"], oxidation.n_oxygen, oxidation.step_x)
        final.info.update({f"oxidation_{key}": v for key, v in params.oxidation.items() if not isinstance(v, dict)})
    else:
        final, trace, log_text = melt_quench(atoms, protocol, potential, scratch, ranks, launcher)
    final.info["md_attempt"] = k
    return final, trace, log_text


def misses(result) -> list[str]:
    if result is None:
        return ["too few Si-Si bonds in the a-Si cell for its O"]
    if redraw["max_attempts"] == 1:
        return []  # one draw: nothing to choose between (rule validate_cell reports it)
    flags = validate_cell(result[0], redraw["cutoffs"], Soundness.from_mapping(redraw["bounds"]))["flags"]
    for flag in flags:
        log.info("  misses: %s", flag)
    return flags


# LAMMPS scratch (input, data files, raw trace) lives beside the outputs and is
# removed afterwards; only the parsed results are kept.
Path(out.structure).parent.mkdir(parents=True, exist_ok=True)
with tempfile.TemporaryDirectory(prefix=".lammps-", dir=Path(out.structure).parent) as scratch:
    result, k, history = first_sound(lambda k: attempt(k, Path(scratch) / f"attempt{k}"), misses,
                                     redraw["max_attempts"])
if result is None:
    raise RuntimeError(f"x={x} seed={seed}: none of {len(history)} a-Si cells had a free Si-Si bond for each of its "
                       f"{oxidation.n_oxygen} O (md.oxidation); raise md.max_attempts or melt-quench this composition")
final, trace, log_text = result
if redraw["max_attempts"] > 1:
    log.info("kept attempt %d of %d made (misses per attempt: %s)", k, len(history), [len(h) for h in history])

with atomic_path(out.trace) as tmp:
    np.savetxt(tmp, trace, delimiter=",", header=",".join(TRACE_COLUMNS), comments="", fmt="%.6f")
with atomic_path(out.lammps_log) as tmp:
    tmp.write_text(log_text)
write_structure(out.structure, final)
log.info("final density %.3f g/cm3 (%s)", density_g_cm3(final), final.info["lammps_version"])
