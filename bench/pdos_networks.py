"""The PDOS networks on real PDOS before v3 is complete (issue 38): every Si of the cells whose PDOS
the v3 run has finished (`runs/medium/results/pdos`), its spectrum taken from the v2 release
(Gamma-only; v3's converged spectra exist for a few sites only so far), folds of whole cells.

Per fold: each PDOS candidate of the config (seed 004's 1D CNN and the MLP) and template matching
(the nearest training spectrum's PDOS, the baseline seed 004 beat), scored with
`learning.pdos.pdos_errors`: RMSE overall and per orbital and 7.5 eV region (states/eV), and the
local gap read from the predicted p PDOS against the computed one. A check that the DAG's PDOS
learning works on real data and a first look at its errors; the report's numbers come from v3.
For the local gap also readings of the gap alone: networks trained on the gap (or its logarithm)
and the mean gap of the k nearest training spectra.
With --windows also the ablation: the first candidate on each sub-window of the spectrum alone,
per region (seed 004's Figs. 3-4 asked of the absolute windows of the config).

    .venv/bin/python bench/pdos_networks.py [--workdir runs/medium] [--v2 data/siox-medium-v2] [--folds 5] [--windows]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from fidelity_comparison import ROOT, medium_config
from siox_xanes import layout
from siox_xanes.forward.evaluation import split_folds
from siox_xanes.io import write_json
from siox_xanes.learning.nets import fit, net_config
from siox_xanes.learning.metrics import better_share
from siox_xanes.learning.pdos import nearest_rows, pdos_errors, template_matching
from siox_xanes.learning.training import target_values, window_mask

OUT = ROOT / "bench/results/pdos_networks.json"
NEIGHBOURS = (1, 3, 5, 10)


def with_pdos(v2: xr.Dataset, workdir: Path) -> xr.Dataset:
    """The v2 site cube with the s and p PDOS and local gap of every Si of the cells whose PDOS the
    run has finished (NaN at the other sites), as the v3 cubes hold them."""
    index = {(c, int(a)): k for k, (c, a) in enumerate(zip(v2["cell"].values, v2["atom_index"].values))}
    paths = sorted((workdir / Path(layout.CELL_PDOS).parent).glob("x*.nc"))
    if not paths:
        raise SystemExit(f"no PDOS under {workdir / Path(layout.CELL_PDOS).parent}")
    with xr.open_dataset(paths[0]) as p:
        energy, threshold = p["pdos_energy"].values, p["local_gap"].attrs["threshold_states_per_eV"]
    n = v2.sizes["site"]
    s, pp, gap = np.full((n, len(energy)), np.nan), np.full((n, len(energy)), np.nan), np.full(n, np.nan)
    for path in paths:
        with xr.open_dataset(path) as p:
            rows = [index[(p.attrs["cell"], int(a))] for a in p["atom_index"].values]
            s[rows], pp[rows], gap[rows] = p["pdos_s"].values, p["pdos_p"].values, p["local_gap"].values
    return v2.assign_coords(pdos_energy=energy).assign(
        pdos_s=(("site", "pdos_energy"), s), pdos_p=(("site", "pdos_energy"), pp),
        local_gap=("site", gap, {"threshold_states_per_eV": threshold}))


def pdos_sites(workdir: Path, v2: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(v2 normalised spectra, PDOS rows s then p, computed local gaps, cells, PDOS energy grid) of
    every Si of the cells with a finished PDOS."""
    ds = with_pdos(v2, workdir)
    has = np.isfinite(ds["local_gap"].values)
    y = target_values(ds, layout.PDOS_TARGET)[has]
    return (np.asarray(ds[layout.MODEL_INPUT].values, float)[has], y, np.asarray(ds["local_gap"].values, float)[has],
            np.asarray(ds["cell"].values)[has], np.asarray(ds["pdos_energy"].values, float))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs/medium")
    parser.add_argument("--v2", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--windows", action="store_true", help="also the first candidate on each sub-window alone")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = medium_config()
    learning, seed = config["learning"], config["learning"]["seed"]
    threshold = config["pdos"]["gap_threshold"]
    with xr.open_dataset(args.v2 / "spectra_sites.nc") as v2:
        v2 = v2.load()
    x, y, gap, cells, energy = pdos_sites(args.workdir, v2)
    tests = [np.isin(np.arange(len(y)), rows) for rows in split_folds("by_cell", cells, None, args.folds, seed)]
    candidates = [net_config(c, learning["training"]) for c in learning["candidates"][layout.PDOS_TARGET]]
    ways = [f"candidate {i} ({c.kind})" for i, c in enumerate(candidates)] + ["template matching"]
    truth, pred, match_distance = [], {w: [] for w in ways}, []
    # the local gap as a target of its own: the valence network's first and last (regularised)
    # candidates, on the gap and on its logarithm (the gaps span 0.1-7.5 eV); and the mean gap of
    # the k nearest training spectra (template matching's gap is k = 1)
    gap_nets = {f"network, valence candidate {i}{', log gap' if log else ''}":
                (net_config(learning["candidates"]["valence"][i], learning["training"]), log)
                for i in (0, len(learning["candidates"]["valence"]) - 1) for log in (False, True)}
    gap_ways = [*gap_nets, *(f"mean gap of the {k} nearest spectra" for k in NEIGHBOURS)]
    gap_true, gap_pred = [], {w: [] for w in gap_ways}
    for f, test in enumerate(tests):
        truth.append(y[test])
        for way, cfg in zip(ways, candidates):
            pred[way].append(fit(x[~test], y[~test], cfg, seed + f).predict(x[test]).reshape(y[test].shape))
        pred["template matching"].append(template_matching(x[~test], y[~test], x[test]))
        nearest = nearest_rows(x[~test], x[test])[:, 0]  # the spectral MSE to the matched spectrum
        match_distance.append(np.mean((x[~test][nearest] - x[test]) ** 2, axis=1))
        for way, (cfg, log) in gap_nets.items():
            target = np.log(gap) if log else gap
            out = fit(x[~test], target[~test], cfg, seed + f).predict(x[test]).ravel()
            gap_pred[way].append(np.exp(out) if log else out)
        for k in NEIGHBOURS:
            gap_pred[f"mean gap of the {k} nearest spectra"].append(template_matching(x[~test], gap[~test], x[test], k))
        gap_true.append(gap[test])
        print(f"fold {f}: {int(test.sum())} test sites", flush=True)
    t = np.vstack(truth)
    by_window = {}
    if args.windows:  # the ablation: the first candidate on each sub-window of the spectrum alone
        grid = np.asarray(v2["energy"].values, float)
        for name in learning["ablation"]["sub_windows"]:
            mask = window_mask(grid, learning["windows"][name])
            rows = []
            for f, test in enumerate(tests):
                rows.append(fit(x[~test][:, mask], y[~test], candidates[0], seed + f).predict(x[test][:, mask]))
            by_window[name] = {"window_eV": learning["windows"][name],
                               **pdos_errors(t, np.vstack(rows).reshape(t.shape), energy, threshold)}
            print(f"window {name}: RMSE {by_window[name]['rmse']:.4f}", flush=True)
    result = {"sites": int(len(y)), "cells": int(len(set(cells))), "folds": args.folds, "spectra": "v2 (Gamma-only)",
              "gap_threshold_states_per_eV": threshold,
              "computed_local_gap_eV": {"mean": float(np.mean(gap)), "min": float(np.min(gap)), "max": float(np.max(gap))},
              "ways": {w: pdos_errors(t, np.vstack(pred[w]), energy, threshold) for w in ways}}
    # seed 004's Fig. 5: on how many sites each network beats template matching, and whether it wins
    # more where the nearest training spectrum is far (seed 004: ML helps most where no similar spectrum exists)
    template = np.vstack(pred["template matching"])
    far = np.concatenate(match_distance) > np.median(np.concatenate(match_distance))
    for w in ways[:-1]:
        net = np.vstack(pred[w])
        result["ways"][w]["better_than_template"] = {"all": better_share(t, net, template),
                                                     "near_half": better_share(t[~far], net[~far], template[~far]),
                                                     "far_half": better_share(t[far], net[far], template[far])}
    truth_gap = np.concatenate(gap_true)
    result["local_gap_alone"] = {w: gap_errors(np.concatenate(p), truth_gap) for w, p in gap_pred.items()}
    if by_window:
        result["windows"] = by_window
    write_json(args.out, result)
    print(f"{result['sites']} Si sites of {result['cells']} cells, {args.folds} folds of cells; spectra from v2")
    regions = list(result["ways"][ways[0]]["regions"])
    print("| way | RMSE | local gap MAE (eV, scored) | " + " | ".join(regions) + " |")
    print("| --- | ---: | ---: | " + "---: | " * len(regions))
    for w, r in result["ways"].items():
        g = r["local_gap"]
        print(f"| {w} | {r['rmse']:.4f} | {g['mae_eV']:.2f} ({g['n_scored']}/{g['n_sites']}) | "
              + " | ".join(f"{r['regions'][k]:.4f}" for k in regions) + " |")
    for w, r in result["ways"].items():
        if "better_than_template" in r:
            b = r["better_than_template"]
            print(f"{w}: better than template matching on {100 * b['all']:.0f} % of the sites "
                  f"({100 * b['near_half']:.0f} % where the matched spectrum is near, {100 * b['far_half']:.0f} % where far)")
    if by_window:
        print("| window (eV) | RMSE | " + " | ".join(regions) + " |")
        print("| --- | ---: | " + "---: | " * len(regions))
        for name, r in by_window.items():
            print(f"| {name} {r['window_eV'][0]:.2f}-{r['window_eV'][1]:.2f} | {r['rmse']:.4f} | "
                  + " | ".join(f"{r['regions'][k]:.4f}" for k in regions) + " |")
    print("| local gap, predicted on its own | MAE (eV) | RMSE (eV) | mean signed (eV) |")
    print("| --- | ---: | ---: | ---: |")
    for w, g in result["local_gap_alone"].items():
        print(f"| {w} | {g['mae_eV']:.2f} | {g['rmse_eV']:.2f} | {g['mean_signed_eV']:+.2f} |")


def gap_errors(prediction: np.ndarray, truth: np.ndarray) -> dict:
    d = prediction - truth
    return {"mae_eV": float(np.mean(np.abs(d))), "rmse_eV": float(np.sqrt(np.mean(d**2))), "mean_signed_eV": float(np.mean(d))}


if __name__ == "__main__":
    main()
