"""Soundness of the melt-quenched glasses under several MD protocols, side by side.

For each composition of a config (default: config.yaml's small cells, one seed) and
each protocol variant, runs the melt-quench with LAMMPS and prints the checks of
``validation.bounds``: density, fraction of fourfold Si, Si neighbours per O, O-O
bonds, and whether the cell passes. The variants change one thing at a time from
the config's protocol:

* ``config``: the protocol as configured (the paper's: NPT at 1 atm throughout);
* ``nvt``: hold and quench at the volume-additive experimental density, then the box relaxed at 1 atm;
* ``nvt_fixed``: the same, the final minimisation at fixed volume;
* ``slow``: the config's protocol with a 5x longer quench at half the time step;
* ``nvt_<T>`` / ``nvt_fixed_<T>`` (e.g. ``nvt_3000``): as ``nvt`` / ``nvt_fixed`` with the
  hold and the start of the quench at T kelvin instead of the melt temperature;
* ``oxidised``: the config's protocol melt-quenches the composition's Si alone, then O
  goes into random Si-Si bonds as ``md.oxidation`` says (structures.oxidation; its
  settings from the config, the composition list aside).

    .venv/bin/python bench/glass_protocols.py [--x 0.50 1.00 1.50] [--variants config nvt nvt_fixed] [--seed 1] [--attempt 0] [--keep DIR]

The potential's cut-offs follow the config's ``md.tersoff_cutoffs_A`` (null: the file's).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from siox_xanes.config import lattice_from_config, oxidation_settings
from siox_xanes.structures.checks import Soundness, validate_cell
from siox_xanes.structures.lattice import build_network, volume_additive_density
from siox_xanes.structures.md import MeltQuench, melt_quench, velocity_seed
from siox_xanes.structures.oxidation import Oxidation, grow_from_si

ROOT = Path(__file__).resolve().parent.parent


def variant(base: MeltQuench, name: str, x: float, md: dict) -> MeltQuench:
    density = volume_additive_density(x, md["nvt_density_end_members_g_cm3"])
    if name == "config":
        return base
    if name == "nvt":
        return replace(base, ensemble="nvt", density_g_cm3=density, relax_box=True)
    if name == "nvt_fixed":
        return replace(base, ensemble="nvt", density_g_cm3=density, relax_box=False)
    if name.startswith("nvt_") and name.rsplit("_", 1)[1].isdigit():
        stem, temperature = name.rsplit("_", 1)
        return replace(variant(base, stem, x, md), melt_temperature_K=float(temperature))
    if name == "slow":
        return replace(base, quench_ps=5 * base.quench_ps, timestep_fs=base.timestep_fs / 2)
    raise ValueError(f"unknown variant '{name}'")


def grown_from_si(counts, lattice, seed, xk, protocol, cfg, scratch, attempt=0):
    """The composition's Si melt-quenched alone, then oxidised (workflow's functions; the
    config's md.oxidation settings whether or not it lists xk), as the cell's ``attempt``."""
    return grow_from_si(build_network(counts["Si"], 0, lattice, seed, xk), Oxidation(**oxidation_settings(cfg, xk)),
                        protocol, cfg["md"]["potential"], scratch, seed, xk, attempt=attempt)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--x", nargs="+", default=None, help="compositions (config keys); default: all")
    ap.add_argument("--variants", nargs="+", default=["config", "nvt", "nvt_fixed"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--attempt", type=int, default=0,
                    help="the cell's k-th draw (md.max_attempts: velocity seed and O insertion stream)")
    ap.add_argument("--keep", help="folder for the final structures (extended XYZ), for a closer look")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    md, bounds = cfg["md"], cfg["validation"]["bounds"]
    lattice = lattice_from_config(cfg["structures"]["lattice"])
    print(f"{'x':>5s} {'variant':>10s} {'atoms':>5s} {'rho':>6s} {'target':>6s} {'4-fold':>6s} {'Si/O':>5s} {'O-O':>4s} {'s':>5s}  flags")
    for xk in args.x or list(cfg["structures"]["compositions"]):
        counts = cfg["structures"]["compositions"][xk]
        atoms = build_network(counts["Si"], counts["O"], lattice, args.seed, xk)
        base = MeltQuench.from_md_config(md, velocity_seed(args.seed, xk, args.attempt))
        for name in args.variants:
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                if name == "oxidised":
                    final = grown_from_si(counts, lattice, args.seed, xk, base, cfg, Path(tmp), args.attempt)
                else:
                    final, _, _ = melt_quench(atoms, variant(base, name, float(xk), md), md["potential"], Path(tmp))
            if args.keep:
                from siox_xanes.io import write_structure

                write_structure(Path(args.keep) / f"x{xk}_{name}.extxyz", final)
            r = validate_cell(final, cfg["validation"]["cutoffs"], Soundness.from_mapping(bounds))
            per_o = r["mean_si_per_o"]
            print(f"{xk:>5s} {name:>10s} {len(final):5d} {r['density_g_cm3']:6.3f} "
                  f"{volume_additive_density(float(xk), md['nvt_density_end_members_g_cm3']):6.3f} "
                  f"{r['fraction_si_fourfold']:6.2f} {per_o if per_o is not None else float('nan'):5.2f} "
                  f"{r['bond_counts']['O-O']:4d} {time.perf_counter() - t0:5.0f}  {'; '.join(r['flags']) or 'sound'}",
                  flush=True)


if __name__ == "__main__":
    main()
