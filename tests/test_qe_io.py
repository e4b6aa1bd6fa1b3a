"""QE input writers and output parsers, against recorded outputs of real runs (tests/data/qe)."""

import re

import numpy as np
import pytest
import yaml

from conftest import ROOT
from siox_xanes.spectra.ld1 import (
    add_gipaw_core_orbitals,
    core_wavefunction_text,
    parse_ld1_energies,
    rewrap_long_lines,
    transferability,
    ultrasoft_input,
    with_test_configuration,
    without_generation_date,
)
from siox_xanes.spectra.qe_files import (
    parse_pw_output,
    program_clocks,
    pw_input,
    read_xspectra_dat,
    species_for,
    xspectra_input,
)
from siox_xanes.mpi import without_slurm_step
from siox_xanes.mpi import launch_prefix

DATA = ROOT / "tests/data/qe"
DATASETS = {"Si": "Si.UPF", "O": "O.UPF", "Si_hole": "Sih.UPF"}


def test_pw_input_core_hole_species_first(alpha_quartz):
    text = pw_input(alpha_quartz, prefix="ch", outdir="./out", pseudo_dir="/pp", datasets=DATASETS,
                    ecutwfc=30, ecutrho=240, absorber=1, kpoints=(1, 1, 1))
    species = re.search(r"ATOMIC_SPECIES\n(.*?)CELL_PARAMETERS", text, re.S).group(1).split("\n")
    assert species[0].split() == ["Sih", "28.0855", "Sih.UPF"]
    assert "nat = 9" in text and "ntyp = 3" in text and "ecutrho = 240" in text
    positions = re.search(r"ATOMIC_POSITIONS angstrom\n(.*?)K_POINTS", text, re.S).group(1).split("\n")
    assert [p.split()[0] for p in positions[:3]] == ["Si", "Sih", "Si"]
    assert "occupations = 'smearing'" in text and "tot_charge" not in text  # XCH: neutral cell
    assert text.rstrip().endswith("1 1 1 0 0 0")
    assert "mixing_mode = 'plain'" in text
    tf = pw_input(alpha_quartz, prefix="gs", outdir="./out", pseudo_dir="/pp", datasets=DATASETS, ecutwfc=30,
                  ecutrho=240, mixing_mode="local-TF")
    assert "mixing_mode = 'local-TF'" in tf
    fch = pw_input(alpha_quartz, prefix="ch", outdir="./out", pseudo_dir="/pp", datasets=DATASETS, ecutwfc=30,
                   ecutrho=240, absorber=1, tot_charge=1.0)
    system = re.search(r"&system\n(.*?)\n/", fch, re.S).group(1)
    assert "tot_charge = 1\n" in system + "\n"  # FCH: the excited electron removed
    assert fch.replace("  tot_charge = 1\n", "") == text  # and nothing else differs


def test_settings_take_exactly_their_config_entries():
    from siox_xanes.spectra.calc import ScfSettings, SpectrumSettings

    xanes = {"ecutwfc_Ry": 25, "ecutrho_Ry": 150, "scf_kpoints": [1, 1, 1], "degauss_Ry": 0.005,
             "conv_thr_per_atom": 1e-9, "mixing_beta": [0.4, 0.2], "electron_maxstep": [100, 200],
             "xspectra_kpoints": [1, 1, 1], "gamma_eV": 0.8, "emin_eV": -10, "emax_eV": 50, "n_energy_points": 600,
             "mpi_ranks": 2, "launcher": "auto"}
    scf = ScfSettings.from_mapping(xanes)
    assert scf.scf_kpoints == (1, 1, 1) and scf.mixing_mode == "plain"  # default where the config is silent
    assert scf.attempt(2) == {"mixing_beta": 0.2, "electron_maxstep": 200}
    assert scf.attempt(5) == {"mixing_beta": 0.2, "electron_maxstep": 200}  # past the schedule: its last entry
    assert SpectrumSettings.from_mapping({**xanes, "lanczos_error": 3e-3}).lanczos_error == 3e-3
    with pytest.raises(KeyError, match="ecutrho_Ry"):
        ScfSettings.from_mapping({k: v for k, v in xanes.items() if k != "ecutrho_Ry"})


