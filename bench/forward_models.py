"""Descriptor speed of seed 002's forward models on a data release: Si sites per second of SOAP,
ACSF (dscribe) and SNAP, quadratic SNAP (LAMMPS), every Si of every cell, one core.

How well the models predict unseen cells, and the site selections' learning curves, are the
DAG's (rules forward_evaluation and selection_curves, in the report); on a release without any
DFT: `snakemake results/forward/evaluation.json results/forward/selection_curves.json
--configfile config_quicklook.yaml`.

    .venv/bin/python bench/forward_models.py [--release data/siox-medium-v2] [--descriptors soap acsf snap qsnap]

Writes bench/results/forward_descriptors.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from siox_xanes import layout  # noqa: E402
from siox_xanes.forward.descriptors import DescriptorSettings, describe  # noqa: E402
from siox_xanes.release.publish import read_structures  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--descriptors", nargs="+", default=["soap", "acsf", "snap", "qsnap"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/forward_descriptors.json")
    args = parser.parse_args(argv)

    frames = read_structures(args.release / layout.RELEASE_FILES["structures"])
    result = {"release": str(args.release.relative_to(ROOT) if args.release.is_relative_to(ROOT) else args.release),
              "cells": len(frames), "descriptors": {}}
    for kind in args.descriptors:
        settings = DescriptorSettings(kind=kind)
        describe(next(iter(frames.values())), settings)  # the first call compiles (numba) / loads LAMMPS
        started, n_si, n_features = time.perf_counter(), 0, 0
        for cell, atoms in frames.items():
            rows = describe(atoms, settings, source=cell)  # every Si of the cell
            n_si, n_features = n_si + len(rows), rows.shape[1]
        seconds = time.perf_counter() - started
        result["descriptors"][kind] = {"si_sites": n_si, "features": n_features, "seconds": seconds,
                                       "sites_per_second": n_si / seconds}
        print(f"{kind:6s} {n_features:5d} features  {n_si} Si sites in {seconds:.2f} s: {n_si / seconds:.0f} sites/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
