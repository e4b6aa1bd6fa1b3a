"""The two alignment references converged in cell size and k-points: alpha-quartz and diamond-Si main peaks.

The global energy shift puts the computed alpha-quartz main peak at 1846 eV; the
diamond-Si main peak then lands wherever the calculation puts it, and its
distance from quartz's (about 6 eV in experiment: 1846 - 1840) tests the
absolute Delta-SCF energies and the spectra together. Each variant computes
one reference in one supercell with one SCF k mesh and one xspectra k mesh
(the config's other XANES settings: cut-offs, smearing, broadening), through
the workflow's own functions (ground state, XCH site, Delta-SCF onset, main
peak). It prints, per variant, the CPU time (summed over ranks), the onset and
the main peak before the global shift; then the quartz - Si separation of every
pair of variants, of the main peaks and of the edges (the steepest rise below
each main peak: the separation the paper judged its QE references by).
Results are appended to a JSON file as they finish, so an interrupted run
keeps what it computed.

With ``--core-hole fch`` the spectrum comes from a full-core-hole SCF (the
excited electron removed, ``tot_charge`` 1) instead of XCH, its lowest empty
level placed at the same Delta-SCF onset (the XCH total energy, computed without
its spectrum); such rows are stored as '<variant>_fch'.

    .venv/bin/python bench/reference_convergence.py [--variants ...] [--core-hole xch|fch] [--config config.yaml] [--out FILE] [--plot PNG]

Needs the PAW datasets in results/pseudo (rule `pseudopotentials`).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from siox_xanes import layout
from siox_xanes.spectra.calc import Launch, ScfSettings, SpectrumSettings, core_hole_site, ground_state, run_scf, scratch_dir
from siox_xanes.spectra.energy import edge_energy, main_peak, onset_energy_eV
from siox_xanes.spectra.references import reference_crystal

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = ROOT / layout.PSEUDO_DIR
# name -> (reference, supercell repeat, SCF k mesh, xspectra k mesh); cheapest first
VARIANTS = {
    "q18_G": ("alpha_quartz", (2, 1, 1), (1, 1, 1), (1, 1, 1)),  # the default's references
    "si16_G": ("diamond_si", (1, 1, 2), (1, 1, 1), (1, 1, 1)),
    "q18_k2": ("alpha_quartz", (2, 1, 1), (1, 2, 2), (1, 2, 2)),
    "si16_k2": ("diamond_si", (1, 1, 2), (2, 2, 1), (2, 2, 1)),
    "q36_G": ("alpha_quartz", (2, 2, 1), (1, 1, 1), (1, 1, 1)),
    "q36_k2": ("alpha_quartz", (2, 2, 1), (1, 1, 2), (2, 2, 2)),
    "si64_G": ("diamond_si", (2, 2, 2), (1, 1, 1), (1, 1, 1)),
    "si64_xk2": ("diamond_si", (2, 2, 2), (1, 1, 1), (2, 2, 2)),
    "si64_k2": ("diamond_si", (2, 2, 2), (2, 2, 2), (2, 2, 2)),
    "q72_G": ("alpha_quartz", (2, 2, 2), (1, 1, 1), (1, 1, 1)),
    "q72_k2": ("alpha_quartz", (2, 2, 2), (1, 1, 1), (2, 2, 2)),
    "si64_xk3": ("diamond_si", (2, 2, 2), (1, 1, 1), (3, 3, 3)),
    "si64_k3": ("diamond_si", (2, 2, 2), (2, 2, 2), (3, 3, 3)),
    # 216 atoms: the core hole's images 16.3 A apart (10.9 A at 64); ~8 core-hours at 25 Ry by the
    # N^2.4 scaling measured on the glasses, a job for a 16-core machine
    "si216_G": ("diamond_si", (3, 3, 3), (1, 1, 1), (1, 1, 1)),
    "si216_xk2": ("diamond_si", (3, 3, 3), (1, 1, 1), (2, 2, 2)),
}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def xspectra_levels(qe_text: str) -> tuple[float, float]:
    """(HOMO, LUMO) in eV that xspectra.x read from the SCF; its spectrum's zero is the HOMO."""
    homo = re.findall(r"ehomo \[eV\]:\s+(-?\d+\.\d+)", qe_text)
    lumo = re.findall(r"elumo \[eV\]:\s+(-?\d+\.\d+)", qe_text)
    if not homo or not lumo:
        raise ValueError("xspectra.x output names no HOMO/LUMO")
    return float(homo[-1]), float(lumo[-1])


