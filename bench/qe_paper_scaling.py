"""Memory and time of pw.x at the paper's settings (50/400 Ry, Gamma SCF) against cell size.

The paper preset's SLURM limits (``xanes.mem_mb_per_rank``, ``xanes.runtime_min``)
come from this measurement. For SiO cells of three sizes, scaled to a glass
density of 2.2 g/cm^3 as the paper's cells are (Si100O100: 200 atoms in
3330 A^3), it runs a ground-state and an XCH core-hole SCF for a few iterations
on 1 and 2 MPI ranks and records, per run:

* peak resident memory of the largest rank (sampled every 0.2 s with psutil),
* pw.x's own estimate of its largest dynamical RAM per process,
* set-up time (until the first SCF iteration) and seconds per SCF iteration,
  from pw.x's 'total cpu time spent up to now' lines.

Per rank memory is split as replicated + distributed / ranks from the 1- and
2-rank runs, and time per iteration is fitted as a power law in the atom count;
both are then evaluated for the paper's cells (160 to 240 atoms) on the
preset's rank count.

    .venv/bin/python bench/qe_paper_scaling.py [--sizes 24 48 96] [--iterations 3] [--ranks 1 2]

Needs the PAW datasets in results/pseudo (rule `pseudopotentials`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from siox_xanes import layout
from siox_xanes.spectra.qe_files import pw_input
from siox_xanes.spectra.calc import DATASETS
from siox_xanes.structures.lattice import Lattice, build_network, density_g_cm3

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = ROOT / layout.PSEUDO_DIR
GLASS_DENSITY = 2.2  # g/cm^3, a-SiO2 / SiO-like; the paper's cells end near it
# SiO cells on the cubic SiO2 site lattice: lattice repeat -> (Si, O)
SIZES = {24: ((2, 2, 2), 12), 48: ((2, 2, 4), 24), 96: ((2, 4, 4), 48), 144: ((3, 4, 4), 72)}
PAPER_CELLS = {"Si160": 160, "Si100O100": 200, "Si72O144": 216, "Si96O144": 240}


def glass_like_cell(n_atoms: int):
    repeat, n_si = SIZES[n_atoms]
    atoms = build_network(n_si, n_atoms - n_si, Lattice(3.74, repeat), seed=1, x_key="1.00")
    scale = (density_g_cm3(atoms) / GLASS_DENSITY) ** (1 / 3)
    atoms.set_cell(atoms.cell * scale, scale_atoms=True)
    return atoms


def run_pw(text: str, ranks: int, work: Path) -> dict:
    (work / "pw.in").write_text(text)
    argv = ["pw.x", "-in", "pw.in"] if ranks == 1 else ["mpirun", "-np", str(ranks), "pw.x", "-in", "pw.in"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    peak = {"rss": 0}
    with open(work / "pw.out", "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=work, env=env)
        parent = psutil.Process(proc.pid)

        def sample():
            while proc.poll() is None:
                try:
                    procs = [parent, *parent.children(recursive=True)]
                    ranks_rss = [p.memory_info().rss for p in procs if p.name().startswith("pw.x")]
                    peak["rss"] = max([peak["rss"], *ranks_rss])
                except psutil.Error:
                    pass
                time.sleep(0.2)

        t = threading.Thread(target=sample)
        t.start()
        proc.wait()
        t.join()
    text = (work / "pw.out").read_text()
    cpu = [float(v) for v in re.findall(r"total cpu time spent up to now is\s+([\d.]+)\s+secs", text)]
    est = re.search(r"Estimated max dynamical RAM per process >\s+([\d.]+)\s*(MB|GB)", text)
    est_mb = float(est.group(1)) * (1024 if est.group(2) == "GB" else 1) if est else float("nan")
    if len(cpu) < 2:
        raise RuntimeError(f"pw.x printed {len(cpu)} iteration times; see {work / 'pw.out'}")
    return {
        "peak_rss_mb": peak["rss"] / 2**20,
        "estimated_ram_mb": est_mb,
        "setup_s": cpu[0],
        "s_per_iteration": float(np.mean(np.diff(cpu))),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 48, 96], choices=sorted(SIZES))
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--ecut", type=float, nargs=2, default=[50.0, 400.0])
    ap.add_argument("--paper-ranks", type=int, default=16)
    ap.add_argument("--json", help="also write the rows and fits here")
    args = ap.parse_args()
    if not (PSEUDO / layout.PAW_DATASETS["Si_hole"]).exists():
        raise SystemExit(f"{PSEUDO}: no PAW datasets; run `.venv/bin/snakemake --cores 1 {PSEUDO}/manifest.json` first")
    rows = []
    print(f"{'atoms':>5s} {'kind':>9s} {'ranks':>5s} {'peak MB/rank':>12s} {'pw.x est MB':>11s} {'setup s':>8s} {'s/iter':>7s}")
    for n in args.sizes:
        atoms = glass_like_cell(n)
        for kind, absorber in (("ground", None), ("core_hole", 0)):
            text = pw_input(
                atoms, prefix="bench", outdir="./out", pseudo_dir=str(PSEUDO), datasets=DATASETS,
                ecutwfc=args.ecut[0], ecutrho=args.ecut[1], absorber=absorber,
                conv_thr_per_atom=1e-14, electron_maxstep=args.iterations,
            )
            for ranks in args.ranks:
                with tempfile.TemporaryDirectory(prefix="qe-scaling-") as tmp:
                    r = run_pw(text, ranks, Path(tmp))
                rows.append({"atoms": n, "kind": kind, "ranks": ranks, **r})
                print(f"{n:5d} {kind:>9s} {ranks:5d} {r['peak_rss_mb']:12.0f} {r['estimated_ram_mb']:11.0f} "
                      f"{r['setup_s']:8.1f} {r['s_per_iteration']:7.1f}", flush=True)
    fits = fit_and_project(rows, args.paper_ranks)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "fits": fits}, indent=1))


def fit_and_project(rows: list[dict], paper_ranks: int) -> dict:
    """Per kind: memory per rank = replicated + distributed / ranks (both power laws in
    atoms), core-seconds per iteration a power law in atoms; projected to the paper cells."""
    fits = {}
    for kind in ("ground", "core_hole"):
        sub = [r for r in rows if r["kind"] == kind]
        sizes = sorted({r["atoms"] for r in sub})
        ranks = sorted({r["ranks"] for r in sub})
        rep, dist, core_s = [], [], []
        for n in sizes:
            mem = {r["ranks"]: r["peak_rss_mb"] for r in sub if r["atoms"] == n}
            if len(ranks) >= 2:
                p, q = ranks[0], ranks[-1]
                d = (mem[p] - mem[q]) / (1 / p - 1 / q)
                rep.append(max(mem[q] - d / q, 1.0))
                dist.append(max(d, 1.0))
            r_max = max(r["ranks"] for r in sub if r["atoms"] == n)
            core_s.append(next(r["s_per_iteration"] * r["ranks"] for r in sub if r["atoms"] == n and r["ranks"] == r_max))
        logn = np.log(sizes)
        out = {"core_s_per_iteration": np.polyfit(logn, np.log(core_s), 1).tolist()}
        if rep:
            out["replicated_mb"] = np.polyfit(logn, np.log(rep), 1).tolist()
            out["distributed_mb"] = np.polyfit(logn, np.log(dist), 1).tolist()
        fits[kind] = out
    print(f"\nprojection to the paper's cells on {paper_ranks} ranks (power laws in the atom count):")
    print(f"{'cell':>10s} {'atoms':>5s} {'kind':>9s} {'MB/rank':>8s} {'core-s/iter':>11s} {'wall s/iter':>11s}")
    for name, n in PAPER_CELLS.items():
        for kind, f in fits.items():
            ev = lambda c: float(np.exp(np.polyval(c, np.log(n))))  # noqa: E731
            mem = ev(f["replicated_mb"]) + ev(f["distributed_mb"]) / paper_ranks if "replicated_mb" in f else float("nan")
            cs = ev(f["core_s_per_iteration"])
            print(f"{name:>10s} {n:5d} {kind:>9s} {mem:8.0f} {cs:11.0f} {cs / paper_ranks:11.1f}")
    for kind, f in fits.items():
        print(f"{kind}: core-s/iter ~ N^{f['core_s_per_iteration'][0]:.2f}"
              + (f", replicated MB ~ N^{f['replicated_mb'][0]:.2f}, distributed MB ~ N^{f['distributed_mb'][0]:.2f}" if "replicated_mb" in f else ""))
    return fits


if __name__ == "__main__":
    main()
