import numpy as np
import pytest

from siox_xanes.spectra.energy import atomic_correction_eV, edge_energy, global_shift, main_peak, mean_spectrum, to_grid
from siox_xanes.spectra.sites import select_sites


def test_site_selection_is_reproducible_and_within_range():
    a = select_sites(20, 3, 0, "x0.00_seed1")
    assert a == select_sites(20, 3, 0, "x0.00_seed1") and len(set(a)) == 3 and max(a) < 20
    assert select_sites(20, "all", 0, "x") == list(range(20))
    assert select_sites(5, 10, 0, "x") == list(range(5))
    assert {tuple(select_sites(20, 3, 0, f"x0.00_seed{s}")) for s in range(5)} != {tuple(a)}


def test_more_sites_per_cell_keep_the_sites_already_chosen():
    for cell in ("x1.00_seed1", "x0.25_seed3", "ref_alpha_quartz"):
        chosen = [set(select_sites(40, k, 0, cell)) for k in range(1, 41)]
        assert all(a < b for a, b in zip(chosen, chosen[1:]))
    # pinned: the choice is part of every finished run's identity and must not drift
    assert select_sites(20, 3, 0, "x0.00_seed1") == select_sites(20, 3, 0, "x0.00_seed1")


def test_atomic_correction():
    ground = {"etot_ae_Ry": -579.674871, "etot_ps_Ry": -46.329007}
    hole = {"etot_ae_Ry": -442.845440, "etot_ps_Ry": -42.496533}
    assert atomic_correction_eV(ground, hole) == pytest.approx(132.996957 * 13.605693122994, abs=1e-4)


def lorentz(e, e0, g=0.8):
    return g / ((e - e0) ** 2 + g**2)


def test_main_peak_and_shift():
    e = np.linspace(1850, 1900, 2001)
    mu = lorentz(e, 1858.0) + 0.3 * lorentz(e, 1885.0, 0.2)  # a sharper feature beyond the window
    assert main_peak(e, mu, 1852.0, 20.0) == pytest.approx(1858.0, abs=0.03)
    # a first peak at half the height of a later maximum is the main peak (Si-like edge)
    e_si = np.linspace(1835, 1865, 1501)
    si_like = 0.5 * lorentz(e_si, 1842.0) + lorentz(e_si, 1847.0)
    assert main_peak(e_si, si_like, 1838.0, 20.0) == pytest.approx(1842.0, abs=0.03)
    # a small shoulder before the white line is not
    shoulder = 0.2 * lorentz(e, 1855.0) + lorentz(e, 1858.0)
    assert main_peak(e, shoulder, 1852.0, 20.0) == pytest.approx(1858.0, abs=0.03)
    shift, peak = global_shift([(e, mu)], [1852.0], 1846.0, 20.0)
    assert peak == pytest.approx(1858.0, abs=0.05) and shift == pytest.approx(-12.0, abs=0.05)


def test_edge_is_the_steepest_rise_below_the_main_peak():
    e = np.linspace(1850, 1900, 2001)
    # a Lorentzian of half-width g rises fastest g / sqrt(3) below its top; a steeper rise
    # above the peak (a later, sharper feature) is not the edge
    mu = lorentz(e, 1858.0) + 0.3 * lorentz(e, 1862.0, 0.2)
    assert edge_energy(e, mu, 1858.0) == pytest.approx(1858.0 - 0.8 / np.sqrt(3), abs=0.02)
    # an arctan step under the peak: its middle, where the step is steepest
    step = 0.5 + np.arctan((e - 1855.0) / 0.3) / np.pi + 0.2 * lorentz(e, 1858.0)
    assert edge_energy(e, step, 1858.0) == pytest.approx(1855.0, abs=0.05)
    # on the dataset's coarse grid (256 points over 50 eV) the edge still falls between grid points
    coarse = np.linspace(1830, 1880, 256)
    assert edge_energy(coarse, lorentz(coarse, 1846.13), 1846.13) == pytest.approx(
        1846.13 - 0.8 / np.sqrt(3), abs=0.03)
    with pytest.raises(ValueError, match="above the edge search"):
        edge_energy(e, mu, 1852.0)