def run_variant(name: str, xanes: dict, ranks: int, core_hole: str = "xch") -> dict:
    ref, repeat, scf_k, xs_k = VARIANTS[name]
    atoms = reference_crystal(ref, repeat)
    scf = replace(ScfSettings.from_mapping(xanes), scf_kpoints=scf_k)
    spec = replace(SpectrumSettings.from_mapping(xanes), xspectra_kpoints=xs_k)
    manifest = json.loads((PSEUDO / layout.PSEUDO_MANIFEST).read_text())
    launch = Launch(ranks)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0, w0 = cpu_seconds(), time.monotonic()
        gs = ground_state(atoms, scf, PSEUDO, tmp / "v.cube", tmp / "ae.cube", 1, launch)
        gs_cpu = cpu_seconds() - t0
        t0 = cpu_seconds()
        if core_hole == "xch":
            site = core_hole_site(atoms, 0, scf, spec, PSEUDO, PSEUDO / layout.CORE_WAVEFUNCTION, 1, launch)
            e_excited = site["scf"]["total_energy_eV"]
            zero_above_onset = 0.0  # the XCH spectrum's zero is the excited electron's level: the onset
        else:
            with scratch_dir("xch-") as xch_dir:  # the onset: XCH total energy, no spectrum
                e_excited = run_scf(atoms, scf, PSEUDO, Path(xch_dir), "ch", 1, launch, absorber=0)["total_energy_eV"]
            site = core_hole_site(atoms, 0, scf, spec, PSEUDO, PSEUDO / layout.CORE_WAVEFUNCTION, 1, launch,
                                  keep=tmp / "fch.txt", tot_charge=1.0)
            homo, lumo = xspectra_levels((tmp / "fch.txt").read_text())
            zero_above_onset = homo - lumo  # the FCH's lowest empty level sits at the onset
        site_cpu = cpu_seconds() - t0
        wall = time.monotonic() - w0
    onset = onset_energy_eV(e_excited, gs["total_energy_eV"], manifest["atomic_correction_eV"])
    energy = site["energy_rel_eV"] + zero_above_onset + onset
    peak = main_peak(energy, site["mu_mean"], onset, xanes["main_peak_window_eV"])
    return {"variant": name if core_hole == "xch" else f"{name}_fch", "reference": ref, "core_hole": core_hole,
            "atoms": len(atoms), "repeat": list(repeat), "scf_kpoints": list(scf_k),
            "xspectra_kpoints": list(xs_k), "gs_cpu_s": gs_cpu, "site_cpu_s": site_cpu, "wall_s": wall,
            "scf_iterations": site["scf"]["scf_iterations"], "onset_unshifted_eV": onset,
            "main_peak_unshifted_eV": peak, "energy_unshifted_eV": [round(float(e), 4) for e in energy],
            "mu": [float(f"{m:.6g}") for m in site["mu_mean"]]}


