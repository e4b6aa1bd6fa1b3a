"""SiOx glasses grown from amorphous Si by inserting O into Si-Si bonds.

Melt-quenched with the Munetoh potential, the intermediate compositions end with O
bound to three Si and a quarter of the Si off fourfold, whatever the protocol
(docs/methods-structures.md, Glass soundness): the potential's liquid favours OSi3 and the quench freezes it. Its
a-Si, its a-SiO2 and the Si-O bond itself are sound, so here the melt-quench makes the
amorphous Si network and chemistry does the rest, as in the random-bonding picture of
SiOx: O atoms go into randomly chosen Si-Si bonds (every O bridges two Si, every Si
keeps its neighbours), a few at a time. After each step the cell is scaled to the
volume-additive experimental density of the composition reached and minimised at that
volume; a short anneal and a box relaxation at the set pressure finish the glass. The
anneal stays cold enough (300 K by default) that O does not hop between Si.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Oxidation:
    """How O is brought into an a-Si cell (config ``md.oxidation``)."""

    n_oxygen: int  # O atoms of the final cell
    step_x: float  # O/Si added per step
    anneal_temperature_K: float
    anneal_ps: float
    cool_ps: float
    offset_A: float  # O starts this far off the bond's midpoint, across the bond
    si_si_cutoff_A: float  # Si-Si pairs closer than this are bonds that can take an O ...
    si_o_cutoff_A: float  # ... unless an O within this distance of both already bridges them
    end_member_densities: dict  # {"Si": g/cm3, "SiO2": g/cm3}: volume-additive density per step
    # the a-Si cell's melt-quench: 'nvt' at a-Si's density (end_member_densities["Si"]), the box
    # relaxed at the end; 'npt' the configured protocol as it is. Cells of 8-16 Si held at
    # 5000 K and 1 atm can boil off into a gas that never condenses (0.05 g/cm3 measured).
    template_ensemble: str = "npt"

    def __post_init__(self):
        if self.n_oxygen < 0 or self.step_x <= 0:
            raise ValueError(f"md.oxidation: step_x must be > 0 and the O count >= 0 (got {self.step_x}, {self.n_oxygen})")
        if self.template_ensemble not in ("npt", "nvt"):
            raise ValueError(f"md.oxidation.template_ensemble: '{self.template_ensemble}', expected 'npt' or 'nvt'")

    def template_protocol(self, protocol):
        """The melt-quench (md.MeltQuench) that makes the a-Si cell, from the configured one."""
        if self.template_ensemble == "npt":
            return protocol
        from dataclasses import replace

        return replace(protocol, ensemble="nvt", density_g_cm3=self.end_member_densities["Si"], relax_box=True)


def oxygen_steps(n_si: int, n_oxygen: int, step_x: float) -> list[int]:
    """Cumulative O counts after each step: equal steps of at most ``step_x`` O per Si."""
    if n_oxygen == 0:
        return []
    n_steps = max(1, math.ceil(n_oxygen / (step_x * n_si) - 1e-9))
    return [round(n_oxygen * (k + 1) / n_steps) for k in range(n_steps)]


def si_si_bonds(atoms, si_si_cutoff: float, si_o_cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Free Si-Si bonds: pairs (i < j) closer than ``si_si_cutoff`` under periodic
    boundaries that no O bridges (an O within ``si_o_cutoff`` of both); i, j and the
    vector from i to j."""
    from ase.neighborlist import neighbor_list

    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijD", atoms, si_si_cutoff)
    keep = (i < j) & (symbols[i] == "Si") & (symbols[j] == "Si")
    i, j, d = i[keep], j[keep], d[keep]
    si_o_i, si_o_j = neighbor_list("ij", atoms, si_o_cutoff)
    is_si_o = (symbols[si_o_i] == "Si") & (symbols[si_o_j] == "O")
    oxygens_of = {}
    for a, o in zip(si_o_i[is_si_o], si_o_j[is_si_o]):
        oxygens_of.setdefault(int(a), set()).add(int(o))
    free = np.array([not (oxygens_of.get(int(a), set()) & oxygens_of.get(int(b), set())) for a, b in zip(i, j)], bool)
    return i[free], j[free], d[free]