def test_ground_state_has_no_core_hole_species(diamond_si):
    species, labels = species_for(diamond_si.get_chemical_symbols(), None, DATASETS)
    assert [s.label for s in species] == ["Si"] and set(labels) == {"Si"}
    with pytest.raises(ValueError, match="not Si"):
        species_for(["Si", "O"], 1, DATASETS)


def test_parse_recorded_pw_output():
    r = parse_pw_output((DATA / "pw_scf_alpha_quartz.out").read_text())
    assert r["converged"] and r["scf_iterations"] == 14
    assert r["total_energy_eV"] == pytest.approx(-390.83652163 * 13.605693122994)
    assert r["fermi_energy_eV"] == pytest.approx(5.0724)
    assert r["wall_time_s"] > 0 and r["qe_version"].startswith("PWSCF v.6.")


def test_truncated_pw_output_is_an_error():
    text = (DATA / "pw_scf_alpha_quartz.out").read_text()
    with pytest.raises(ValueError, match="did not finish"):
        parse_pw_output(text[: text.index("!    total energy")])


def test_unconverged_pw_output_is_reported():
    text = (DATA / "pw_scf_alpha_quartz.out").read_text().replace("convergence has been achieved", "convergence NOT achieved")
    assert parse_pw_output(text)["converged"] is False


def test_program_clocks_of_recorded_outputs():
    pw = program_clocks((DATA / "pw_scf_alpha_quartz.out").read_text())
    assert pw == [{"program": "PWSCF", "cpu_s": 11.80, "wall_s": 13.52}]
    # xspectra.x prints no program total; its 'xanes' timer is the whole calculation
    xspectra = program_clocks((ROOT / "tests/data/qe7/xspectra_7.0_nio_dipole.out").read_text())
    assert xspectra == [{"program": "xanes", "cpu_s": 5.77, "wall_s": 5.96}]
    # the per-routine timers of a pw.x output are not program totals
    assert [c["program"] for c in program_clocks((ROOT / "tests/data/qe7/pw_7.3_paw_bn_scf.out").read_text())] == ["PWSCF"]
    long_run = "     PWSCF        :   1h 2m CPU      1h 3m WALL\n     POST-PROC    :   2m 5.50s CPU   2m 9.00s WALL\n"
    assert [(c["cpu_s"], c["wall_s"]) for c in program_clocks(long_run)] == [(3720, 3780), (125.5, 129)]


def test_recorded_xspectra_spectrum():
    e, mu = read_xspectra_dat(DATA / "xspectra_alpha_quartz.dat")
    assert e[0] == pytest.approx(-10.0) and e[-1] == pytest.approx(50.0)
    assert (mu >= 0).all() and 0 < e[np.argmax(mu)] < 10  # white line a few eV above the onset


def test_xspectra_input():
    text = xspectra_input(prefix="ch", outdir="./out", polarisation=(0, 1, 0), save_file="y.sav",
                          core_file="core.wfc", kpoints=(2, 2, 2), gamma_eV=0.8)
    assert "calculation = 'xanes_dipole'" in text and "xepsilon(2) = 1" in text
    assert "xgamma = 0.8" in text and "filecore = 'core.wfc'" in text and "cut_occ_states = .true." in text
    assert "xerror = 0.001" in text
    assert "xerror = 0.003" in xspectra_input(prefix="ch", outdir="./out", polarisation=(0, 1, 0), save_file="y.sav",
                                              core_file="core.wfc", xerror=3e-3)
    assert text.rstrip().endswith("2 2 2 0 0 0")
    shifted = xspectra_input(prefix="ch", outdir="./out", polarisation=(0, 1, 0), save_file="y.sav",
                             core_file="core.wfc", kpoints=(3, 3, 3), kpoint_shift=(1, 1, 1))
    assert shifted.rstrip().endswith("3 3 3 1 1 1")