def plot(rows: list[dict], path: Path) -> None:
    """Every computed reference spectrum (peak-normalised) on the unshifted absolute scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for ax, ref in zip(axes, ("alpha_quartz", "diamond_si")):
        for r in (r for r in rows if r["reference"] == ref and "mu" in r):
            mu = np.asarray(r["mu"])
            line, = ax.plot(r["energy_unshifted_eV"], mu / mu.max(), lw=1, label=r["variant"])
            ax.axvline(r["main_peak_unshifted_eV"], color=line.get_color(), ls=":", lw=0.8)
        ax.set_title(ref.replace("_", " "), fontsize=9)
        ax.legend(fontsize=7)
    axes[1].set_xlabel("energy before the global shift (eV); dotted: main peak")
    axes[1].set_xlim(1845, 1880)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--config", default=str(ROOT / "config.yaml"), help="XANES settings (cut-offs, smearing, broadening)")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--core-hole", choices=("xch", "fch"), default="xch",
                    help="spectrum from the excited-electron (the workflow's) or the full core-hole SCF")
    ap.add_argument("--out", default="reference_convergence.json", help="results, appended as each variant ends")
    ap.add_argument("--plot", help="also draw every spectrum computed so far into this PNG")
    args = ap.parse_args()
    if not (PSEUDO / layout.CORE_WAVEFUNCTION).exists():
        raise SystemExit(f"{PSEUDO}: no PAW datasets; run `.venv/bin/snakemake --cores 1 {PSEUDO}/manifest.json` first")
    xanes = yaml.safe_load(Path(args.config).read_text())["xanes"]
    experiment = xanes["experiment_main_peak_eV"]
    out = Path(args.out)
    done = json.loads(out.read_text()) if out.exists() else []
    known = {r["variant"] for r in done}
    print(f"{xanes['ecutwfc_Ry']}/{xanes['ecutrho_Ry']} Ry, {args.ranks} ranks; results in {out}")
    print(f"{'variant':>9s} {'atoms':>5s} {'SCF k':>6s} {'xs k':>6s} {'GS cpu s':>8s} {'site cpu s':>10s} "
          f"{'wall s':>7s} {'onset eV':>9s} {'peak eV':>9s}", flush=True)
    for name in args.variants:
        key = name if args.core_hole == "xch" else f"{name}_fch"
        if key in known:
            row = next(r for r in done if r["variant"] == key)
        else:
            row = run_variant(name, xanes, args.ranks, args.core_hole)
            done.append(row)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(done, indent=1))
            tmp.replace(out)
        print(f"{key:>9s} {row['atoms']:5d} {'x'.join(map(str, row['scf_kpoints'])):>6s} "
              f"{'x'.join(map(str, row['xspectra_kpoints'])):>6s} {row['gs_cpu_s']:8.0f} {row['site_cpu_s']:10.0f} "
              f"{row['wall_s']:7.0f} {row['onset_unshifted_eV']:9.2f} {row['main_peak_unshifted_eV']:9.2f}", flush=True)
    rows = [r for r in done if r["variant"] in args.variants or r["variant"].removesuffix("_fch") in args.variants]
    quartz = [r for r in rows if r["reference"] == "alpha_quartz"]
    silicon = [r for r in rows if r["reference"] == "diamond_si"]
    target = experiment["alpha_quartz"] - experiment["diamond_si"]
    if args.plot:
        plot(rows, Path(args.plot))
    for r in rows:  # the edge from the stored spectrum, so that rows of earlier runs have it too
        r["edge_unshifted_eV"] = edge_energy(np.asarray(r["energy_unshifted_eV"]), np.asarray(r["mu"]),
                                             r["main_peak_unshifted_eV"])
    for what, key in (("main-peak", "main_peak_unshifted_eV"), ("edge (steepest rise below the main peak)", "edge_unshifted_eV")):
        print(f"\nalpha-quartz - diamond-Si {what} separation, eV (experiment {target:.2f}):")
        print(f"{'':>9s} " + " ".join(f"{s['variant']:>8s}" for s in silicon))
        for q in quartz:
            print(f"{q['variant']:>9s} " + " ".join(f"{q[key] - s[key]:8.2f}" for s in silicon))


if __name__ == "__main__":
    main()
