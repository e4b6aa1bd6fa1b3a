"""The QE parsers on outputs of the QE 7.x programs that conda-forge ships for the
cluster environment (tests/data/qe7, taken from QE's own reference outputs)."""

import numpy as np
import pytest

from conftest import ROOT
from siox_xanes import RY_TO_EV
from siox_xanes.spectra.ld1 import parse_ld1_energies
from siox_xanes.spectra.qe_files import parse_pw_output, read_xspectra_dat

DATA = ROOT / "tests/data/qe7"


@pytest.mark.parametrize(
    "name, energy_Ry, iterations, fermi_eV, version",
    [
        ("pw_7.3_paw_bn_scf.out", -38.07627606, 14, -0.8226, "PWSCF v.7.3"),
        ("pw_7.5_paw_ni_scf_smearing.out", -421.19444076, 22, 18.5311, "PWSCF v.7.5"),
    ],
)
def test_pw_output_of_qe7(name, energy_Ry, iterations, fermi_eV, version):
    out = parse_pw_output((DATA / name).read_text())
    assert out["converged"] and out["scf_iterations"] == iterations
    assert out["total_energy_eV"] == pytest.approx(energy_Ry * RY_TO_EV, abs=1e-6)
    assert out["fermi_energy_eV"] == pytest.approx(fermi_eV)
    assert out["qe_version"] == version and out["wall_time_s"] > 0


def test_xspectra_output_of_qe7():
    energy, sigma = read_xspectra_dat(DATA / "xspectra_7.0_nio_dipole.dat")
    assert energy[0] == -10.0 and energy[-1] == 20.0 and len(energy) == 300
    assert np.all(np.diff(energy) > 0) and (sigma >= 0).all()
    # spin-polarised file: the total is the column read, the sum of up and down
    table = np.loadtxt(DATA / "xspectra_7.0_nio_dipole.dat", comments="#")
    np.testing.assert_allclose(sigma, table[:, 1])
    np.testing.assert_allclose(table[:, 1], table[:, 2] + table[:, 3], atol=2e-8)
    text = (DATA / "xspectra_7.0_nio_dipole.out").read_text()
    assert "Program XSpectra v.7.0" in text and "Error in routine" not in text


def test_ld1_paw_generation_output():
    energies = parse_ld1_energies((DATA / "ld1_4.2_paw_c_generation.out").read_text())
    assert energies == {"etot_ae_Ry": -75.496826, "etot_ps_Ry": -17.757763}
