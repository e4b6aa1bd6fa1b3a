"""Ground-state s and p PDOS of every Si atom of a cell (seed 004's target), and its local gap.

Per cell: the all-PAW ground-state SCF (the cell's own SCF mesh), a non-self-consistent run on
the PDOS mesh with enough empty bands to reach ``empty_eV`` above the highest occupied level, and
projwfc.x (Löwdin projections, Gaussian broadening). Each Si atom's s and p PDOS (summed over m)
go onto one grid relative to the cell's highest occupied level (seed 004 used the Fermi level; in
an insulator that lies somewhere in the gap, the highest occupied level does not).

The broadening: projwfc.x's ``degauss`` is the width w of exp(-(E/w)^2)/(sqrt(pi) w), a Gaussian
of standard deviation w / sqrt(2); ``sigma_eV`` is that standard deviation (seed 004: 0.5 eV).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ase.units import Bohr

from .. import RY_TO_EV
from ..layout import VALENCE_ELECTRONS
from .calc import Launch, ScfSettings, _keep_outputs, _kept, run_scf, scratch_dir
from .energy import local_gap
from .programs import QEError, run_qe
from .qe_files import program_clocks

ORBITALS = ("s", "p")


@dataclass(frozen=True)
class PdosSettings:
    """What a cell's PDOS depends on beyond its SCF."""

    nscf_kpoints: tuple[int, int, int]
    sigma_eV: float = 0.5
    emin_eV: float = -15.0           # grid, relative to the highest occupied level
    emax_eV: float = 15.0
    step_eV: float = 0.1
    empty_eV: float = 15.0           # the empty bands must reach this far above it
    gap_threshold: float = 0.05      # states/eV per Si atom: where the p PDOS counts as a band edge

    @classmethod
    def from_mapping(cls, values: dict) -> "PdosSettings":
        """From the rule's params (``layout.PDOS_KEYS``); a missing or unknown key is an error naming it."""
        from ..layout import PDOS_KEYS

        missing, unknown = set(PDOS_KEYS) - set(values), set(values) - set(PDOS_KEYS)
        if missing or unknown:
            raise ValueError(f"pdos settings: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return cls(nscf_kpoints=tuple(int(k) for k in values["nscf_kpoints"]),
                   **{k: float(values[k]) for k in PDOS_KEYS if k != "nscf_kpoints"})

    @property
    def grid(self) -> np.ndarray:
        n = int(round((self.emax_eV - self.emin_eV) / self.step_eV)) + 1
        return self.emin_eV + self.step_eV * np.arange(n)


def empty_bands_for(atoms, empty_eV: float) -> int:
    """Bands for the non-self-consistent run: the occupied ones plus a free-electron estimate of the
    states up to ``empty_eV`` above the valence band (volume x (2mE)^(3/2) / (6 pi^2 hbar^3)), doubled
    for the margin the check after the run asks for."""
    occupied = math.ceil(sum(VALENCE_ELECTRONS[s] for s in atoms.get_chemical_symbols()) / 2)
    e_ha = empty_eV / (2 * RY_TO_EV)
    volume_bohr3 = atoms.cell.volume / Bohr**3
    free = volume_bohr3 * (2 * e_ha) ** 1.5 / (6 * math.pi**2)
    return occupied + max(8, int(math.ceil(2 * free)))


def nscf_input(scf_text: str, nbnd: int, kpoints) -> str:
    """The non-self-consistent input from an SCF input of the same cell: fixed occupations (the
    highest occupied level is then printed), ``nbnd`` bands, the PDOS k mesh."""
    text = scf_text.replace("calculation = 'scf'", "calculation = 'nscf'")
    text = re.sub(r"  occupations = 'smearing'\n  smearing = 'gaussian'\n  degauss = [^\n]+\n",
                  f"  occupations = 'fixed'\n  nbnd = {int(nbnd)}\n", text)
    text = re.sub(r"K_POINTS automatic\n[^\n]+\n", "K_POINTS automatic\n  " + " ".join(str(int(k)) for k in kpoints)
                  + " 0 0 0\n", text)
    if "nbnd" not in text or "'nscf'" not in text:
        raise ValueError("nscf_input: the SCF input did not have the expected smearing block")
    return text


