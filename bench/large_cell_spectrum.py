"""`siox-xanes spectrum` on a real amorphous cell of more than 5000 atoms (seed 002's point).

Seed 002 predicts the averaged spectrum of a 9826-atom a-SiO model in seconds. Here an a-SiO
cell of 5400 atoms (Si2700O2700, x = 1.00) is made the way the workflow makes its SiOx glasses
(`md.oxidation`: the Si melt-quenched alone with the Munetoh Tersoff potential, then O put into
random Si-Si bonds step by step, each step minimised, annealed cold and cooled, the box relaxed
at 1 atm), checked against `validation.bounds`, and its spectrum predicted by the shipped
structure -> spectrum model, through the command itself. The MD times are shorter than the
default config's (below), since a 27x larger cell costs 27x more per picosecond; the checks say
whether the cell is sound all the same. Writes bench/results/large_cell_spectrum_<x>_q<quench>.json,
the cell (large_cell_<x>_q<quench>.extxyz.xz) and the command's CSV and plot under
bench/results/large_cell_<x>_q<quench>/.

    .venv/bin/python bench/large_cell_spectrum.py [--repeat 12 12 12] [--si 2700] [--o 2700] [--ranks 1] [--quench-ps 100]
"""

from __future__ import annotations

import argparse
import json
import lzma
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from siox_xanes import layout  # noqa: E402
from siox_xanes.config import lattice_from_config, oxidation_settings  # noqa: E402
from siox_xanes.structures.checks import Soundness, validate_cell  # noqa: E402
from siox_xanes.structures.lattice import build_network  # noqa: E402
from siox_xanes.structures.md import MeltQuench, velocity_seed  # noqa: E402
from siox_xanes.structures.oxidation import Oxidation, grow_from_si  # noqa: E402

# The large cell's MD, shorter than config.yaml's (hold 100 ps, quench 400 ps; anneal 20 ps and
# cool 50 ps per O step): the quench rate is 5000 K / 100 ps = 50 K/ps, 4x the default's.
LARGE_MD = {"hold_ps": 20.0, "quench_ps": 100.0}  # --quench-ps 400: the default's rate (12.5 K/ps)
LARGE_OXIDATION = {"anneal_ps": 5.0, "cool_ps": 10.0}


def grow_cell(cfg: dict, repeat, n_si: int, n_o: int, seed: int, ranks: int, scratch: Path, md: dict):
    x_key = f"{n_o / n_si:.2f}"
    cfg = {**cfg, "structures": {**cfg["structures"], "lattice": {**cfg["structures"]["lattice"], "repeat": list(repeat)},
                                 "compositions": {x_key: {"Si": n_si, "O": n_o}}}}
    lattice = lattice_from_config(cfg["structures"]["lattice"])
    protocol = replace(MeltQuench.from_md_config(cfg["md"], velocity_seed(seed, x_key)), **md)
    ox = Oxidation(**{**oxidation_settings(cfg, x_key), **LARGE_OXIDATION})
    atoms, _, _ = grow_from_si(build_network(n_si, 0, lattice, seed, x_key), ox, protocol, cfg["md"]["potential"],
                               scratch, seed, x_key, ranks=ranks)
    return atoms, x_key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", nargs=3, type=int, default=[12, 12, 12])
    ap.add_argument("--si", type=int, default=2700)
    ap.add_argument("--o", type=int, default=2700)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--quench-ps", type=float, default=LARGE_MD["quench_ps"], help="the a-Si quench from the melt")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = ap.parse_args()
    from ase.io import read, write

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    md = {**LARGE_MD, "quench_ps": args.quench_ps}
    tag = f"x{args.o / args.si:.2f}_q{args.quench_ps:g}"  # one set of files per composition and quench
    folder = args.out / f"large_cell_{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    cell_file = args.out / f"large_cell_{tag}.extxyz.xz"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        atoms, x_key = grow_cell(cfg, args.repeat, args.si, args.o, args.seed, args.ranks, Path(tmp), md)
    md_s = time.perf_counter() - t0
    with lzma.open(cell_file, "wt") as fh:
        write(fh, atoms, format="extxyz")
    check = validate_cell(atoms, cfg["validation"]["cutoffs"], Soundness.from_mapping(cfg["validation"]["bounds"]))

    # the command as a user runs it, on the file just written (ASE reads .xz itself)
    plain = folder / f"large_cell_{tag}.extxyz"
    write(plain, read(cell_file))
    t0 = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/siox-xanes"), "spectrum", str(plain), "-o", str(folder), "--plots"], check=True)
    spectrum_s = time.perf_counter() - t0
    plain.unlink()
    written = sorted(p.name for p in folder.iterdir())
    # what the command wrote: the average with its band, each site's domain flags
    averaged = pd.read_csv(folder / f"large_cell_{tag}_averaged.csv", comment="#")
    per_site = pd.read_csv(folder / f"large_cell_{tag}_sites.csv", comment="#")
    header = (folder / f"large_cell_{tag}_averaged.csv").read_text().splitlines()[0]
    flags = [f for f in header.rsplit("flags: ", 1)[1].split(", ") if f != "none"]
    flagged_fraction = float((per_site["first_shell_unseen"].astype(bool) | per_site["far_from_training"].astype(bool)).mean())

    # beside the medium release's all-DFT mean spectrum of the same composition (its 5 small cells)
    import xarray as xr

    with xr.open_dataset(ROOT / "data/siox-medium-v2" / layout.RELEASE_FILES["sites"]) as sites:
        same_x = sites["x"].values == float(x_key)
        mu = sites["mu_norm"].interp(energy=averaged["energy_eV"].to_numpy()).values  # on the command's grid
        dft_mean = mu[same_x].mean(axis=0) if same_x.any() else None
    out = {
        "cell": {"formula": atoms.get_chemical_formula(), "atoms": len(atoms), "si_sites": len(per_site),
                 "repeat": args.repeat, "seed": args.seed, "md": md, "oxidation": LARGE_OXIDATION,
                 "file": cell_file.name},
        "soundness": {k: check[k] for k in ("density_g_cm3", "fraction_si_fourfold", "mean_si_per_o", "flags")},
        "o_o_bonds": int(check["bond_counts"]["O-O"]),
        "md_s": round(md_s, 1), "ranks": args.ranks,
        "spectrum_command_s": round(spectrum_s, 1),
        "sites_per_s_command": round(len(per_site) / spectrum_s, 1),
        "flagged_fraction": flagged_fraction, "flags": flags,
        "average_band_half_width": float(np.mean(averaged["mu_norm_high"] - averaged["mu_norm"])),
        "written": written,
    }
    if dft_mean is not None:
        dev = np.abs(averaged["mu_norm"].to_numpy() - dft_mean)
        out["vs_medium_v2_dft_mean"] = {"sites": int(same_x.sum()),
                                        "max_abs_dev_pct_of_peak": round(100 * float(dev.max() / dft_mean.max()), 1),
                                        "rms_dev_pct_of_peak": round(100 * float(np.sqrt((dev ** 2).mean()) / dft_mean.max()), 1)}
    (args.out / f"large_cell_spectrum_{tag}.json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
