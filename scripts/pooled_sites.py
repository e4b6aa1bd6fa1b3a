"""The run's site cube with a lower-fidelity release's sites as training-only rows (rule pooled_sites)."""

import json
from pathlib import Path

import xarray as xr

from siox_xanes.io import atomic_path
from siox_xanes.joblog import start
from siox_xanes.layout import MODEL_INPUT
from siox_xanes.learning.fidelity import pooled_cube
from siox_xanes.measured.normalise import Normalisation, normalise_many

log = start(snakemake)
inp = snakemake.input
with xr.open_dataset(inp.sites) as own, xr.open_dataset(inp.lower) as lower:
    own, lower = own.load(), lower.load()
site_pdos = None
if "site_pdos" in inp.keys():
    with xr.open_dataset(inp.site_pdos) as completed:
        site_pdos = completed.load()
# the appended spectra normalised exactly as the own cube's were
norm = Normalisation.from_config(json.loads(own[MODEL_INPUT].attrs["normalisation"]))
pooled = pooled_cube(own, lower, lambda energy, mu: normalise_many(energy, mu, norm, computed=True),
                     site_pdos=site_pdos, source=Path(inp.lower).parent.name)
with atomic_path(snakemake.output.sites) as tmp:
    pooled.to_netcdf(tmp)
split = pooled["split"].values
log.info("%d own sites and %d of %s (%d training, %d copies of test sites left out)", pooled.attrs["n_sites_own"],
         pooled.attrs["n_sites_lower_fidelity"], pooled.attrs["lower_fidelity_source"],
         int(((pooled.fidelity == 1) & (split == 0)).sum()), int((split == -1).sum()))