class TooFewBonds(ValueError):
    """The a-Si cell has fewer free Si-Si bonds than O to insert (a coordination defect
    costs a bond: at O = 2 Si every bond of a fully fourfold network is needed)."""


DIRECTIONS_TRIED = 12  # random directions across a bond; the O takes the one farthest from other O


def insert_oxygen(atoms, n_new: int, rng: np.random.Generator, si_si_cutoff: float, si_o_cutoff: float,
                  offset: float):
    """A new cell with ``n_new`` more O, each in its own randomly chosen free Si-Si bond: at
    the bond's midpoint moved ``offset`` across it (a bent Si-O-Si, as in silica), in
    whichever of a few random directions keeps it farthest from the O already there. Two
    O in neighbouring bonds of one Si start ~1.9 A apart at the midpoints; bent towards
    each other they can end bonded, bent apart they end at silica's ~2.6 A. Si stay
    where they are; atoms are ordered Si first, then O."""
    from ase import Atoms
    from ase.geometry import get_distances

    i, j, d = si_si_bonds(atoms, si_si_cutoff, si_o_cutoff)
    if n_new > len(i):
        raise TooFewBonds(
            f"md.oxidation: {n_new} O to insert but the cell has only {len(i)} free Si-Si bonds "
            f"shorter than {si_si_cutoff} A (too much O for this a-Si network)"
        )
    chosen = np.sort(rng.choice(len(i), n_new, replace=False))
    symbols = np.array(atoms.get_chemical_symbols())
    si, o = atoms.positions[symbols == "Si"], atoms.positions[symbols == "O"]
    oxygens = [*o]
    for b in chosen:
        across = rng.normal(size=(DIRECTIONS_TRIED, 3))
        across -= np.outer(across @ d[b] / d[b].dot(d[b]), d[b])
        candidates = atoms.positions[i[b]] + d[b] / 2 + offset * across / np.linalg.norm(across, axis=1)[:, None]
        best = 0
        if oxygens:
            _, dist = get_distances(candidates, np.array(oxygens), cell=atoms.cell, pbc=True)
            best = int(np.argmax(dist.min(axis=1)))
        oxygens.append(candidates[best])
    out = Atoms(
        symbols=["Si"] * len(si) + ["O"] * len(oxygens),
        positions=np.vstack([si, *oxygens]) if oxygens else si,
        cell=atoms.cell,
        pbc=True,
    )
    out.wrap()
    out.info.update(atoms.info)
    return out


def scaled_to_density(atoms, density_g_cm3: float):
    """The cell scaled uniformly (atoms with it) to the given density."""
    from .lattice import density_g_cm3 as density_of

    out = atoms.copy()
    out.set_cell(out.cell * (density_of(atoms) / density_g_cm3) ** (1.0 / 3.0), scale_atoms=True)
    return out


def anneal_commands(ox: Oxidation, velocity_seed: int, timestep_fs: float, tdamp_ps: float, pressure_atm: float) -> list[str]:
    """After the last step: anneal at fixed volume, cool to ~0 K, relax the box."""
    from .md import box_relaxation_commands

    T = ox.anneal_temperature_K
    cmds = []
    if ox.anneal_ps > 0 or ox.cool_ps > 0:
        cmds = [
            f"velocity all create {T} {velocity_seed} mom yes rot yes dist gaussian",
            f"fix anneal all nvt temp {T} {T} {tdamp_ps}",
            f"run {round(ox.anneal_ps * 1000.0 / timestep_fs)}",
            "unfix anneal",
            f"fix anneal all nvt temp {T} 1.0 {tdamp_ps}",
            f"run {round(ox.cool_ps * 1000.0 / timestep_fs)}",
            "unfix anneal",
        ]
    return [*cmds, *box_relaxation_commands(pressure_atm)]


