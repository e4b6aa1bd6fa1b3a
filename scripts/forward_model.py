"""The structure -> spectrum model of `siox-xanes spectrum`, with its by-cell errors (rule forward_model)."""

import numpy as np
import xarray as xr

from siox_xanes.forward.descriptors import DescriptorSettings, describe_sites
from siox_xanes.forward.spectrum import save_bundle, train_forward
from siox_xanes.io import write_json
from siox_xanes.joblog import start
from siox_xanes.release.publish import read_structures_of

log = start(snakemake)
params = snakemake.params
structures = read_structures_of(list(snakemake.input.structures), params.cells)
with xr.open_dataset(snakemake.input.sites) as cube:
    sites = cube[["mu_norm", "n_o_neighbours", "n_si_neighbours"]].load()
    # which xspectra meshes made the training spectra (v2 predates the record: Gamma only)
    meshes = (sorted({"x".join(map(str, k)) for k in cube["xspectra_kpoints"].values.tolist()})
              if "xspectra_kpoints" in cube else ["1x1x1 (not recorded)"])
cells = sites["cell"].values.astype(str)
settings = DescriptorSettings.from_block(params.descriptor)
rows = describe_sites(structures, cells, sites["atom_index"].values, settings)
shells = np.column_stack([sites["n_o_neighbours"].values, sites["n_si_neighbours"].values])
bundle = train_forward(rows, sites["mu_norm"].values, cells, shells, sites["energy"].values, settings, params.cutoffs,
                       compression=params.compression, n_folds=params.folds, confidence=params.confidence,
                       seed=params.seed, provenance={"sites": str(snakemake.input.sites),
                                                     "xspectra_kpoints": meshes})
log.info("by cell: RMSE %.4f against the class-mean baseline %.4f (ratio %.2f); cells' averaged spectra off by "
         "a median %.1f %% (largest %.1f %%) of the peak", bundle.metrics["by_cell_rmse"],
         bundle.metrics["class_mean_baseline_rmse"], bundle.metrics["ratio_to_baseline"],
         100 * bundle.metrics["cell_average_median_max_error_over_peak"],
         100 * bundle.metrics["cell_average_max_error_over_peak"])
save_bundle(bundle, snakemake.output.model)
write_json(snakemake.output.metrics, {**bundle.metrics, "descriptor": params.descriptor,
                                      "compression": params.compression, "confidence": params.confidence,
                                      "distance_threshold": bundle.distance_threshold,
                                      "first_shells_seen": bundle.shells_seen})