def test_ld1_energies_and_transferability():
    ref = parse_ld1_energies((DATA / "ld1_O_generation.out").read_text())
    assert ref == {"etot_ae_Ry": -150.004152, "etot_ps_Ry": -41.157258}
    rows = transferability(ref, {"2s1 2p5": {"etot_ae_Ry": -148.905334, "etot_ps_Ry": -40.058403}})
    assert rows[0]["error_mRy"] == pytest.approx(0.037, abs=1e-3)


def test_test_configuration_appended_once():
    gen = " &input\n  iswitch=3\n /\n &inputp\n /\n1\n2S 1 0 2.0 0.0 1.0 1.3 0.0\n"
    text = with_test_configuration(gen, "2s1 2p5")
    assert text.count("&test") == 1 and "configts(1)='2s1 2p5'" in text and "nconf=1" in text
    with pytest.raises(ValueError):
        with_test_configuration(text, "2s2 2p4")


def test_ultrasoft_input_changes_only_the_dataset_kind_and_file():
    paw = (ROOT / "pseudo/O.ld1.in").read_text()
    us = ultrasoft_input(paw, "O.pbe-us.UPF")
    assert "lpaw=.false." in us and "file_pseudopw='O.pbe-us.UPF'" in us
    changed = [(a, b) for a, b in zip(paw.splitlines(), us.splitlines()) if a != b]
    assert len(changed) == 2 and len(us.splitlines()) == len(paw.splitlines())
    with pytest.raises(ValueError, match="lpaw"):
        ultrasoft_input(us, "O2.UPF")  # already ultrasoft: nothing to switch


def test_environment_datasets_keep_the_absorber_paw():
    from siox_xanes.spectra.calc import ScfSettings, datasets_for

    for env in ("paw", "ultrasoft"):
        assert datasets_for(env)["Si_hole"] == "Si_hole.pbe-paw.UPF"
    assert datasets_for("ultrasoft")["O"] == "O.pbe-us.UPF" and datasets_for("paw")["O"] == "O.pbe-paw.UPF"
    with pytest.raises(ValueError, match="environment_pseudopotentials: 'nc'"):
        datasets_for("nc")
    scf = ScfSettings.from_mapping({"ecutwfc_Ry": 25, "ecutrho_Ry": 100, "scf_kpoints": [1, 1, 1], "degauss_Ry": 0.005,
                                    "conv_thr_per_atom": 1e-8, "mixing_beta": [0.4], "electron_maxstep": [100]})
    assert scf.environment_pseudopotentials == "paw"  # all-PAW where the config is silent


def test_rewrap_only_long_numeric_lines():
    long = "  ".join(["1.0"] * 400)
    text = rewrap_long_lines(f'<PP_X attr="a">\n{long}\n</PP_X>\n')
    assert max(len(line) for line in text.splitlines()) < 100
    assert text.split().count("1.0") == 400 and '<PP_X attr="a">' in text


def test_the_generation_date_is_blanked_and_nothing_else():
    """Datasets made on different days are byte-identical (their SHA-256 is in the provenance)."""
    upf = ('<PP_INFO>\n    Generated using "atomic" code by A. Dal Corso  v.6.7MaX\n'
           "    Author: siox_xanes\n    Generation date: 22Nov2026\n</PP_INFO>\n"
           '  <PP_HEADER generated="Generated using \'atomic\' code" author="siox_xanes" date="22Nov2026"\n'
           '   element=" O" pseudo_type="PAW"/>\n')
    day1, day2 = without_generation_date(upf), without_generation_date(upf.replace("22Nov2026", "23Nov2026"))
    assert day1 == day2 and "Nov2026" not in day1
    assert 'date=""' in day1 and "Generation date:\n" in day1
    assert day1.replace('date=""', 'date="22Nov2026"').replace("Generation date:", "Generation date: 22Nov2026") == upf


