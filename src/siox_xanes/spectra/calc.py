"""One cell's QE calculations: ground state (+ densities for Bader) and one core-hole site."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path

import numpy as np

from ..layout import PAW_DATASETS, ULTRASOFT_DATASETS
from .programs import QEError, run_qe
from .qe_files import parse_pw_output, pp_input, pw_input, read_xspectra_dat, xspectra_input

DATASETS = PAW_DATASETS
# Datasets of the atoms other than the absorber (xanes.environment_pseudopotentials). xspectra.x
# needs PAW data for the absorber alone; ultrasoft O and Si around it, made from the same ld1.x
# inputs, skip the one-centre PAW terms of every other atom: less than half the CPU time of a site,
# spectra within 0.81 % of the peak and Delta-SCF within 7 meV of all-PAW at x = 0.5, 1 and 1.75
# (bench/qe_site_settings.py).
ENVIRONMENT_DATASETS = {
    "paw": DATASETS,
    "ultrasoft": {**DATASETS, **ULTRASOFT_DATASETS},
}


def datasets_for(environment: str) -> dict[str, str]:
    """Dataset file of each species for an environment ('paw' or 'ultrasoft')."""
    try:
        return ENVIRONMENT_DATASETS[environment]
    except KeyError:
        raise ValueError(f"environment_pseudopotentials: {environment!r}, expected one of "
                         f"{sorted(ENVIRONMENT_DATASETS)}") from None


POLARISATIONS = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


@contextmanager
def scratch_dir(prefix: str):
    """Temporary folder for wavefunctions and save directories (node-local $TMPDIR on clusters).

    Removed however the job ends, SIGTERM included: SLURM sends it at a time limit
    (and Snakemake to its jobs when stopped), and Python's default action for it
    exits without unwinding, which left a core-hole job's save directories behind.
    """
    with terminate_as_exit(), tempfile.TemporaryDirectory(prefix=prefix, dir=os.environ.get("SIOX_SCRATCH") or None) as tmp:
        yield tmp


@contextmanager
def terminate_as_exit():
    """Turn SIGTERM into SystemExit(143) while inside, so ``with``/``finally`` blocks run.

    subprocess.run kills its child on the way out. Outside the main thread, where
    Python cannot set handlers, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _from_mapping(cls, values: dict):
    """A settings dataclass from exactly its fields' entries of ``values`` (a config block)."""
    required = [f.name for f in fields(cls) if f.default is MISSING]
    missing = [n for n in required if n not in values]
    if missing:
        raise KeyError(f"{cls.__name__}: missing settings {missing}")
    given = [f.name for f in fields(cls) if f.name in values]
    return cls(**{n: tuple(values[n]) if isinstance(values[n], list) else values[n] for n in given})


@dataclass(frozen=True)
class ScfSettings:
    """What a pw.x SCF result depends on: cut-offs, k-points, smearing, convergence, and
    the mixing and iteration limit of each attempt (Snakemake retries go down the lists)."""

    ecutwfc_Ry: float
    ecutrho_Ry: float
    scf_kpoints: tuple[int, int, int]
    degauss_Ry: float
    conv_thr_per_atom: float
    mixing_beta: tuple[float, ...]
    electron_maxstep: tuple[int, ...]
    mixing_mode: str = "plain"  # pw.x: 'local-TF' suits inhomogeneous cells
    environment_pseudopotentials: str = "paw"  # datasets of the non-absorbing atoms (ENVIRONMENT_DATASETS)

    @classmethod
    def from_mapping(cls, values: dict) -> "ScfSettings":
        return _from_mapping(cls, values)

    def attempt(self, attempt: int) -> dict:
        """SCF mixing and iteration limit for Snakemake attempt ``attempt`` (1-based)."""
        i = min(attempt, len(self.mixing_beta)) - 1  # the config check makes both lists equally long
        return {"mixing_beta": self.mixing_beta[i], "electron_maxstep": self.electron_maxstep[i]}


