"""Structure -> spectrum models on cells they never saw, beside the class-mean baseline (rule forward_evaluation)."""

import time

import xarray as xr

from siox_xanes.forward.descriptors import DescriptorSettings, describe_sites
from siox_xanes.forward.evaluation import evaluate_models
from siox_xanes.forward.models import SpectrumEnsemble
from siox_xanes.io import atomic_path, write_json
from siox_xanes.joblog import start
from siox_xanes.release.publish import read_structures_of

log = start(snakemake)
params = snakemake.params
structures = read_structures_of(list(snakemake.input.structures), params.cells)
with xr.open_dataset(snakemake.input.sites) as cube:
    sites = cube[["mu_norm", "n_o_neighbours"]].load()
cells, atom_index = sites["cell"].values.astype(str), sites["atom_index"].values
rows, descriptors = {}, {}
for kind in params.descriptors:
    # the forward model's own descriptor with its settings, the others with their defaults
    settings = (DescriptorSettings.from_block(params.descriptor) if kind == params.descriptor["kind"]
                else DescriptorSettings(kind=kind))
    started = time.perf_counter()
    rows[kind] = describe_sites(structures, cells, atom_index, settings)
    seconds = time.perf_counter() - started
    descriptors[kind] = {"n_features": int(rows[kind].shape[1]), "sites_per_second": len(cells) / seconds}
    log.info("%s: %d features, %.0f sites/s", kind, rows[kind].shape[1], len(cells) / seconds)
ensemble = SpectrumEnsemble.from_block(params.ensemble, seed=params.seed)
table, best = evaluate_models(rows, sites["mu_norm"].values, sites["n_o_neighbours"].values, cells,
                              sites["x"].values, sites["energy"].values, list(params.models), ensemble,
                              params.folds, params.seed, params.descriptor["kind"])
for split, models in table.items():
    for key, row in models.items():
        log.info("%-26s %-18s RMSE %.4f  class-mean %.4f  ratio %.3f", split, key, row["rmse"], row["baseline_rmse"],
                 row["ratio_to_baseline"])
write_json(snakemake.output.evaluation, {
    "n_sites": len(cells), "n_cells": len(set(cells)), "folds_by_cell": params.folds, "descriptors": descriptors,
    "ensemble": params.ensemble, "ensemble_descriptor": params.descriptor["kind"], "splits": table,
    "best_by_cell": best["model"], "units": "spectral RMSE of mu_norm (edge step 1) over the cube's energy grid"})
out = sites[["mu_norm", "n_o_neighbours"]].assign(
    prediction=(("site", "energy"), best["prediction"]), spread=(("site", "energy"), best["spread"]),
    class_mean_baseline=(("site", "energy"), best["baseline"]))
out.attrs.update(model=best["model"], split="by_cell", folds=params.folds,
                 note="out-of-fold: every site predicted by the model of the fold that held its cell out; "
                      "spread: the ensemble members' standard deviation (NaN for ridge models)")
with atomic_path(snakemake.output.predictions) as tmp:
    out.to_netcdf(tmp)
