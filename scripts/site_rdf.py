"""Per-site RDFs and first shells of the selected Si sites of one cell (rule site_rdf)."""

import numpy as np
import xarray as xr

from siox_xanes.io import atomic_path, read_structure
from siox_xanes.dataset.rdf import neighbour_summary, site_rdfs
from siox_xanes.joblog import start

log = start(snakemake)
atoms = read_structure(snakemake.input.structure)
sites = list(snakemake.params.sites)
params = snakemake.params
g = site_rdfs(atoms, sites, params.r_max, params.bins, params.sigma)
nb = neighbour_summary(atoms, sites, snakemake.params.cutoffs)
ds = xr.Dataset(
    {
        "g_total": (("rdf_site", "r"), g["total"]),
        "g_si": (("rdf_site", "r"), g["Si"]),
        "g_o": (("rdf_site", "r"), g["O"]),
        "position": (("rdf_site", "xyz"), atoms.positions[sites]),
        **{k: ("rdf_site", v) for k, v in nb.items()},
    },
    coords={"r": ("r", g["r"], {"units": "angstrom"}), "atom_index": ("rdf_site", np.asarray(sites))},
    attrs={"cell": snakemake.wildcards.cell, "rdf_r_max": params.r_max, "rdf_bins": params.bins,
           "rdf_sigma_angstrom": params.sigma},
)
log.info("%d sites, first-shell O counts %s", len(sites), nb["n_o_neighbours"].tolist())
with atomic_path(snakemake.output.rdf) as tmp:
    ds.to_netcdf(tmp)
