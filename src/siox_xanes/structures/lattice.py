"""Seeded random SiOx networks on the cubic SiO2 lattice.

The paper starts from a 4x4x4 supercell of cubic SiO2 with 384 atoms and ~15 A
per side. The only cubic SiO2 cell that gives those numbers has six atoms: Si on
a body-centred cubic sublattice and O in the tetrahedral holes between them
(the anti-Cu2O arrangement, two interpenetrating cristobalite-like networks).
With a = 3.74 A every Si has four O at a*sqrt(3)/4 = 1.62 A, the Si-O bond of
silica, and 4a = 14.96 A.

Two of the paper's cells (Si160 and Si180O45) hold more Si than the lattice has
Si sites (128), so "removing atoms" cannot be taken literally. Our reading:
every lattice point is a *site* and species are assigned to sites.

1. Si atoms take randomly chosen Si sites (all of them if there are more Si
   atoms than Si sites).
2. Any Si atoms left over take randomly chosen O sites.
3. O atoms take randomly chosen remaining O sites.

All atoms therefore sit on lattice points, so no two atoms are closer than the
nearest site distance (1.62 A). Si-Si pairs at that distance (only in
Si-excess cells) are strongly repulsive; the melt-quench stage minimises the
energy before heating so they relax before the dynamics starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Fractional coordinates of the six-atom cubic SiO2 cell. numpy is imported inside the
# functions that need it: the config check (run when the DAG is built) counts sites only.
CUBIC_SIO2_BASIS = {
    "Si": ((0.0, 0.0, 0.0), (0.5, 0.5, 0.5)),
    "O": ((0.25, 0.25, 0.25), (0.75, 0.75, 0.25), (0.75, 0.25, 0.75), (0.25, 0.75, 0.75)),
}


@dataclass(frozen=True)
class Lattice:
    """Cubic SiO2 site lattice: lattice constant (A) and supercell repeat."""

    a: float
    repeat: tuple[int, int, int]

    @property
    def cell_lengths(self):
        import numpy as np

        return self.a * np.asarray(self.repeat, dtype=float)

    def sites(self, kind: str):
        """Cartesian positions (A) of all ``kind`` ('Si' or 'O') sites."""
        import numpy as np

        basis = np.asarray(CUBIC_SIO2_BASIS[kind])
        nx, ny, nz = self.repeat
        shifts = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], float)
        frac = (shifts[:, None, :] + basis[None, :, :]).reshape(-1, 3)
        return frac * self.a

    @property
    def n_si_sites(self) -> int:
        return len(CUBIC_SIO2_BASIS["Si"]) * math.prod(self.repeat)

    @property
    def n_o_sites(self) -> int:
        return len(CUBIC_SIO2_BASIS["O"]) * math.prod(self.repeat)

    @property
    def nearest_site_distance(self) -> float:
        return self.a * math.sqrt(3.0) / 4.0


def fits_lattice(n_si: int, n_o: int, lattice: Lattice) -> str | None:
    """Return why (n_si, n_o) cannot be placed on ``lattice``, or None if it can."""
    if n_si < 0 or n_o < 0:
        return "atom counts must be non-negative"
    if n_si == 0:
        return "a cell needs at least one Si atom (Si sites are the absorbers)"
    excess_si = max(0, n_si - lattice.n_si_sites)
    if n_o + excess_si > lattice.n_o_sites:
        return (
            f"Si{n_si}O{n_o} needs {n_si + n_o} sites but the lattice "
            f"{lattice.repeat} has {lattice.n_si_sites} Si and {lattice.n_o_sites} O sites "
            f"({lattice.n_si_sites + lattice.n_o_sites} in all; O may only take O sites)"
        )
    return None


def composition_seed(seed: int, x_key: str, stream: int = 0, attempt: int = 0):
    """Independent, reproducible random stream (numpy SeedSequence) per (seed, composition,
    purpose, attempt); attempt 0 is the cell's first draw (md.max_attempts)."""
    import numpy as np

    entropy = [int(seed), int(round(float(x_key) * 100)), int(stream)]
    return np.random.SeedSequence(entropy + [int(attempt)] if attempt else entropy)


def build_network(n_si: int, n_o: int, lattice: Lattice, seed: int, x_key: str):
    """Random SiOx network with exactly ``n_si`` Si and ``n_o`` O atoms.

    Same arguments, same cell: the only randomness is drawn from
    ``composition_seed(seed, x_key)``. Atoms are ordered Si first, then O.
    """
    import numpy as np
    from ase import Atoms

    why = fits_lattice(n_si, n_o, lattice)
    if why:
        raise ValueError(why)
    rng = np.random.default_rng(composition_seed(seed, x_key))
    si_sites, o_sites = lattice.sites("Si"), lattice.sites("O")
    n_on_si = min(n_si, len(si_sites))
    si_pos = si_sites[np.sort(rng.choice(len(si_sites), n_on_si, replace=False))]
    # Excess Si and all O share the O sites: draw them in one permutation.
    excess = n_si - n_on_si
    pick = rng.permutation(len(o_sites))[: excess + n_o]
    si_pos = np.vstack([si_pos, o_sites[np.sort(pick[:excess])]])
    o_pos = o_sites[np.sort(pick[excess:])]
    atoms = Atoms(
        symbols=["Si"] * n_si + ["O"] * n_o,
        positions=np.vstack([si_pos, o_pos]) if n_o else si_pos,
        cell=np.diag(lattice.cell_lengths),
        pbc=True,
    )
    atoms.info.update({"x": float(x_key), "seed": int(seed), "lattice_a": lattice.a})
    return atoms


def min_distance(atoms) -> float:
    """Smallest interatomic distance under periodic boundaries (A)."""
    import numpy as np

    d = atoms.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


def density_g_cm3(atoms) -> float:
    """Mass density in g/cm^3."""
    from .. import ATOMIC_MASS

    mass_g = sum(ATOMIC_MASS[s] for s in atoms.get_chemical_symbols()) / 6.02214076e23
    return float(mass_g / (atoms.cell.volume * 1e-24))


def volume_additive_density(x: float, end_members: dict[str, float]) -> float:
    """Density (g/cm^3) of SiO_x mixed from a-Si and a-SiO2 of the given densities at
    their molar volumes: (1 - x/2) Si + (x/2) SiO2 per Si."""
    from .. import ATOMIC_MASS

    si, o = ATOMIC_MASS["Si"], ATOMIC_MASS["O"]
    volume = (1 - x / 2) * si / end_members["Si"] + (x / 2) * (si + 2 * o) / end_members["SiO2"]
    return (si + x * o) / volume
