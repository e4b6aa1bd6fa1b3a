"""The valence interval's coverage per composition with every cell held out once (rule predictor_cross_validation)."""

import json
from pathlib import Path

import torch
import xarray as xr

from siox_xanes.io import write_json
from siox_xanes.joblog import start
from siox_xanes.learning.predictor import PredictorSettings
from siox_xanes.learning.predictor_cv import valence_cross_validation
from siox_xanes.learning.training import selected_candidate
from siox_xanes.measured.normalise import Normalisation

log = start(snakemake)
torch.set_num_threads(snakemake.threads)
params = snakemake.params
# the valence network the full window's CV chose, as train_predictor takes it
chosen = selected_candidate(json.loads(Path(snakemake.input.selection[0]).read_text()))
learning = {"training": params.learning["training"], "candidates": {"valence": [params.learning["candidates"]["valence"][chosen]]}}
settings = PredictorSettings.from_config(params.uncertainty)
with xr.open_dataset(snakemake.input.sites) as s, xr.open_dataset(snakemake.input.systems) as y:
    sites, systems = s.load(), y.load()
# one conformal scale against the configured bins, on the same ensembles, and each with one scale per
# composition (what train_predictor ships for users who state their sample's composition)
bins = tuple(sorted({1, settings.valence_bins}))
result = valence_cross_validation(sites, systems, learning, Normalisation.from_config(params.normalisation), settings,
                                  settings.cross_validation_folds, bins, log=log.info, known_composition=True)
result["valence_bins"] = settings.valence_bins
result["network"] = {"candidate": chosen, **learning["candidates"]["valence"][0]}
write_json(snakemake.output[0], result)
