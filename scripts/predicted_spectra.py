"""Every Si of the run's cells from the shipped forward model, without DFT (rule predicted_spectra)."""

import time

from siox_xanes.forward.completion import predict_cells
from siox_xanes.forward.spectrum import load_bundle
from siox_xanes.io import atomic_path
from siox_xanes.joblog import start
from siox_xanes.release.publish import read_structures_of

log = start(snakemake)
params = snakemake.params
structures = read_structures_of(list(snakemake.input.structures), params.cells)
started = time.perf_counter()
predicted = predict_cells(load_bundle(snakemake.input.model), {c: structures[c] for c in params.cells})
seconds = time.perf_counter() - started
with atomic_path(snakemake.output.predicted) as tmp:
    predicted.to_netcdf(tmp)
log.info("%d Si sites of %d cells in %.1f s (%.0f sites/s); %d outside the training domain", predicted.sizes["site"],
         predicted.sizes["system"], seconds, predicted.sizes["site"] / seconds, int(predicted.n_sites_flagged.sum()))
