"""How well the predictor's local gap and its interval hold on real PDOS, every cell held out once
(issue 38): the mean computed gap of the k nearest training spectra (`learning.predictor.gap_reading`)
with its normalised split-conformal interval (`gap_conformal`), for several k side by side.

Sites: every Si of the cells whose PDOS the v3 run has finished (`runs/medium/results/pdos`), each
with its raw spectrum from the v2 release (Gamma-only), normalised as the predictor normalises.
Folds: `predictor_cv.cell_folds` (each fold about the same share of every composition; each fold's
calibration cells the next share of each composition outside it). Per fold the input domain is
fitted on the training cells' augmented spectra and thresholded on the calibration cells', as
`train_predictor` does; no network is trained, so the whole study takes a minute or two.
Printed per k: MAE and mean signed error of the gap, the interval's coverage over all sites and per
composition (target: the config's confidence), and its median half-width.

    .venv/bin/python bench/local_gap_calibration.py [--workdir runs/medium] [--v2 data/siox-medium-v2] [--k 1 3 5 10]

Results: bench/results/local_gap_calibration.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from fidelity_comparison import ROOT, medium_config
from pdos_networks import with_pdos
from siox_xanes import layout
from siox_xanes.io import write_json
from siox_xanes.learning.augment import Augmentation, augmented_set
from siox_xanes.learning.domain import fit_domain
from siox_xanes.learning.predictor import gap_conformal, gap_reading
from siox_xanes.learning.predictor_cv import cell_folds
from siox_xanes.measured.normalise import Normalisation, normalise_many

OUT = ROOT / "bench/results/local_gap_calibration.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs/medium")
    parser.add_argument("--v2", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 5, 10])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    config = medium_config()
    unc = config["uncertainty"]
    norm, aug, conf = Normalisation.from_config(config["normalisation"]), Augmentation.from_config(unc["augmentation"]), unc["confidence"]
    with xr.open_dataset(args.v2 / "spectra_sites.nc") as v2:
        v2 = with_pdos(v2.load(), args.workdir)
    gap_all = np.asarray(v2["local_gap"].values, float)
    rows, gap = np.flatnonzero(np.isfinite(gap_all)), gap_all[np.isfinite(gap_all)]
    resolution = float(np.min(np.diff(v2["pdos_energy"].values)))  # the gaps' resolution: the grid step
    # while the run is under way: cell_folds needs >= 3 cells per composition
    cells = np.asarray(v2["cell"].values).astype(str)[rows]
    n_cells = {x: len({c for c in set(cells) if layout.parse_glass_cell(c)[0] == x}) for x in
               {layout.parse_glass_cell(c)[0] for c in cells}}
    kept = np.array([n_cells[layout.parse_glass_cell(c)[0]] >= 3 for c in cells])
    if not kept.all():
        print(f"left out (fewer than 3 cells with a PDOS): x = {', '.join(sorted(x for x, n in n_cells.items() if n < 3))}")
    rows, gap = rows[kept], gap[kept]
    energy = np.asarray(v2["energy"].values, float)
    mu_raw = np.asarray(v2["mu"].values, float)[rows]
    x = normalise_many(energy, mu_raw, norm, computed=True)
    cells = np.asarray(v2["cell"].values).astype(str)[rows]
    comps = np.array([layout.parse_glass_cell(c)[0] for c in cells])
    scored = {k: {"error": np.full(len(gap), np.nan), "half": np.full(len(gap), np.nan)} for k in args.k}
    for f, (test_cells, cal_cells) in enumerate(cell_folds(cells, args.folds, unc["calibration_fraction"], unc["seed"])):
        test, cal = np.isin(cells, test_cells), np.isin(cells, cal_cells)
        train = ~test & ~cal
        x_aug = augmented_set(energy, mu_raw[train], np.zeros(train.sum()), norm, aug, unc["seed"])[0]
        x_cal_aug = augmented_set(energy, mu_raw[cal], np.zeros(cal.sum()), norm, aug, unc["seed"] + 2)[0]
        domain = fit_domain(x_aug, x_cal_aug)
        for k in args.k:
            model = {"x": x[train], "gap": gap[train], "neighbours": k, "resolution_eV": resolution}
            model["conformal"] = gap_conformal(model, domain, x[cal], gap[cal], conf)
            mean, half = gap_reading(model, domain, x[test])
            scored[k]["error"][test], scored[k]["half"][test] = mean - gap[test], half
        print(f"fold {f}: {int(test.sum())} test sites of {len(test_cells)} cells, {int(cal.sum())} calibration", flush=True)
    result = {"sites": int(len(gap)), "cells": int(len(set(cells))), "folds": args.folds, "confidence": conf,
              "spectra": "v2 (Gamma-only)", "computed_gap_eV": {"mean": float(gap.mean()), "min": float(gap.min()),
                                                               "max": float(gap.max())}, "k": {}}
    for k, s in scored.items():
        error, half = s["error"], s["half"]
        inside = np.abs(error) <= half
        result["k"][k] = {"mae_eV": float(np.mean(np.abs(error))), "mean_signed_eV": float(np.mean(error)),
                          "coverage": float(inside.mean()), "median_halfwidth_eV": float(np.median(half)),
                          "by_composition": {x: {"n": int((comps == x).sum()), "coverage": float(inside[comps == x].mean()),
                                                 "median_halfwidth_eV": float(np.median(half[comps == x])),
                                                 "mae_eV": float(np.mean(np.abs(error[comps == x])))}
                                             for x in sorted(set(comps))}}
    write_json(args.out, result)
    xs = sorted(set(comps))
    print(f"{result['sites']} Si of {result['cells']} cells, every cell held out once; {100 * conf:.0f} % intervals")
    print("| k | MAE (eV) | mean signed (eV) | coverage | median half-width (eV) | coverage per x = " + ", ".join(xs) + " |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for k, r in result["k"].items():
        per = ", ".join(f"{100 * r['by_composition'][x]['coverage']:.0f}" for x in xs)
        print(f"| {k} | {r['mae_eV']:.2f} | {r['mean_signed_eV']:+.2f} | {100 * r['coverage']:.1f} % | "
              f"±{r['median_halfwidth_eV']:.2f} | {per} |")
    print("median half-width per x (k = %d): " % args.k[-1]
          + ", ".join(f"{x} ±{result['k'][args.k[-1]]['by_composition'][x]['median_halfwidth_eV']:.2f}" for x in xs))


if __name__ == "__main__":
    main()
