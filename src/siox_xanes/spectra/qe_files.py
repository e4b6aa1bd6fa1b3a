"""Quantum ESPRESSO files: pw.x, pp.x and xspectra.x inputs; pw.x and xspectra.x outputs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .. import ATOMIC_MASS, RY_TO_EV


@dataclass(frozen=True)
class Species:
    """A pw.x species: label in the input, element, dataset file."""

    label: str
    element: str
    upf: str


def species_for(symbols: list[str], absorber: int | None, datasets: dict[str, str]) -> tuple[list[Species], list[str]]:
    """Species list and per-atom labels; the absorber (an Si index) becomes species 'Sih'.

    ``datasets`` maps 'Si', 'O' and 'Si_hole' to UPF file names. The absorber's
    species is always first, so its index (``xiabs``) is 1.
    """
    labels = list(symbols)
    species = []
    if absorber is not None:
        if symbols[absorber] != "Si":
            raise ValueError(f"absorber atom {absorber} is {symbols[absorber]}, not Si")
        labels[absorber] = "Sih"
        species.append(Species("Sih", "Si", datasets["Si_hole"]))
    for el in ("Si", "O"):
        if el in labels:
            species.append(Species(el, el, datasets[el]))
    return species, labels


def _namelist(name: str, values: dict) -> str:
    def fmt(v):
        if isinstance(v, bool):
            return ".true." if v else ".false."
        if isinstance(v, str):
            return f"'{v}'"
        if isinstance(v, float):
            return f"{v:.10g}".replace("e", "d")
        return str(v)

    body = "\n".join(f"  {k} = {fmt(v)}" for k, v in values.items())
    return f"&{name}\n{body}\n/\n"


def pw_input(atoms, *, prefix: str, outdir: str, pseudo_dir: str, datasets: dict[str, str], ecutwfc: float,
             ecutrho: float, kpoints=(1, 1, 1), absorber: int | None = None, degauss: float = 0.005,
             conv_thr_per_atom: float = 1e-9, mixing_beta: float = 0.4, electron_maxstep: int = 200,
             startingpot: str | None = None, mixing_mode: str = "plain", tot_charge: float = 0.0) -> str:
    """SCF input of ``atoms`` (Angstrom); with ``absorber`` the XCH core-hole SCF of that Si.

    Neutral cell in both cases: the core-hole dataset carries 5 valence
    electrons, so the electron taken from 1s sits in the lowest empty state
    (XCH). Gaussian smearing handles the odd electron counts this gives.
    ``tot_charge`` 1 removes that electron (full core hole, FCH; only
    ``bench/reference_convergence.py --core-hole fch`` asks for it).
    """
    species, labels = species_for(atoms.get_chemical_symbols(), absorber, datasets)
    control = {
        "calculation": "scf",
        "prefix": prefix,
        "outdir": outdir,
        "pseudo_dir": pseudo_dir,
        "disk_io": "low",
        "verbosity": "low",
    }
    system = {
        "ibrav": 0,
        "nat": len(atoms),
        "ntyp": len(species),
        "ecutwfc": float(ecutwfc),
        "ecutrho": float(ecutrho),
        "occupations": "smearing",
        "smearing": "gaussian",
        "degauss": float(degauss),
    }
    if tot_charge:
        system["tot_charge"] = float(tot_charge)
    electrons = {
        "conv_thr": float(conv_thr_per_atom * len(atoms)),
        "mixing_beta": float(mixing_beta),
        "mixing_mode": mixing_mode,
        "electron_maxstep": int(electron_maxstep),
    }
    if startingpot:
        electrons["startingpot"] = startingpot
    lines = [_namelist("control", control), _namelist("system", system), _namelist("electrons", electrons)]
    lines.append("ATOMIC_SPECIES")
    lines += [f"  {s.label} {ATOMIC_MASS[s.element]} {s.upf}" for s in species]
    lines.append("CELL_PARAMETERS angstrom")
    lines += ["  " + "  ".join(f"{v:.10f}" for v in row) for row in np.asarray(atoms.cell)]
    lines.append("ATOMIC_POSITIONS angstrom")
    lines += [f"  {lab} " + "  ".join(f"{v:.10f}" for v in p) for lab, p in zip(labels, atoms.positions)]
    lines.append("K_POINTS automatic")
    lines.append("  " + " ".join(str(int(k)) for k in kpoints) + " 0 0 0")
    return "\n".join(lines) + "\n"


def parse_pw_output(text: str) -> dict:
    """Total energy (eV), convergence, SCF iterations, Fermi energy (eV), wall time (s).

    Raises ValueError when the output has no final energy (run cut short).
    """
    energies = re.findall(r"^!\s+total energy\s+=\s+(-?\d+\.\d+)\s+Ry", text, re.M)
    converged = "convergence has been achieved" in text
    not_converged = "convergence NOT achieved" in text
    iters = re.search(r"convergence has been achieved in\s+(\d+)\s+iterations", text)
    fermi = re.findall(r"the Fermi energy is\s+(-?\d+\.\d+)\s+ev", text)
    wall = [clock["wall_s"] for clock in program_clocks(text) if clock["program"] == "PWSCF"]
    version = re.search(r"Program PWSCF (v\.\S+)", text)
    if not energies and not not_converged:
        raise ValueError("pw.x output has no final total energy ('!    total energy'); the run did not finish")
    return {
        "total_energy_eV": float(energies[-1]) * RY_TO_EV if energies else float("nan"),
        "converged": converged and not not_converged,
        "scf_iterations": int(iters.group(1)) if iters else None,
        "fermi_energy_eV": float(fermi[-1]) if fermi else None,
        "wall_time_s": wall[-1] if wall else None,
        "qe_version": f"PWSCF {version.group(1)}" if version else "unknown",
    }


# The clock line each program prints once at its end (xspectra.x's only total is its 'xanes' timer).
_PROGRAM_CLOCK = re.compile(r"^\s+(PWSCF|POST-PROC|xanes)\s+:\s+(.+?)\s+CPU\s+(.+?)\s+WALL", re.M)


def program_clocks(text: str) -> list[dict]:
    """Each finished pw.x, pp.x or xspectra.x run in a QE output text: program, CPU s, wall s."""
    return [{"program": program, "cpu_s": _qe_seconds(cpu), "wall_s": _qe_seconds(wall)}
            for program, cpu, wall in _PROGRAM_CLOCK.findall(text)]


def _qe_seconds(text: str) -> float:
    """QE clock strings '1m23.45s', '1h 2m', '12.3s' -> seconds."""
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def xspectra_input(*, prefix: str, outdir: str, polarisation: tuple[float, float, float], save_file: str,
                   core_file: str, kpoints=(2, 2, 2), kpoint_shift=(0, 0, 0), gamma_eV: float = 0.8,
                   emin_eV: float = -10.0, emax_eV: float = 50.0, n_energy: int = 1000,
                   xiabs: int = 1, xniter: int = 2000, xerror: float = 0.001) -> str:
    """xspectra.x input: K-edge dipole XANES for one polarisation, Lorentzian ``gamma_eV``.

    Energies are relative to the highest occupied level of the core-hole SCF
    (in XCH: the excited electron's level); ``cut_occ_states`` removes the
    occupied states below it.
    """
    inp = {
        "calculation": "xanes_dipole",
        "edge": "K",
        "prefix": prefix,
        "outdir": outdir,
        "xonly_plot": False,
        "xniter": int(xniter),
        "xcheck_conv": 20,
        "xerror": float(xerror),
        "xiabs": int(xiabs),
        "x_save_file": save_file,
    }
    for i, e in enumerate(polarisation, start=1):
        inp[f"xepsilon({i})"] = float(e)
    plot = {
        "xnepoint": int(n_energy),
        "xgamma": float(gamma_eV),
        "xemin": float(emin_eV),
        "xemax": float(emax_eV),
        "terminator": True,
        "cut_occ_states": True,
    }
    return (
        _namelist("input_xspectra", inp)
        + _namelist("plot", plot)
        + _namelist("pseudos", {"filecore": core_file})
        + _namelist("cut_occ", {"cut_desmooth": 0.1})
        + " ".join(str(int(k)) for k in (*kpoints, *kpoint_shift)) + "\n"
    )


def read_xspectra_dat(path) -> tuple[np.ndarray, np.ndarray]:
    """Energy (eV, relative) and total cross-section from xspectra's ``xanes.dat``."""
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.shape[1] < 2 or len(data) < 2:
        raise ValueError(f"{path}: expected columns energy, sigma; got shape {data.shape}")
    return data[:, 0], data[:, 1]


def pp_input(prefix: str, outdir: str, plot_num: int, cube: str) -> str:
    """pp.x input writing density ``plot_num`` of a finished SCF as a 3D cube file."""
    return (
        f"&inputpp\n  prefix = '{prefix}'\n  outdir = '{outdir}'\n  filplot = 'plot{plot_num}.dat'\n"
        f"  plot_num = {plot_num}\n/\n&plot\n  nfile = 1\n  iflag = 3\n  output_format = 6\n"
        f"  fileout = '{cube}'\n/\n"
    )
