import itertools

import numpy as np
import pytest

from siox_xanes.dataset.rdf import neighbour_summary, rdf_bins, site_rdfs
from siox_xanes.spectra.references import reference_crystal


def counts_from_g(g, atoms, r_max=5.0, n_bins=256):
    r, dr = rdf_bins(r_max, n_bins)
    return g * 4 * np.pi * r**2 * dr * len(atoms) / atoms.cell.volume


def brute_force_distances(atoms, site, r_max):
    """Independent check: loop over enough periodic images, no neighbour list."""
    cell = np.asarray(atoms.cell)
    n = [int(np.ceil(r_max / (atoms.cell.volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3]))))) + 1 for k in range(3)]
    out = {"Si": [], "O": []}
    for shift in itertools.product(*(range(-m, m + 1) for m in n)):
        t = np.asarray(shift) @ cell
        d = np.linalg.norm(atoms.positions + t - atoms.positions[site], axis=1)
        for k, (dist, sym) in enumerate(zip(d, atoms.get_chemical_symbols())):
            if 1e-8 < dist <= r_max:
                out[sym].append(dist)
    return out


def test_diamond_first_shell_is_four_si_at_2_35():
    si = reference_crystal("diamond_si", (1, 1, 1))
    g = site_rdfs(si, [0, 3])
    n = counts_from_g(g["total"], si)
    r = g["r"]
    assert n[:, r < 2.6].sum(axis=1) == pytest.approx([4, 4])
    first = r[np.flatnonzero(n[0])[0]]
    assert first == pytest.approx(2.352, abs=0.02)
    assert np.allclose(g["O"], 0) and np.allclose(g["total"], g["Si"])


def test_quartz_si_o_shell_is_four_o_at_1_61():
    q = reference_crystal("alpha_quartz")
    g = site_rdfs(q, [0])
    n = counts_from_g(g["O"], q)[0]
    assert n[g["r"] < 2.0].sum() == pytest.approx(4)
    assert np.average(g["r"][g["r"] < 2.0], weights=n[g["r"] < 2.0]) == pytest.approx(1.61, abs=0.02)
    nb = neighbour_summary(q, [0, 1, 2], {"Si-O": 2.2, "Si-Si": 2.75})
    assert list(nb["n_o_neighbours"]) == [4, 4, 4] and list(nb["n_si_neighbours"]) == [0, 0, 0]
    assert nb["nearest_o_distance"] == pytest.approx([1.604] * 3, abs=0.002)


@pytest.mark.parametrize("name", ["alpha_quartz", "diamond_si"])
def test_histogram_matches_an_independent_image_sum(name):
    atoms = reference_crystal(name)  # cells smaller than 2 x 5 A: many images contribute
    g = site_rdfs(atoms, [1], r_max=5.0, n_bins=256)
    ref = brute_force_distances(atoms, 1, 5.0)
    for key in ("Si", "O"):
        hist, _ = np.histogram(ref[key], bins=256, range=(0, 5.0))
        assert np.allclose(counts_from_g(g[key][0], atoms), hist)


def test_amorphous_like_cell_tends_to_one():
    rng = np.random.default_rng(0)
    from ase import Atoms

    atoms = Atoms(["Si"] * 400, positions=rng.uniform(0, 20, (400, 3)), cell=[20] * 3, pbc=True)
    g = site_rdfs(atoms, list(range(50)), n_bins=50)
    assert g["total"][:, 25:].mean() == pytest.approx(1.0, abs=0.1)


def test_gaussian_rdf_keeps_the_neighbour_count_and_tends_to_the_histogram():
    q = reference_crystal("alpha_quartz")
    hist = site_rdfs(q, [0])
    smooth = site_rdfs(q, [0], sigma=0.1)
    r = smooth["r"]
    n = counts_from_g(smooth["O"], q)[0]
    assert n[r < 2.3].sum() == pytest.approx(4, abs=1e-3)  # four O at 1.60-1.61 A, tails inside 2.3 A
    assert r[np.argmax(smooth["O"][0])] == pytest.approx(1.61, abs=0.02)
    # a smooth curve: its peak ~ 4 / (4 pi R^2 rho sqrt(2 pi) sigma), far below the histogram's spikes
    assert smooth["O"].max() < 0.25 * hist["O"].max()
    assert np.allclose(site_rdfs(q, [0], sigma=1e-6)["total"], hist["total"], atol=1e-6)  # sigma -> 0: the histogram
    with pytest.raises(ValueError, match="sigma"):
        site_rdfs(q, [0], sigma=-0.1)


def test_gaussian_rdf_counts_neighbours_just_beyond_r_max_in_the_last_bins():
    from ase import Atoms

    pair = Atoms(["Si", "O"], positions=[[0, 0, 0], [5.05, 0, 0]], cell=[30] * 3, pbc=True)  # 0.05 A beyond r_max
    assert np.allclose(site_rdfs(pair, [0])["O"], 0)
    n = counts_from_g(site_rdfs(pair, [0], sigma=0.1)["O"][0], pair)
    assert n.sum() == pytest.approx(0.31, abs=0.01)  # the part of the Gaussian below 5 A: Phi(-0.5)
