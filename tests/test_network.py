import numpy as np
import pytest

from siox_xanes.structures.lattice import Lattice, build_network, density_g_cm3, fits_lattice, min_distance

PAPER = Lattice(3.74, (4, 4, 4))
PAPER_CELLS = {
    "0.00": (160, 0), "0.25": (180, 45), "0.50": (150, 75), "0.75": (120, 90), "1.00": (100, 100),
    "1.25": (100, 125), "1.50": (96, 144), "1.75": (80, 140), "2.00": (72, 144),
}


def test_lattice_is_the_papers_384_site_cell():
    assert PAPER.n_si_sites + PAPER.n_o_sites == 384
    assert PAPER.cell_lengths == pytest.approx([14.96] * 3)
    assert PAPER.nearest_site_distance == pytest.approx(1.6195, abs=1e-3)


def test_every_si_site_has_four_o_sites_at_the_bond_length():
    from ase import Atoms

    from siox_xanes.structures.checks import si_coordination

    lat = Lattice(3.74, (2, 2, 2))
    full = Atoms(
        ["Si"] * lat.n_si_sites + ["O"] * lat.n_o_sites,
        positions=np.vstack([lat.sites("Si"), lat.sites("O")]),
        cell=np.diag(lat.cell_lengths),
        pbc=True,
    )
    coord = si_coordination(full, {"Si-Si": 2.75, "Si-O": 1.7, "O-O": 1.8})
    assert (coord == [0, 4]).all()


@pytest.mark.parametrize("x", sorted(PAPER_CELLS))
def test_builder_makes_exact_counts(x):
    n_si, n_o = PAPER_CELLS[x]
    atoms = build_network(n_si, n_o, PAPER, seed=3, x_key=x)
    symbols = atoms.get_chemical_symbols()
    assert symbols.count("Si") == n_si and symbols.count("O") == n_o
    assert min_distance(atoms) >= PAPER.nearest_site_distance - 1e-6


def test_same_seed_same_cell_other_seed_other_cell():
    a = build_network(100, 125, PAPER, seed=1, x_key="1.25")
    b = build_network(100, 125, PAPER, seed=1, x_key="1.25")
    c = build_network(100, 125, PAPER, seed=2, x_key="1.25")
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell)
    assert not np.array_equal(a.positions, c.positions)


def test_si_excess_cells_use_o_sites_and_keep_all_si_sites():
    atoms = build_network(160, 0, PAPER, seed=1, x_key="0.00")
    assert len(atoms) == 160
    assert density_g_cm3(atoms) == pytest.approx(2.229, abs=1e-3)


def test_counts_that_do_not_fit_are_rejected():
    assert fits_lattice(200, 200, PAPER) is not None  # 400 atoms > 384 sites
    assert fits_lattice(10, 257, PAPER) is not None  # more O than O sites
    assert fits_lattice(0, 10, PAPER) is not None
    assert fits_lattice(128, 256, PAPER) is None
    with pytest.raises(ValueError, match="needs 400 sites"):
        build_network(200, 200, PAPER, seed=1, x_key="1.00")
