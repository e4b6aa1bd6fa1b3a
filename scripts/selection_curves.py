"""Learning curves of the site selections: the error on the sites not computed against the fraction computed (rule selection_curves)."""

import numpy as np
import xarray as xr

from siox_xanes.forward.descriptors import Compressor, DescriptorSettings, describe_sites
from siox_xanes.forward.evaluation import selection_curves, selection_orders
from siox_xanes.forward.models import SpectrumEnsemble
from siox_xanes.io import write_json
from siox_xanes.joblog import start
from siox_xanes.learning.nets import load_model, on_model_grid
from siox_xanes.release.publish import read_structures_of

log = start(snakemake)
params = snakemake.params
structures = read_structures_of(list(snakemake.input.structures), params.cells)
with xr.open_dataset(snakemake.input.sites) as cube:
    sites = cube[["mu_norm", "n_o_neighbours", "bader_charge"]].load()
cells = sites["cell"].values.astype(str)
spectra, classes = sites["mu_norm"].values, sites["n_o_neighbours"].values
rows = describe_sites(structures, cells, sites["atom_index"].values, DescriptorSettings.from_block(params.descriptor))
features = Compressor(0.999).fit(rows).transform(rows)  # label-free: every site's descriptors, as before any DFT
counts = [int(np.ceil(f * len(cells))) for f in params.fractions]
ensemble = SpectrumEnsemble.from_block(params.ensemble, seed=params.seed)
orders = selection_orders(features, spectra, cells, counts, list(params.methods), params.random_repeats,
                          params.seed, ensemble)
valence_net, meta = load_model(snakemake.input.valence)
valence_grid = on_model_grid(sites["energy"].values, meta)


def mean_valence(averaged):
    return valence_net.predict(averaged[:, valence_grid]).ravel()


curves = selection_curves(features, spectra, classes, cells, list(params.fractions), orders,
                          valence=(mean_valence, sites["bader_charge"].values))
for method, curve in curves.items():
    log.info("%-22s %s", method, "  ".join(f"{f}: {v['rmse_not_computed']:.4f} ({v['averaged_max_deviation_pct']:.1f} %, "
                                           f"valence x{v['valence_rmse_ratio']:.2f})" for f, v in curve.items()))
write_json(snakemake.output.curves, {
    "n_sites": len(cells), "n_cells": len(set(cells)), "descriptor": params.descriptor, "model": "ridge_raw",
    "random_repeats": params.random_repeats, "curves": curves,
    "units": "spectral RMSE of mu_norm on the sites not computed; averaged-spectrum deviations in % of each "
             "cell's all-DFT averaged peak (largest |delta mu| over the grid); valence RMSE in e, of the cells' "
             "mean valence read by the full window's valence network off the averaged spectra",
    "valence_model": str(snakemake.input.valence)})
