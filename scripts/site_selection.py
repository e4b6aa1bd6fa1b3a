"""The order in which the candidate glass sites get DFT, from their descriptors alone (checkpoint
site_selection); xanes.site_selection.amount takes its prefix in the DAG."""

from siox_xanes.forward.descriptors import DescriptorSettings
from siox_xanes.forward.selection import order_candidate_sites
from siox_xanes.io import read_structure, write_json
from siox_xanes.joblog import start

log = start(snakemake)
params = snakemake.params
candidates = {cell: list(sites) for cell, sites in params.candidates.items()}
structures = {cell: read_structure(path) for cell, path in zip(params.cells, snakemake.input.structures)}
settings = DescriptorSettings.from_block(params.descriptor)
order = order_candidate_sites(structures, candidates, settings, params.method, seed=params.seed, ridge=params.ridge)
log.info("%s over %d candidate sites of %d cells (%s descriptor); first ten: %s",
         params.method, len(order), len(candidates), settings.kind, order[:10])
write_json(snakemake.output.order, {"method": params.method, "descriptor": params.descriptor, "seed": params.seed,
                                    "ridge": params.ridge, "order": [[cell, site] for cell, site in order]})
