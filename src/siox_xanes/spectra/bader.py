"""Bader charges from QE densities with baderkit.

pp.x writes the valence (pseudo + augmentation, plot_num 0) and the PAW
all-electron (plot_num 21) densities as Gaussian cube files. They are
converted to VASP CHGCAR layout first: baderkit partitions correctly from
CHGCAR files, while reading the QE cubes directly gave wrong basins for
alpha-quartz. The valence density is integrated over basins of the
all-electron density; charge = valence electrons of the dataset - population,
so Si in SiO2 comes out near +3.2 and O near -1.6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def cube_to_chgcar(cube_path, chgcar_path) -> None:
    """Gaussian cube (e/bohr^3, QE) -> CHGCAR (rho * V, as VASP writes it)."""
    from ase.calculators.vasp import VaspChargeDensity
    from ase.io.cube import read_cube_data
    from ase.units import Bohr

    data, atoms = read_cube_data(str(cube_path))
    chg = VaspChargeDensity(None)
    chg.atoms = [atoms]
    chg.chg = [data / Bohr**3]  # e/A^3; the writer multiplies by the volume
    chg.write(str(chgcar_path), format="chgcar")


def bader_charges(valence_cube, all_electron_cube, valence_electrons: list[float], workdir) -> np.ndarray:
    """Bader charge of every atom (in the cube's atom order)."""
    import numba
    from baderkit import Bader, Grid

    # one thread, as the rule's one core: measured on the tiny SiO2 glass, the same charges in
    # 4.0 s against 5.9 s on two threads (9.6 against 11.3 s beside two busy processes)
    numba.set_num_threads(1)

    workdir = Path(workdir)
    cube_to_chgcar(valence_cube, workdir / "CHGCAR_valence")
    cube_to_chgcar(all_electron_cube, workdir / "CHGCAR_all_electron")
    bader = Bader(
        charge_grid=Grid.from_vasp(workdir / "CHGCAR_valence"),
        total_charge_grid=Grid.from_vasp(workdir / "CHGCAR_all_electron"),
    )
    population = np.asarray(bader.atom_charges, float)
    if len(population) != len(valence_electrons):
        raise ValueError(f"Bader found {len(population)} atoms, the cell has {len(valence_electrons)}")
    return np.asarray(valence_electrons, float) - population


def compile_kernels() -> float:
    """Run Bader analyses on synthetic densities so that numba compiles baderkit's kernels into its
    on-disk cache; returns the seconds it took. A fresh environment pays this once (4-6 min on one
    core): setup.sh calls it so that the first Bader jobs do not. baderkit specialises its kernels
    by the labels' integer type, which follows the number of grid points (uint16 up to 65535,
    uint32 above: every glass cell), and takes one path when every maximum of the density is an
    atom's (a-Si) and another when it merges spurious maxima (Si-O valence densities): diamond Si
    as clean Gaussians and alpha-quartz's atoms as Gaussians under a weak smooth ripple, each on a
    grid of either size (measured: a real a-Si cell's first analysis took 98 s more without them)."""
    import tempfile
    import time

    from ase.io.cube import write_cube
    from ase.units import Bohr

    from ..layout import VALENCE_ELECTRONS
    from .references import reference_crystal

    started = time.perf_counter()
    for name, ripple_height, spacing_A in (("diamond_si", 0.0, 0.17), ("alpha_quartz", 0.05, 0.17),
                                           ("diamond_si", 0.0, 0.125), ("alpha_quartz", 0.05, 0.115)):
        atoms = reference_crystal(name)
        shape = tuple(int(round(length / spacing_A)) for length in atoms.cell.lengths())
        frac = np.stack(np.meshgrid(*(np.arange(n) / n for n in shape), indexing="ij"), axis=-1)
        density = np.zeros(shape)
        for symbol, position in zip(atoms.get_chemical_symbols(), atoms.get_scaled_positions()):
            d = ((frac - position + 0.5) % 1.0 - 0.5) @ atoms.cell.array  # to the nearest periodic image
            width, height = (0.6, 1.0) if symbol == "Si" else (0.45, 3.0)
            density += height * np.exp(-np.sum(d**2, axis=-1) / width)
        density += ripple_height * (1.5 + np.cos(2 * np.pi * frac * np.array([7, 6, 5])).prod(axis=-1))
        with tempfile.TemporaryDirectory(prefix="bader-compile-") as tmp:
            tmp = Path(tmp)
            for cube, scale in (("valence.cube", 1.0), ("all_electron.cube", 2.0)):
                with open(tmp / cube, "w") as f:
                    write_cube(f, atoms, data=scale * density * Bohr**3)
            electrons = [VALENCE_ELECTRONS[s] for s in atoms.get_chemical_symbols()]
            bader_charges(tmp / "valence.cube", tmp / "all_electron.cube", electrons, tmp)
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"baderkit kernels compiled and cached in {compile_kernels():.0f} s")
