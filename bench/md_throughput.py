"""MD throughput of the melt-quench engine and the projected cost of the paper protocol.

Runs a short NPT segment at the melt temperature (the expensive, dense part of
the protocol) through the same code path as the workflow, on the default's and
the paper's cell sizes, and prints atom-steps per second per rank count plus
the core-hours the paper's 45 cells x (1 ns hold + 3 ns quench) would take.

    .venv/bin/python bench/md_throughput.py [--atom-steps 3e6] [--ranks 1 2]

Each measurement runs about ``--atom-steps`` atom-steps; the start-up cost of
LAMMPS (a 1-step run) is measured and subtracted.
"""

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from siox_xanes.config import lattice_from_config
from siox_xanes.structures.md import MeltQuench, melt_quench
from siox_xanes.structures.lattice import build_network

ROOT = Path(__file__).resolve().parent.parent


def measure(atoms, steps: int, ranks: int) -> float:
    """Seconds for ``steps`` NPT steps at 5000 K (minimisations switched off)."""
    p = MeltQuench(
        timestep_fs=1.0, melt_temperature_K=5000, hold_ps=steps / 1000.0, quench_ps=0.001,
        final_temperature_K=4999, pressure_atm=1.0, tdamp_ps=0.1, pdamp_ps=1.0,
        trace_every=1000, velocity_seed=4242, minimize_before=False, minimize_after=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        melt_quench(atoms, p, "SiO.tersoff", Path(tmp), ranks=ranks)
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--atom-steps", type=float, default=3e6)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    paper = yaml.safe_load((ROOT / "config_paper.yaml").read_text())
    cells = [
        ("default SiO2", default["structures"], "2.00"),
        ("paper SiO2", paper["structures"], "2.00"),
        ("paper a-Si", paper["structures"], "0.00"),
    ]
    paper_steps = int((1000 + 3000) * 1000)  # 1 ns + 3 ns at 1 fs
    paper_atom_steps = sum(c["Si"] + c["O"] for c in paper["structures"]["compositions"].values()) * 5 * paper_steps
    print(f"{'cell':14s} {'atoms':>5s} {'ranks':>5s} {'steps':>7s} {'seconds':>8s} {'Matom-steps/s':>14s}")
    best = {}
    for name, structures, x in cells:
        n = structures["compositions"][x]
        atoms = build_network(n["Si"], n["O"], lattice_from_config(structures["lattice"]), 1, x)
        steps = max(1000, int(args.atom_steps / len(atoms)))
        for ranks in args.ranks:
            sec = measure(atoms, steps, ranks) - measure(atoms, 1, ranks)
            rate = len(atoms) * steps / sec / 1e6
            best[(name, ranks)] = rate
            print(f"{name:14s} {len(atoms):5d} {ranks:5d} {steps:7d} {sec:8.2f} {rate:14.3f}")
    for ranks in args.ranks:
        rate = best[("paper SiO2", ranks)] * 1e6
        wall_h = paper_atom_steps / rate / 3600
        print(
            f"paper protocol, 45 cells, {ranks} rank(s) per cell: "
            f"{wall_h:.1f} h of wall time in sequence = {wall_h * ranks:.1f} core-hours "
            f"({wall_h / 45 * 60:.0f} min per cell)"
        )


if __name__ == "__main__":
    main()
