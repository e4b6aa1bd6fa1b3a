import pytest

from siox_xanes.structures.lattice import density_g_cm3
from siox_xanes.structures.checks import Soundness, bond_list, si_coordination, validate_cell

SOUND = dict(min_fraction_si_fourfold=0.9, max_mean_si_per_o=2.1, max_o_o_bonds=0)

CUT = {"Si-Si": 2.75, "Si-O": 2.2, "O-O": 1.8}


def test_diamond_si_has_four_si_neighbours(diamond_si):
    coord = si_coordination(diamond_si, CUT)
    assert (coord[:, 0] == 4).all() and (coord[:, 1] == 0).all()
    report = validate_cell(diamond_si, CUT, Soundness((2.2, 2.4), **SOUND))
    assert report["mean_bond_length_A"]["Si-Si"] == pytest.approx(2.3517, abs=1e-3)
    assert report["density_g_cm3"] == pytest.approx(2.329, abs=1e-3)
    assert report["si_coordination_classes"] == {"Si4O0": 8}
    assert report["flags"] == []


def test_alpha_quartz_is_fourfold_si_o_without_o_o(alpha_quartz):
    coord = si_coordination(alpha_quartz, CUT)
    assert len(coord) == 3
    assert (coord[:, 1] == 4).all() and (coord[:, 0] == 0).all()
    report = validate_cell(alpha_quartz, CUT, Soundness((2.5, 2.8), **SOUND))
    assert report["bond_counts"] == {"Si-Si": 0, "Si-O": 12, "O-O": 0}
    assert report["mean_bond_length_A"]["Si-O"] == pytest.approx(1.61, abs=0.01)
    assert density_g_cm3(alpha_quartz) == pytest.approx(2.65, abs=0.02)
    assert report["mean_si_per_o"] == 2.0 and report["flags"] == []


def test_o_o_bonds_and_bad_density_are_flagged(alpha_quartz):
    atoms = alpha_quartz.copy()
    o = [a.index for a in atoms if a.symbol == "O"]
    atoms.positions[o[1]] = atoms.positions[o[0]] + [1.3, 0, 0]  # a peroxy-like O-O pair
    report = validate_cell(atoms, CUT, Soundness((2.1, 2.4), **SOUND))
    assert report["bond_counts"]["O-O"] >= 1
    assert any("O-O" in f for f in report["flags"])
    assert any("density" in f for f in report["flags"])


def test_fourfold_and_o_bridging_bounds_are_checked(alpha_quartz):
    """Quartz passes the sound-glass bounds and fails bounds set past its values."""
    atoms = alpha_quartz.repeat((2, 2, 2))
    report = validate_cell(atoms, CUT, Soundness(None, **SOUND))
    assert report["flags"] == []
    strict = validate_cell(atoms, CUT, Soundness(None, min_fraction_si_fourfold=1.01, max_mean_si_per_o=1.9))
    assert any("fourfold" in f for f in strict["flags"]) and any("Si per O" in f for f in strict["flags"])


def test_unknown_pair_in_cutoffs_is_an_error(diamond_si):
    with pytest.raises(ValueError, match="validation.cutoffs"):
        bond_list(diamond_si, {"Si-C": 2.0})