def test_mean_spectrum_uses_common_range():
    e1, e2 = np.linspace(0, 10, 101), np.linspace(2, 12, 101)
    grid, mu = mean_spectrum([(e1, np.ones_like(e1)), (e2, 3 * np.ones_like(e2))])
    assert grid[0] == pytest.approx(2) and grid[-1] < 10 and np.allclose(mu, 2)


def test_to_grid():
    e = np.linspace(1835, 1890, 500)
    grid = np.linspace(1830, 1880, 256)
    out = to_grid(e, lorentz(e, 1846), grid)
    assert out[0] == 0.0 and grid[np.argmax(out)] == pytest.approx(1846, abs=0.2)
    with pytest.raises(ValueError, match="raise xanes.emax_eV"):
        to_grid(np.linspace(1835, 1870, 100), np.ones(100), grid)
    with pytest.raises(ValueError, match="NaN"):
        to_grid(e, np.full(500, np.nan), grid)
    with pytest.raises(ValueError, match="increasing"):
        to_grid(e[::-1], np.ones(500), grid)


def test_scratch_folder_is_removed_when_the_job_is_terminated(tmp_path):
    """SLURM ends a job past its time limit with SIGTERM: the core-hole job's scratch
    (wavefunctions, save directories) must go with it, the running QE program too."""
    import os
    import signal
    import subprocess
    import sys

    child = (
        "import subprocess\n"
        "from siox_xanes.spectra.calc import scratch_dir\n"
        "with scratch_dir('ch-') as tmp:\n"
        "    open(tmp + '/ch.wfc1', 'w').write('x')\n"
        "    print(tmp, flush=True)\n"
        "    subprocess.run(['sleep', '60'])\n"
    )
    env = {**os.environ, "SIOX_SCRATCH": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True, env=env)
    scratch = proc.stdout.readline().strip()
    assert os.path.isdir(scratch) and scratch.startswith(str(tmp_path))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert not os.path.exists(scratch)
    assert list(tmp_path.iterdir()) == []


def test_the_cell_pdos_rule_script_calls_the_engine_with_its_signature(tmp_path, monkeypatch, alpha_quartz):
    """scripts/cell_pdos.py against the real cell_pdos signature (its argument order once drifted,
    and every medium cell's PDOS job then failed before any DFT): the call must bind, with the
    settings and the datasets' folder in their places."""
    import inspect
    import logging
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    import yaml

    from conftest import ROOT
    from siox_xanes import joblog, layout
    from siox_xanes.spectra import pdos as pdos_module
    from siox_xanes.spectra.calc import ScfSettings

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    structure = tmp_path / "quenched.extxyz"
    alpha_quartz.write(structure, format="extxyz")
    seen = {}

    class Bound(Exception):
        pass

    def recording(*args, **kwargs):
        seen["call"] = inspect.signature(real).bind(*args, **kwargs).arguments
        raise Bound

    real = pdos_module.cell_pdos
    monkeypatch.setattr(pdos_module, "cell_pdos", recording)
    monkeypatch.setattr(joblog, "start", lambda smk: logging.getLogger("cell_pdos"))
    pdos = {k: config["pdos"][k] for k in layout.PDOS_KEYS}
    smk = SimpleNamespace(
        wildcards=SimpleNamespace(cell="x2.00_seed1"), input=SimpleNamespace(structure=str(structure),
                                                                               pseudo=[str(tmp_path / "Si.pbe-paw.UPF")]),
        resources=SimpleNamespace(scf_attempt=2, tasks=1), config=config,
        params=SimpleNamespace(scf={k: config["xanes"][k] for k in layout.SCF_KEYS if k in config["xanes"]},
                               pdos={**pdos, "nscf_kpoints": [2, 2, 2]}),
        log=SimpleNamespace(qe=str(tmp_path / "qe.txt")), output=SimpleNamespace(pdos=str(tmp_path / "pdos.nc")))
    with pytest.raises(Bound):
        runpy.run_path(str(ROOT / "scripts/cell_pdos.py"), init_globals={"snakemake": smk})
    call = seen["call"]
    assert isinstance(call["scf"], ScfSettings) and call["scf"].environment_pseudopotentials == "paw"
    assert isinstance(call["pdos"], pdos_module.PdosSettings) and call["pdos"].nscf_kpoints == (2, 2, 2)
    assert Path(call["pseudo_dir"]) == tmp_path and call["attempt"] == 2 and len(call["atoms"]) == 9
