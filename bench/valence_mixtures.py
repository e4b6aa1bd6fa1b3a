"""Method study (issue 36): does the valence ensemble read averaged spectra without bias once it
also learns from mixtures of site spectra? Side by side on a release.

The predictor is trained twice on the same release, cells, networks and seeds: as configured
(`uncertainty.fractions.train_valence` off) and with the mixtures' mean valence added to the
valence ensemble's training set. Printed per variant: the mean signed error and RMSE of the valence
read from held-out test cells' averaged spectra (the bias the issue asks to remove: within
+-0.05 e), the 90 % interval's coverage on those cells' sites per composition (the issue's 85-95 %)
and overall. The networks are those the release's shipped models chose (`data/models/models.json`).

    .venv/bin/python bench/valence_mixtures.py [--release data/siox-medium-v2] [--members 5]

Results: bench/results/valence_mixtures.json (one entry per variant, written as each ends).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
import xarray as xr
import yaml

from siox_xanes import layout
from siox_xanes.learning.predictor import PredictorSettings, train_predictor
from siox_xanes.measured.normalise import Normalisation

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/results/valence_mixtures.json"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--release", default="data/siox-medium-v2")
    ap.add_argument("--members", type=int, default=None, help="ensemble members (default: the config's)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    card = json.loads((ROOT / layout.SHIPPED_MODELS_CARD).read_text())
    networks = card["predictor"]["networks"]
    learning = {"training": config["learning"]["training"],
                "candidates": {t: [{k: v for k, v in n.items() if k != "candidate"}] for t, n in networks.items()}}
    release = ROOT / args.release
    files = layout.RELEASE_FILES
    with xr.open_dataset(release / files["sites"]) as s, xr.open_dataset(release / files["systems"]) as y, \
            xr.open_dataset(release / files["reference_spectra"]) as r:
        sites, systems, refs = s.load(), y.load(), r.load()
    cells = refs["cell"].values.astype(str)
    references = {name: (refs["energy"].values, refs["mu"].values[cells == layout.reference_cell(name)].mean(axis=0))
                  for name in layout.REFERENCES}
    base = PredictorSettings.from_config(config["uncertainty"])
    if args.members:
        base = replace(base, ensemble_members=args.members)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name, settings in (("sites_only", replace(base, valence_from_mixtures=False)),
                           ("with_mixtures", replace(base, valence_from_mixtures=True))):
        started = time.process_time()
        _, ev, _ = train_predictor(sites, systems, references, learning, Normalisation.from_config(config["normalisation"]),
                                   settings, log=lambda *a: None)
        systems_metrics = ev["metrics"]["valence_systems"]
        row = {"release": args.release, "members": settings.ensemble_members, "cpu_s": round(time.process_time() - started),
               "averaged_mean_signed_error_e": systems_metrics["mean_signed_error"],
               "averaged_rmse_e": systems_metrics["rmse"], "test_cells": ev["coverage"]["valence_systems"]["n"],
               "site_coverage": ev["coverage"]["valence_sites"]["coverage"],
               "site_rmse_e": ev["metrics"]["valence_sites"]["rmse"],
               "coverage_by_composition": {x: c["coverage"] for x, c in ev["valence_coverage_by_composition"].items()},
               "valence_halfwidth_e": ev["valence_halfwidth"]}
        results[name] = row
        tmp = OUT.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1) + "\n")
        tmp.replace(OUT)
        print(f"{name}: averaged spectra mean signed error {row['averaged_mean_signed_error_e']:+.3f} e, RMSE "
              f"{row['averaged_rmse_e']:.3f} e ({row['test_cells']} test cells); sites coverage "
              f"{100 * row['site_coverage']:.0f} %, by composition "
              + ", ".join(f"{x} {100 * c:.0f} %" for x, c in row["coverage_by_composition"].items())
              + f"; {row['cpu_s']} CPU s", flush=True)


if __name__ == "__main__":
    main()