def projwfc_input(prefix: str, outdir: str, sigma_eV: float, emin_eV: float, emax_eV: float, step_eV: float) -> str:
    """projwfc.x on absolute energies (eV), Gaussian of standard deviation ``sigma_eV``."""
    degauss_ry = sigma_eV * math.sqrt(2) / RY_TO_EV
    return (f"&projwfc\n  prefix = '{prefix}'\n  outdir = '{outdir}'\n  filpdos = 'pdos'\n  ngauss = 0\n"
            f"  degauss = {degauss_ry:.8f}\n  Emin = {emin_eV:.4f}\n  Emax = {emax_eV:.4f}\n  DeltaE = {step_eV:.4f}\n/\n")


def highest_occupied_eV(nscf_output: str) -> tuple[float, float | None]:
    """Highest occupied and lowest unoccupied levels (eV) of a fixed-occupation pw.x run."""
    both = re.findall(r"highest occupied, lowest unoccupied level \(ev\):\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)", nscf_output)
    if both:
        return float(both[-1][0]), float(both[-1][1])
    one = re.findall(r"highest occupied level \(ev\):\s+(-?\d+\.\d+)", nscf_output)
    if not one:
        raise ValueError("pw.x output states no highest occupied level (not a fixed-occupation run?)")
    return float(one[-1]), None


def highest_band_eV(nscf_output: str) -> float:
    """The lowest, over k points, of the highest band's energy: how far up the bands reach everywhere."""
    tops = []
    for chunk in nscf_output.split("bands (ev):")[1:]:
        body = re.split(r"\n\s*\n", chunk.lstrip(" \n"), maxsplit=1)[0]  # the values, up to the blank line
        values = [float(v) for v in re.findall(r"-?\d+\.\d+", body)]
        if values:
            tops.append(max(values))
    if not tops:
        raise ValueError("pw.x output lists no band energies (verbosity too low?)")
    return min(tops)