def oxidise(atoms, ox: Oxidation, potential_file: Path, scratch: Path, seed_sequence, velocity_seed: int,
            timestep_fs: float, tdamp_ps: float, pressure_atm: float, ranks: int = 1, launcher: str = "auto"):
    """Grow the SiOx cell from the a-Si cell ``atoms``; return (final atoms, LAMMPS logs).

    Same inputs, same cell: the only randomness is drawn from ``seed_sequence``.
    """
    from ..io import read_lammps_data, write_lammps_data
    from .lattice import volume_additive_density
    from .md import run_lammps, setup_commands

    symbols = atoms.get_chemical_symbols()
    if "O" in symbols:
        raise ValueError("md.oxidation: the cell to oxidise must be Si only")
    n_si = len(symbols)
    rng = np.random.default_rng(seed_sequence)
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    logs = []

    def lammps(cell, body: list[str], name: str):
        write_lammps_data(scratch / f"{name}.in.data", cell)
        cmds = setup_commands(f"{name}.in.data", str(potential_file), timestep_fs) + body + [f"write_data {name}.out.data"]
        run_lammps(cmds, scratch, scratch / f"{name}.log", ranks=ranks, launcher=launcher)
        logs.append((scratch / f"{name}.log").read_text())
        return read_lammps_data(scratch / f"{name}.out.data")

    cell, n_o = atoms, 0
    for k, target in enumerate(oxygen_steps(n_si, ox.n_oxygen, ox.step_x)):
        cell = insert_oxygen(cell, target - n_o, rng, ox.si_si_cutoff_A, ox.si_o_cutoff_A, ox.offset_A)
        n_o = target
        cell = scaled_to_density(cell, volume_additive_density(n_o / n_si, ox.end_member_densities))
        cell = lammps(cell, ["minimize 1.0e-8 1.0e-10 20000 200000"], f"step{k}")
    # the anneal runs with the melt-quench's time step, small enough far below the melt
    final = lammps(cell, anneal_commands(ox, velocity_seed, timestep_fs, tdamp_ps, pressure_atm), "anneal")
    return final, "\n".join(logs)


def grow_from_si(si_network, ox: Oxidation, protocol, potential: str, scratch: Path, seed: int, x_key: str,
                 ranks: int = 1, launcher: str = "auto", attempt: int = 0):
    """Cell (seed, x) grown from its Si-only network: melt-quenched to a-Si by
    ``ox.template_protocol(protocol)`` (a md.MeltQuench), then :func:`oxidise`-d with the
    same potential and cut-offs, time step, thermostat and pressure; the insertion draws
    from the random stream of the cell's ``attempt``. Returns (final atoms carrying the
    melt-quench's provenance, trace of the melt-quench, LAMMPS logs); raises
    :class:`TooFewBonds` when the a-Si cell cannot take every O."""
    from .lattice import composition_seed, density_g_cm3
    from .md import melt_quench, prepared_potential, velocity_seed

    scratch = Path(scratch)
    template = ox.template_protocol(protocol)
    a_si, trace, log_text = melt_quench(si_network, template, potential, scratch, ranks, launcher)
    final, oxidation_log = oxidise(
        a_si, ox, prepared_potential(potential, template.tersoff_cutoffs_A, scratch), scratch / "oxidation",
        composition_seed(seed, x_key, stream=2, attempt=attempt), velocity_seed(seed, x_key, attempt),
        template.timestep_fs, template.tdamp_ps, template.pressure_atm, ranks, launcher)
    final.info.update(a_si.info)
    final.info["a_si_density_g_cm3"] = density_g_cm3(a_si)
    return final, trace, log_text + "\n# ---- oxidation of the a-Si cell ----\n" + oxidation_log
