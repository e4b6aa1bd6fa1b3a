"""Convergence of the Si sites' ground-state s and p PDOS (seed 004's target) in the k mesh of the
non-self-consistent run, and its cost per cell, side by side on cells of the medium release.

One all-PAW SCF per cell (the release's settings: 25/100 Ry, Gamma SCF) serves every mesh: only
the non-self-consistent run and projwfc.x rerun, so the PDOS of a cell differ by the mesh alone.
Each Si atom's s and p PDOS (Löwdin, Gaussian sigma 0.5 eV) on -15 ... +15 eV from the cell's
highest occupied level, and its local gap (p PDOS reaching 0.05 states/eV on both sides of 0).

Criterion (as for the spectra, issue 34): against the next denser mesh, every site's s and p PDOS
deviate by at most 5 % of the cell's largest PDOS value (largest |delta|, whole grid) and 2 % rms,
both averaged over the cell's Si sites; the local gaps by at most 0.1 eV (median |delta|).

    .venv/bin/python bench/pdos_convergence.py [--cells x0.00_seed1 x1.00_seed1 x2.00_seed1] [--meshes k1 k2 k3 k4]
    .venv/bin/python bench/pdos_convergence.py --table

Rows (one per cell and mesh) are appended to bench/results/pdos_convergence.jsonl as they finish.
Needs the all-PAW datasets in results/pseudo (rule `pseudopotentials`).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from siox_xanes import layout  # noqa: E402
from siox_xanes.release.publish import read_structures  # noqa: E402
from siox_xanes.spectra.calc import Launch, ScfSettings  # noqa: E402
from siox_xanes.spectra.pdos import PdosSettings, cell_pdos  # noqa: E402

PSEUDO = ROOT / layout.PSEUDO_DIR
RELEASE = ROOT / "data/siox-medium-v2"
OUT = ROOT / "bench/results/pdos_convergence.jsonl"
MESHES = {f"k{n}": (n, n, n) for n in range(1, 6)}
MAX_DEV, MAX_RMS, MAX_GAP = 0.05, 0.02, 0.1


def release_scf() -> ScfSettings:
    base = yaml.safe_load((ROOT / "config.yaml").read_text())["xanes"]
    base.update(yaml.safe_load((ROOT / "config_medium.yaml").read_text())["xanes"])
    return ScfSettings.from_mapping({**base, "environment_pseudopotentials": "paw"})


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load_rows() -> list[dict]:
    return [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()] if OUT.exists() else []


def run_cell(cell: str, meshes: list[str]) -> None:
    """One SCF, then each mesh's NSCF + projwfc.x; a row is appended as each mesh finishes."""
    atoms = read_structures(RELEASE / layout.RELEASE_FILES["structures"])[cell]
    settings = [PdosSettings(nscf_kpoints=MESHES[m]) for m in meshes]
    started_cpu, started = cpu_seconds(), time.perf_counter()

    def write(p: PdosSettings, r: dict) -> None:
        mesh = meshes[settings.index(p)]
        row = {"cell": cell, "atoms": len(atoms), "x": cell[1:5], "mesh": mesh, "kpoints": r["nscf_kpoints"],
               "nbnd": r["nbnd"], "bands_reach_eV": r["bands_reach_eV"], "highest_occupied_eV": r["highest_occupied_eV"],
               "lowest_unoccupied_eV": r["lowest_unoccupied_eV"], "nscf_cpu_s": r.get("nscf_cpu_s"),
               "cell_cpu_s_so_far": cpu_seconds() - started_cpu, "cell_wall_s_so_far": time.perf_counter() - started,
               "energy_eV": r["energy_eV"].tolist(), "si_atoms": r["si_atoms"],
               "pdos_s": np.round(r["pdos_s"], 5).tolist(), "pdos_p": np.round(r["pdos_p"], 5).tolist(),
               "local_gap_eV": r["local_gap_eV"].tolist()}
        with open(OUT, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{cell} {mesh}: nbnd {r['nbnd']}, bands reach {r['bands_reach_eV']:.1f} eV, "
              f"median local gap {np.nanmedian(r['local_gap_eV']):.2f} eV, nscf {r.get('nscf_cpu_s', 0):.0f} CPU s", flush=True)

    cell_pdos(atoms, release_scf(), settings, PSEUDO, 1, Launch(1, "auto"), on_result=write)


def deviation(a: dict, b: dict) -> tuple[float, float, float]:
    """Mean over sites of the largest |delta PDOS| and the rms (fractions of the cell's largest PDOS
    value, s and p together), and the median |delta gap| (eV)."""
    peak = max(np.max(b["pdos_s"]), np.max(b["pdos_p"]))
    dev, rms = [], []
    for orbital in ("pdos_s", "pdos_p"):
        d = np.asarray(a[orbital]) - np.asarray(b[orbital])
        dev.append(np.abs(d).max(axis=1) / peak)
        rms.append(np.sqrt((d**2).mean(axis=1)) / peak)
    gap = np.nanmedian(np.abs(np.asarray(a["local_gap_eV"], float) - np.asarray(b["local_gap_eV"], float)))
    return float(np.mean(np.max(dev, axis=0))), float(np.mean(np.max(rms, axis=0))), float(gap)


def table(rows: list[dict]) -> str:
    by = {(r["cell"], r["mesh"]): r for r in rows}
    lines = ["| cell | atoms | mesh | bands | vs next denser: max / rms (% of peak), median abs. gap change (eV) | "
             "median local gap (eV) | meets 5 % / 2 % / 0.1 eV |", "| --- | ---: | --- | ---: | --- | ---: | --- |"]
    for r in sorted(rows, key=lambda r: (r["cell"], r["mesh"])):
        denser = by.get((r["cell"], f"k{int(r['mesh'][1:]) + 1}"))
        if denser:
            dev, rms, gap = deviation(r, denser)
            text = f"{100 * dev:.1f} / {100 * rms:.1f}, {gap:.2f} ({denser['mesh']})"
            ok = "yes" if dev <= MAX_DEV and rms <= MAX_RMS and gap <= MAX_GAP else "no"
        else:
            text, ok = "–", "–"
        lines.append(f"| {r['cell']} | {r['atoms']} | {r['mesh']} | {r['nbnd']} | {text} | "
                     f"{np.nanmedian(np.asarray(r['local_gap_eV'], float)):.2f} | {ok} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", nargs="+", default=["x0.00_seed1", "x1.00_seed1", "x2.00_seed1"])
    ap.add_argument("--meshes", nargs="+", default=["k1", "k2", "k3", "k4"], choices=list(MESHES))
    ap.add_argument("--table", action="store_true", help="print the table of the rows so far, compute nothing")
    args = ap.parse_args(argv)
    if not args.table:
        done = {(r["cell"], r["mesh"]) for r in load_rows()}
        for cell in args.cells:
            todo = [m for m in args.meshes if (cell, m) not in done]
            if todo:
                run_cell(cell, todo)
    print(table(load_rows()))


if __name__ == "__main__":
    main()