def read_atom_pdos(folder: Path, atom: int, element: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """orbital -> (energy eV, PDOS summed over m) of atom ``atom`` (0-based) from projwfc's files."""
    out = {}
    for orbital in ORBITALS:
        files = sorted(Path(folder).glob(f"pdos.pdos_atm#{atom + 1}({element})_wfc#*({orbital})"))
        if not files:
            raise ValueError(f"projwfc wrote no {orbital} PDOS for atom {atom + 1} ({element}) in {folder}")
        total = None
        for f in files:  # one file per radial function of that l (PAW datasets may carry two)
            data = np.loadtxt(f, comments="#", ndmin=2)
            total = data[:, 1] if total is None else total + data[:, 1]
        out[orbital] = (data[:, 0], total)
    return out


def _nscf_and_projections(work: Path, atoms, pdos: PdosSettings, launch: Launch) -> dict:
    """From the finished SCF in ``work`` (prefix gs): the non-self-consistent run on ``pdos``'s mesh,
    projwfc.x, every Si atom's s and p PDOS on the grid and its local gap. The SCF density is not
    changed by it, so another mesh may follow in the same folder."""
    symbols = atoms.get_chemical_symbols()
    si = [i for i, s in enumerate(symbols) if s == "Si"]
    nbnd = empty_bands_for(atoms, pdos.empty_eV)
    scf_text = (work / "gs.in").read_text().replace("verbosity = 'low'", "verbosity = 'high'")
    out = run_qe("pw.x", nscf_input(scf_text, nbnd, pdos.nscf_kpoints), work, "nscf.out", launch.ranks, launch.launcher)
    nscf_cpu = sum(c["cpu_s"] for c in program_clocks(out) if c["program"] == "PWSCF")
    homo, lumo = highest_occupied_eV(out)
    reach = highest_band_eV(out) - homo
    if reach < pdos.empty_eV + 3 * pdos.sigma_eV:
        raise QEError(f"nscf: {nbnd} bands reach {reach:.1f} eV above the highest occupied level, "
                      f"fewer than the {pdos.empty_eV + 3 * pdos.sigma_eV:.1f} eV the PDOS grid needs")
    for old in work.glob("pdos.pdos_*"):
        old.unlink()
    pad = 5 * pdos.sigma_eV
    run_qe("projwfc.x", projwfc_input("gs", "./out", pdos.sigma_eV, homo + pdos.emin_eV - pad,
                                      homo + pdos.emax_eV + pad, pdos.step_eV / 2),
           work, "projwfc.out", launch.ranks, launch.launcher)
    grid = pdos.grid
    values = {o: np.zeros((len(si), len(grid))) for o in ORBITALS}
    for row, atom in enumerate(si):
        for orbital, (energy, curve) in read_atom_pdos(work, atom, "Si").items():
            values[orbital][row] = np.interp(grid, energy - homo, curve)
    gaps = np.array([local_gap(grid, p, pdos.gap_threshold) for p in values["p"]])
    return {"si_atoms": si, "energy_eV": grid, "pdos_s": values["s"], "pdos_p": values["p"],
            "local_gap_eV": gaps[:, 0], "valence_edge_eV": gaps[:, 1], "conduction_edge_eV": gaps[:, 2],
            "highest_occupied_eV": homo, "lowest_unoccupied_eV": lumo, "nbnd": nbnd, "bands_reach_eV": reach,
            "nscf_kpoints": list(pdos.nscf_kpoints), "nscf_cpu_s": nscf_cpu}


def cell_pdos(atoms, scf: ScfSettings, pdos: PdosSettings | list[PdosSettings], pseudo_dir: Path, attempt: int,
              launch: Launch, keep: Path | None = None, on_result=None):
    """Every Si atom's s and p PDOS on ``pdos.grid`` (relative to the highest occupied level) and its
    local gap, from one all-PAW SCF; a list of settings (other meshes) gives a list of results from
    that one SCF, each handed to ``on_result(settings, result)`` as soon as it is done. Raises QEError
    when the empty bands do not reach ``empty_eV`` above that level."""
    with scratch_dir("pdos-") as tmp:
        work = Path(tmp)
        try:
            run_scf(atoms, replace(scf, environment_pseudopotentials="paw"), pseudo_dir, work, "gs", attempt, launch)
            results = []
            for p in pdos if isinstance(pdos, list) else [pdos]:
                results.append(_nscf_and_projections(work, atoms, p, launch))
                if on_result is not None:
                    on_result(p, results[-1])
        except QEError as exc:
            raise QEError(f"{exc}{_kept(keep)}") from exc
        finally:
            _keep_outputs(work, keep)
    return results if isinstance(pdos, list) else results[0]


def pdos_dataset(result: dict, cell: str, pdos: PdosSettings):
    """One cell's result of :func:`cell_pdos` as a self-describing dataset (dimension ``si``: its Si
    atoms; ``pdos_energy``: the grid relative to the highest occupied level)."""
    import xarray as xr

    per_ev = {"units": "states/eV", "comment": f"Löwdin projection (projwfc.x), summed over m, Gaussian sigma {pdos.sigma_eV:g} eV"}
    edge = {"units": "eV", "threshold_states_per_eV": pdos.gap_threshold,
            "comment": f"p PDOS reaching {pdos.gap_threshold:g} states/eV, relative to the highest occupied level"}
    return xr.Dataset(
        {
            "pdos_s": (("si", "pdos_energy"), result["pdos_s"], {"long_name": "s PDOS of the Si atom", **per_ev}),
            "pdos_p": (("si", "pdos_energy"), result["pdos_p"], {"long_name": "p PDOS of the Si atom", **per_ev}),
            "local_gap": ("si", result["local_gap_eV"], {"long_name": "local gap of the Si atom's p PDOS", **edge}),
            "valence_edge": ("si", result["valence_edge_eV"], {"long_name": "highest p-PDOS edge at or below 0", **edge}),
            "conduction_edge": ("si", result["conduction_edge_eV"], {"long_name": "lowest p-PDOS edge above 0", **edge}),
        },
        coords={"atom_index": ("si", np.asarray(result["si_atoms"], int), {"long_name": "index of the Si in its cell"}),
                "pdos_energy": ("pdos_energy", result["energy_eV"],
                                {"units": "eV", "long_name": "energy relative to the cell's highest occupied level"})},
        attrs={"cell": cell, "highest_occupied_eV": result["highest_occupied_eV"],
               "lowest_unoccupied_eV": np.nan if result["lowest_unoccupied_eV"] is None else result["lowest_unoccupied_eV"],
               "nbnd": result["nbnd"], "bands_reach_eV": result["bands_reach_eV"],
               "nscf_kpoints": list(result["nscf_kpoints"]), "nscf_cpu_s": result["nscf_cpu_s"],
               "sigma_eV": pdos.sigma_eV, "gap_threshold_states_per_eV": pdos.gap_threshold,
               "energy_reference": "highest occupied level of the cell (fixed occupations, non-self-consistent run)"},
    )