def test_gipaw_core_orbitals_added():
    upf = '<UPF version="2.0.1">\n  <PP_HEADER mesh_size="4" has_gipaw="false" paw_as_gipaw="false"/>\n</UPF>\n'
    out = add_gipaw_core_orbitals(upf, [("1S", 1, 0, np.arange(4.0))])
    assert 'has_gipaw="true"' in out and 'paw_as_gipaw="true"' in out
    assert re.search(r'<PP_GIPAW_CORE_ORBITAL.1 .*label="1S" n="1" l="0"', out)
    assert out.index("</PP_GIPAW>") < out.index("</UPF>")
    with pytest.raises(ValueError, match="mesh has 4"):
        add_gipaw_core_orbitals(upf, [("1S", 1, 0, np.arange(5.0))])


def test_core_file_layout_is_what_xspectra_reads():
    r = np.linspace(0.01, 1, 5)
    text = core_wavefunction_text(r, [("1S", r**2), ("2S", r)])
    lines = text.splitlines()
    # one header line, then the 1s block (mesh lines of 'r u'), a blank line, the next orbital
    assert lines[0].startswith("#") and len(lines) == 1 + 2 * (5 + 1)
    assert [float(v) for v in lines[1].split()] == pytest.approx([0.01, 1e-4])
    assert lines[6] == ""


def test_mpi_prefix():
    assert launch_prefix("mpirun -np {ranks}", 1, "mpirun -np {ranks}", True) == []
    assert launch_prefix("srun -n {ranks} --cpu-bind=cores", 4, "mpirun -np {ranks}", True) == ["srun", "-n", "4", "--cpu-bind=cores"]
    # 'auto': srun as a job step inside a SLURM allocation, OpenMPI's mpirun elsewhere
    assert launch_prefix("auto", 2, "mpirun -np {ranks}", True, environ={}) == ["mpirun", "-np", "2"]
    assert launch_prefix("auto", 4, "mpirun -np {ranks}", True, environ={"SLURM_JOB_ID": "17"}) == ["srun", "--overlap", "-n", "4"]
    # one meaning of 'auto' for both stages: ranks held as CPUs of one task use the program's own launcher
    assert launch_prefix("auto", 4, "/venv/bin/mpiexec -n {ranks}", False, environ={"SLURM_JOB_ID": "17"}) == ["/venv/bin/mpiexec", "-n", "4"]


def test_singleton_environment_drops_the_slurm_step():
    env = without_slurm_step({"PATH": "/bin", "SLURM_STEP_ID": "0", "SLURM_JOB_ID": "7", "PMIX_RANK": "0", "PMI_FD": "3"})
    assert env == {"PATH": "/bin"}


def test_settings_dataclasses_hold_exactly_the_keys_results_depend_on():
    """layout's key lists are what the rules put into params; the dataclasses that run QE take the same."""
    from dataclasses import fields

    from siox_xanes import layout
    from siox_xanes.spectra.calc import ScfSettings, SpectrumSettings
    from siox_xanes.spectra.pdos import PdosSettings

    assert {f.name for f in fields(ScfSettings)} == set(layout.SCF_KEYS)
    assert {f.name for f in fields(SpectrumSettings)} == set(layout.XSPECTRA_KEYS)
    assert {f.name for f in fields(PdosSettings)} == set(layout.PDOS_KEYS)
    block = yaml.safe_load((ROOT / "config.yaml").read_text())["pdos"]
    assert PdosSettings.from_mapping({k: block[k] for k in layout.PDOS_KEYS}).nscf_kpoints == tuple(block["nscf_kpoints"])
    with pytest.raises(ValueError, match=r"missing \['sigma_eV'\]"):
        PdosSettings.from_mapping({k: block[k] for k in layout.PDOS_KEYS if k != "sigma_eV"})


