"""Cost of one XANES site with QE, reference BLAS vs OpenBLAS side by side.

For a cell (default: the 18-atom alpha-quartz reference of config.yaml) it
runs the ground-state SCF, then one site (core-hole SCF + xspectra.x for three
polarisations), once with Debian's reference BLAS/LAPACK (forced through
LD_LIBRARY_PATH; needs libblas3 and liblapack3) and once with OpenBLAS (what
setup.sh selects), and prints seconds, SCF iterations and the peak memory of
the largest MPI rank.

    .venv/bin/python bench/qe_site.py [--cell alpha_quartz --repeat 2 1 1] [--ranks 2] [--ecut 25 150]

The PAW datasets are taken from results/pseudo (run the workflow's
`pseudopotentials` rule first).
"""

import argparse
import copy
import os
import resource
import tempfile
import time
from pathlib import Path

import yaml

from siox_xanes import layout
from siox_xanes.spectra.calc import Launch, ScfSettings, SpectrumSettings, core_hole_site, ground_state
from siox_xanes.spectra.references import reference_crystal

ROOT = Path(__file__).resolve().parent.parent
ARCH = f"/usr/lib/{os.uname().machine}-linux-gnu"
BLAS = {
    "reference": f"{ARCH}/blas:{ARCH}/lapack",
    "openblas": f"{ARCH}/openblas-pthread",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell", default="alpha_quartz")
    ap.add_argument("--repeat", type=int, nargs=3, default=[2, 1, 1])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--ecut", type=float, nargs=2, default=None, help="ecutwfc ecutrho (Ry); default: config.yaml")
    ap.add_argument("--blas", nargs="+", default=["reference", "openblas"], choices=list(BLAS))
    args = ap.parse_args()
    cfg = copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text())["xanes"])
    if args.ecut:
        cfg["ecutwfc_Ry"], cfg["ecutrho_Ry"] = args.ecut
    pseudo = ROOT / layout.PSEUDO_DIR
    if not (pseudo / layout.CORE_WAVEFUNCTION).exists():
        raise SystemExit(f"{pseudo}: no PAW datasets; run `.venv/bin/snakemake --cores 1 {pseudo}/manifest.json` first")
    atoms = reference_crystal(args.cell, args.repeat)
    print(f"{args.cell} x {args.repeat}: {len(atoms)} atoms, {cfg['ecutwfc_Ry']}/{cfg['ecutrho_Ry']} Ry, "
          f"xspectra k {cfg['xspectra_kpoints']}, {args.ranks} MPI ranks")
    print(f"{'BLAS':10s} {'GS s':>7s} {'GS it':>6s} {'site s':>7s} {'CH it':>6s} {'peak MB/rank':>13s}")
    scf, spectrum = ScfSettings.from_mapping(cfg), SpectrumSettings.from_mapping(cfg)
    launch = Launch(args.ranks, "auto")
    rows = {}
    for blas in args.blas:
        dirs = BLAS[blas].split(":")
        if not all(Path(d, "libblas.so.3").exists() or Path(d, "liblapack.so.3").exists() for d in dirs):
            print(f"{blas:10s} skipped: {BLAS[blas]} not installed (apt-get install libblas3 liblapack3)")
            continue
        os.environ["LD_LIBRARY_PATH"] = BLAS[blas]
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            gs = ground_state(atoms, scf, pseudo, Path(tmp) / "v.cube", Path(tmp) / "ae.cube", 1, launch)
            t1 = time.perf_counter()
            site = core_hole_site(atoms, 0, scf, spectrum, pseudo, pseudo / layout.CORE_WAVEFUNCTION, 1, launch)
            t2 = time.perf_counter()
        rows[blas] = (t1 - t0, t2 - t1)
        print(f"{blas:10s} {t1 - t0:7.1f} {gs['scf_iterations']:6d} {t2 - t1:7.1f} {site['scf']['scf_iterations']:6d} {peak_rss_mb():13.0f}")
    if len(rows) == 2:
        (g0, s0), (g1, s1) = rows["reference"], rows["openblas"]
        print(f"speed-up of OpenBLAS: ground state x{g0 / g1:.2f}, site x{s0 / s1:.2f}")


if __name__ == "__main__":
    main()