@dataclass(frozen=True)
class SpectrumSettings:
    """What xspectra.x's spectrum depends on beyond the SCF: k mesh, broadening, energy range."""

    xspectra_kpoints: tuple[int, int, int]
    gamma_eV: float
    emin_eV: float
    emax_eV: float
    n_energy_points: int
    lanczos_error: float = 1e-3  # xspectra's xerror: Lanczos stops at this estimated relative error
    # 1 along an axis: the Monkhorst-Pack mesh offset by half a step (no Gamma point). xspectra.x
    # uses no time-reversal symmetry: a shifted mesh costs as many k points as an unshifted one.
    xspectra_kpoint_shift: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def from_mapping(cls, values: dict) -> "SpectrumSettings":
        return _from_mapping(cls, values)


@dataclass(frozen=True)
class Launch:
    """How QE's MPI ranks are started (never part of a result)."""

    ranks: int = 1
    launcher: str = "auto"


# What a later SCF needs to start from this one's density (no wavefunctions).
DENSITY_FILES = ("charge-density.dat", "data-file-schema.xml", "paw.txt")  # paw.txt: PAW becsum


def run_scf(atoms, scf: ScfSettings, pseudo_dir: Path, work: Path, prefix: str, attempt: int, launch: Launch,
            absorber=None, startingpot: str | None = None, tot_charge: float = 0.0) -> dict:
    """pw.x SCF; raises QEError naming the output when it did not converge."""
    text = pw_input(
        atoms, prefix=prefix, outdir="./out", pseudo_dir=str(Path(pseudo_dir).resolve()),
        datasets=datasets_for(scf.environment_pseudopotentials),
        ecutwfc=scf.ecutwfc_Ry, ecutrho=scf.ecutrho_Ry, kpoints=scf.scf_kpoints,
        absorber=absorber, degauss=scf.degauss_Ry, conv_thr_per_atom=scf.conv_thr_per_atom,
        startingpot=startingpot, mixing_mode=scf.mixing_mode, tot_charge=tot_charge, **scf.attempt(attempt),
    )
    out = run_qe("pw.x", text, work, f"{prefix}.out", launch.ranks, launch.launcher)
    result = parse_pw_output(out)
    if not result["converged"]:
        raise QEError(f"pw.x SCF not converged (attempt {attempt}); see {work / (prefix + '.out')}")
    result["attempt"] = attempt
    return result


def _kept(keep: Path | None) -> str:
    return f" (QE outputs in {keep})" if keep is not None else ""


def _keep_outputs(work: Path, keep: Path | None) -> None:
    """The QE text outputs of a scratch folder, in the order they were written, as one
    file (a declared log of the job), so that they outlive the scratch folder."""
    if keep is None:
        return
    outputs = sorted(work.glob("*.out"), key=lambda f: f.stat().st_mtime)
    Path(keep).parent.mkdir(parents=True, exist_ok=True)
    with open(keep, "w") as fh:
        for f in outputs:
            fh.write(f"===== {f.name} =====\n{f.read_text(errors='replace')}\n")


def ground_state(atoms, scf: ScfSettings, pseudo_dir: Path, rho_valence: Path, rho_all_electron: Path, attempt: int,
                 launch: Launch, keep: Path | None = None, density_dir: Path | None = None) -> dict:
    """Ground-state SCF, then the valence and PAW all-electron densities as cube files.

    The densities (for Bader) always come from an all-PAW SCF. With an ultrasoft
    environment a second SCF with the sites' datasets gives the energy that the
    sites' Delta-SCF is taken against (returned, with the PAW SCF's summary under
    'paw_scf'). With ``density_dir`` (all-PAW only: the core-hole SCF needs PAW
    occupations for its absorber) the converged density is also kept there, for
    the core-hole SCFs of this cell to start from.
    """
    all_paw = replace(scf, environment_pseudopotentials="paw")
    if density_dir is not None and scf != all_paw:
        raise ValueError("ground_state: density_dir needs environment_pseudopotentials 'paw'")
    with scratch_dir("gs-") as tmp:
        work = Path(tmp)
        try:
            result = run_scf(atoms, all_paw, pseudo_dir, work, "gs", attempt, launch)
            for plot_num, dest in ((0, rho_valence), (21, rho_all_electron)):
                run_qe("pp.x", pp_input("gs", "./out", plot_num, f"rho{plot_num}.cube"), work, f"pp{plot_num}.out",
                       launch.ranks, launch.launcher)
                shutil.move(work / f"rho{plot_num}.cube", dest)
            if scf != all_paw:
                result = {**run_scf(atoms, scf, pseudo_dir, work, "gs_env", attempt, launch), "paw_scf": result}
            if density_dir is not None:
                Path(density_dir).mkdir(parents=True, exist_ok=True)
                for name in DENSITY_FILES:
                    shutil.copy(work / "out/gs.save" / name, Path(density_dir) / name)
        except QEError as exc:
            raise QEError(f"{exc}{_kept(keep)}") from exc
        finally:
            _keep_outputs(work, keep)
    return result


