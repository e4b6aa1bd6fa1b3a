"""Do v2's Gamma-only spectra help a network learn from v3's converged ones (issue 34: transfer
across fidelities, to be used only where it measurably helps)?

Sites: v3's finished configured glass sites (`runs/medium`, read as `fidelity_comparison.py`
reads them: v3's global shift, the cubes' normalisation), each with its targets from v2's site cube
(the same structures and ground states, so the same Bader charge and RDF). Folds of whole cells
(seeded): no test site's cell is in any training set. Per fold, four ways to train, each scored on
the fold's v3 test sites:

* `v3 only`: the v3 sites of the training cells;
* `v2 only`: every v2 (Gamma-only) site of the training cells, applied to v3 spectra;
* `v2 then v3`: `v2 only`, then fine-tuned on the v3 sites (learning rate / 3, `nets.fit(start=)`);
* `v2 + v3 pooled`: both sets together, as one training set.

and, for scale, `v2 only` scored on the v2 spectra of the same test sites (`v2 only on v2`: what the
Gamma-only model does on the fidelity it learned). The network is the config's first candidate of
each target. Prints the RMSE per way and target (mean over folds and pooled over every test site)
and writes bench/results/fidelity_transfer.json.
Torch runs on one thread (the DFT run keeps the other core busy).

    .venv/bin/python bench/fidelity_transfer.py [--workdir runs/medium] [--v2 data/siox-medium-v2] [--targets valence rdf pdos]

The PDOS (target `pdos`) comes from the run's finished cells (`pdos_networks.with_pdos`); sites of
cells without one are left out of that target's training and test rows.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from fidelity_comparison import ROOT, medium_config, v3_sites
from pdos_networks import with_pdos
from siox_xanes.forward.evaluation import split_folds
from siox_xanes.io import write_json
from siox_xanes.layout import MODEL_INPUT, PDOS_TARGET
from siox_xanes.learning.metrics import metrics
from siox_xanes.learning.nets import Fitted, fit, net_config
from siox_xanes.learning.training import target_values

OUT = ROOT / "bench/results/fidelity_transfer.json"
WAYS = ("v3 only", "v2 only", "v2 then v3", "v2 + v3 pooled")
ON_V2 = "v2 only on v2"  # the v2 model on the test sites' v2 spectra
FINE_TUNING_RATE = 1 / 3  # of the candidate's learning rate


def train_one_way(way: str, v2_x, v2_y, v3_x, v3_y, cfg, seed: int) -> Fitted:
    """The network trained one way (v2_*, v3_*: the training cells' rows)."""
    if way == "v3 only":
        return fit(v3_x, v3_y, cfg, seed)
    if way == "v2 + v3 pooled":
        return fit(np.vstack([v2_x, v3_x]), np.vstack([v2_y, v3_y]), cfg, seed)
    first = fit(v2_x, v2_y, cfg, seed)
    if way == "v2 only":
        return first
    tuned = replace(cfg, learning_rate=cfg.learning_rate * FINE_TUNING_RATE)
    return fit(v3_x, v3_y, tuned, seed, start=first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs/medium")
    parser.add_argument("--v2", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--targets", nargs="+", default=["valence", "rdf"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = medium_config()
    learning, seed = config["learning"], config["learning"]["seed"]
    with xr.open_dataset(args.v2 / "spectra_sites.nc") as v2:
        v2 = v2.load()
    if PDOS_TARGET in args.targets:  # the PDOS of the cells the run has finished (NaN elsewhere)
        v2 = with_pdos(v2, args.workdir)
    _, rows, v3_norm, _ = v3_sites(args.workdir, v2)
    v3_cells = np.array([r["cell"] for r in rows])
    v3_k = np.array([r["k"] for r in rows])
    v2_cells = np.asarray(v2["cell"].values)
    v2_x = np.asarray(v2[MODEL_INPUT].values, float)
    result = {"v3_sites": len(rows), "v3_cells": int(len(set(v3_cells))), "folds": args.folds,
              "fine_tuning_rate": FINE_TUNING_RATE, "targets": {}}
    # the cells each fold holds out (the v2 sites of those cells stay out of its training too)
    folds = [np.unique(v3_cells[rows]) for rows in split_folds("by_cell", v3_cells, None, args.folds, seed)]
    for target in args.targets:
        cfg = net_config(learning["candidates"][target][0], learning["training"])
        y_all = target_values(v2, target)
        known = np.isfinite(y_all).all(axis=1)  # the PDOS: only the cells with a finished PDOS
        truth, pred = [], {w: [] for w in (*WAYS, ON_V2)}
        per_fold = {w: [] for w in (*WAYS, ON_V2)}
        for f, test_cells in enumerate(folds):
            test = np.isin(v3_cells, test_cells) & known[v3_k]
            train_v2 = ~np.isin(v2_cells, test_cells) & known
            train_v3 = ~np.isin(v3_cells, test_cells) & known[v3_k]
            x_tr3, y_tr3 = v3_norm[train_v3], y_all[v3_k[train_v3]]
            truth.append(y_all[v3_k[test]])
            for way in WAYS:
                model = train_one_way(way, v2_x[train_v2], y_all[train_v2], x_tr3, y_tr3, cfg, seed + f)
                p = model.predict(v3_norm[test]).reshape(truth[-1].shape)
                pred[way].append(p)
                per_fold[way].append(metrics(truth[-1], p)["rmse"])
                if way == "v2 only":
                    p = model.predict(v2_x[v3_k[test]]).reshape(truth[-1].shape)
                    pred[ON_V2].append(p)
                    per_fold[ON_V2].append(metrics(truth[-1], p)["rmse"])
            print(f"{target} fold {f}: " + ", ".join(f"{w} {v[-1]:.4f}" for w, v in per_fold.items()), flush=True)
        t = np.vstack(truth)
        result["targets"][target] = {w: {"rmse_pooled": metrics(t, np.vstack(pred[w]))["rmse"],
                                         "rmse_fold_mean": float(np.mean(per_fold[w])),
                                         "rmse_fold_std": float(np.std(per_fold[w])), "rmse_folds": per_fold[w]}
                                     for w in (*WAYS, ON_V2)}
    write_json(args.out, result)
    print(f"v3 sites {result['v3_sites']} in {result['v3_cells']} cells, {args.folds} folds of cells")
    print("| target | " + " | ".join((*WAYS, ON_V2)) + " |")
    print("| --- | " + "---: | " * (len(WAYS) + 1))
    for target, r in result["targets"].items():
        print(f"| {target} | " + " | ".join(f"{r[w]['rmse_pooled']:.4f} ({r[w]['rmse_fold_mean']:.4f} ± "
                                             f"{r[w]['rmse_fold_std']:.4f})" for w in (*WAYS, ON_V2)) + " |")


if __name__ == "__main__":
    main()