def test_pdos_inputs_and_parsers_on_a_recorded_nscf_run(tmp_path):
    """spectra/pdos.py against a real non-self-consistent pw.x run (alpha-quartz, 2x2x2, 54 bands,
    fixed occupations) and files laid out as projwfc.x writes them."""
    from siox_xanes.spectra.energy import local_gap
    from siox_xanes.spectra.pdos import (PdosSettings, empty_bands_for, highest_band_eV, highest_occupied_eV,
                                         nscf_input, projwfc_input, read_atom_pdos)
    from siox_xanes.spectra.references import reference_crystal

    out = (DATA / "pw_nscf_alpha_quartz.out").read_text()
    assert highest_occupied_eV(out) == (3.1617, 7.7322)
    reach = highest_band_eV(out) - 3.1617
    assert 15.0 < reach < 40.0  # the 54 bands reach beyond the grid's +15 eV at every k point
    with pytest.raises(ValueError, match="highest occupied level"):
        highest_occupied_eV(out.replace("highest occupied, lowest unoccupied level", "the Fermi energy"))

    atoms = reference_crystal("alpha_quartz")
    assert empty_bands_for(atoms, 15.0) > 24  # 48 valence electrons: 24 occupied bands and more
    scf = pw_input(atoms, prefix="gs", outdir="./out", pseudo_dir="/p", datasets={"Si": "Si.UPF", "O": "O.UPF"},
                   ecutwfc=20, ecutrho=100)
    nscf = nscf_input(scf, 54, (3, 3, 3))
    assert "calculation = 'nscf'" in nscf and "occupations = 'fixed'" in nscf and "nbnd = 54" in nscf
    assert "smearing" not in nscf and "K_POINTS automatic\n  3 3 3 0 0 0" in nscf
    proj = projwfc_input("gs", "./out", 0.5, -20.0, 20.0, 0.05)
    degauss = float(re.search(r"degauss = ([\d.]+)", proj).group(1))
    assert degauss * 13.605693 / np.sqrt(2) == pytest.approx(0.5, rel=1e-4)  # sigma 0.5 eV

    # projwfc.x's files: one per atom and radial function; the ldos column sums over m
    energy = np.linspace(-20, 20, 801)
    for wfc, orbital, columns in ((1, "s", 1), (2, "p", 3), (3, "p", 3)):
        m = np.exp(-((energy - wfc) ** 2)) / np.sqrt(np.pi)
        data = np.column_stack([energy, columns * m, *([m] * columns)])
        np.savetxt(tmp_path / f"pdos.pdos_atm#2(Si)_wfc#{wfc}({orbital})", data, header="E (eV) ldos(E) pdos(E)")
    pdos = read_atom_pdos(tmp_path, 1, "Si")
    assert np.trapezoid(pdos["s"][1], energy) == pytest.approx(1.0, abs=1e-3)
    assert np.trapezoid(pdos["p"][1], energy) == pytest.approx(6.0, abs=1e-3)  # two p functions, 3 m each
    with pytest.raises(ValueError, match="no s PDOS for atom 1"):
        read_atom_pdos(tmp_path, 0, "Si")

    grid = PdosSettings(nscf_kpoints=(1, 1, 1)).grid
    assert len(grid) == 301 and grid[0] == -15.0 and grid[-1] == pytest.approx(15.0)
    p = np.where((grid < -1.0) | (grid > 4.0), 1.0, 0.0)
    assert local_gap(grid, p, 0.05) == pytest.approx((5.2, -1.1, 4.1))
    assert np.isnan(local_gap(grid, np.where(grid < 0, 1.0, 0.0), 0.05)[0])  # no conduction band on the grid