def xspectra_polarisations(work: Path, prefix: str, spectrum: SpectrumSettings, launch: Launch,
                           polarisations: tuple[str, ...] = tuple(POLARISATIONS)) -> tuple[np.ndarray, dict]:
    """xspectra.x on a finished core-hole SCF in ``work`` (its save directory and ``core.wfc``)
    for the x, y and z polarisations (or those named in ``polarisations``): (relative energies,
    {polarisation: cross-section}).

    Each call is independent of the last, so one SCF can serve several k meshes."""
    columns, energy = {}, None
    for name in polarisations:
        eps = POLARISATIONS[name]
        text = xspectra_input(
            prefix=prefix, outdir="./out", polarisation=eps, save_file=f"{name}.sav",
            core_file="core.wfc", kpoints=spectrum.xspectra_kpoints, kpoint_shift=spectrum.xspectra_kpoint_shift,
            gamma_eV=spectrum.gamma_eV, emin_eV=spectrum.emin_eV, emax_eV=spectrum.emax_eV,
            n_energy=spectrum.n_energy_points, xerror=spectrum.lanczos_error,
        )
        run_qe("xspectra.x", text, work, f"xspectra_{name}.out", launch.ranks, launch.launcher)
        e, mu = read_xspectra_dat(work / "xanes.dat")
        if energy is not None and not np.allclose(e, energy):
            raise QEError(f"xspectra.x gave different energy grids per polarisation in {work}")
        energy, columns[name] = e, mu
        (work / "xanes.dat").rename(work / f"{name}.dat")
    return energy, columns


def core_hole_site(atoms, site: int, scf: ScfSettings, spectrum: SpectrumSettings, pseudo_dir: Path, core_file: Path,
                   attempt: int, launch: Launch, keep: Path | None = None, start_density: Path | None = None,
                   tot_charge: float = 0.0) -> dict:
    """XCH SCF with Si ``site`` as absorber, then xspectra.x for x, y and z polarisations.

    With ``start_density`` (a ground-state density kept by ``ground_state``)
    the SCF starts from it instead of from atomic densities (on a 24-atom SiO
    cell this saved no iterations: 16 either way). ``tot_charge`` 1 makes it a
    full core hole (FCH) instead. Returns the SCF summary and the spectrum
    (relative energies, one column per polarisation and their mean).
    """
    with scratch_dir("ch-") as tmp:
        work = Path(tmp)
        try:
            startingpot = None
            if start_density is not None:
                shutil.copytree(start_density, work / "out/ch.save")
                startingpot = "file"
            result = run_scf(atoms, scf, pseudo_dir, work, "ch", attempt, launch, absorber=site, startingpot=startingpot,
                             tot_charge=tot_charge)
            shutil.copy(core_file, work / "core.wfc")
            energy, columns = xspectra_polarisations(work, "ch", spectrum, launch)
        except QEError as exc:
            raise QEError(f"site {site}: {exc}{_kept(keep)}") from exc
        finally:
            _keep_outputs(work, keep)
    mean = np.mean([columns[k] for k in POLARISATIONS], axis=0)
    bad = [k for k, v in {**columns, "mean": mean}.items() if not np.isfinite(v).all() or (v < -1e-8).any()]
    if bad:
        raise QEError(f"xspectra.x spectrum with NaN or negative values ({', '.join(bad)}) for site {site}")
    return {"scf": result, "energy_rel_eV": energy, "mu": columns, "mu_mean": mean}
