"""Every Si of every cell, computed or predicted by the forward model (rule completed_spectra)."""

import xarray as xr

from siox_xanes.dataset.site_pdos import with_site_pdos
from siox_xanes.forward.completion import complete_cells
from siox_xanes.forward.spectrum import load_bundle
from siox_xanes.io import atomic_path
from siox_xanes.joblog import start
from siox_xanes.release.publish import read_structures_of

log = start(snakemake)
params = snakemake.params
with xr.open_dataset(snakemake.input.sites) as cube:
    computed = cube[["mu_norm"]].load()
cells = params.cells or sorted(set(computed["cell"].values.astype(str)))
structures = read_structures_of(list(snakemake.input.structures), cells)
completed = complete_cells(load_bundle(snakemake.input.model), {c: structures[c] for c in cells}, computed)
if "pdos" in snakemake.input.keys():  # one file per cell, in the order of params.cells
    completed = with_site_pdos(completed, dict(zip(cells, snakemake.input.pdos)),
                               {c: structures[c].get_chemical_symbols() for c in cells})
with atomic_path(snakemake.output.completed) as tmp:
    completed.to_netcdf(tmp)
n = completed.sizes["site"]
log.info("%d Si sites in %d cells: %d computed, %d predicted (%d outside the training domain)", n,
         completed.sizes["system"], int((completed.spectrum_source == 0).sum()), int((completed.spectrum_source == 1).sum()),
         int(completed.n_sites_flagged.sum()))
