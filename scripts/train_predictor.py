"""Deep ensembles, conformal intervals, class fractions and robustness curves (rule train_predictor)."""

import json
import math
from pathlib import Path

import pandas as pd
import torch
import xarray as xr

from siox_xanes.io import atomic_path, write_json
from siox_xanes.joblog import start
from siox_xanes.layout import REFERENCES, reference_cell
from siox_xanes.learning.predictor import PredictorSettings, save_predictor, train_predictor
from siox_xanes.learning.training import selected_candidate
from siox_xanes.measured.normalise import Normalisation

log = start(snakemake)
torch.set_num_threads(snakemake.threads)
params, out = snakemake.params, snakemake.output
# Each target's ensemble uses the network its full-window CV chose.
chosen = {}
for path in snakemake.input.selection:
    window_metrics = json.loads(Path(path).read_text())
    chosen[window_metrics["target"]] = selected_candidate(window_metrics)
learning = {"training": params.learning["training"],
            "candidates": {t: [c[chosen[t]]] for t, c in params.learning["candidates"].items()}}
log.info("networks (full-window CV): %s", learning["candidates"])
with xr.open_dataset(snakemake.input.sites) as s, xr.open_dataset(snakemake.input.systems) as y, \
        xr.open_dataset(snakemake.input.spectra) as spectra:
    sites, systems, spectra = s.load(), y.load(), spectra.load()
energy = spectra["energy"].values
cells = spectra["cell"].values.astype(str)
# Mean over each reference's computed sites, on the workflow's scale (after the global shift).
references = {name: (energy, spectra["mu"].values[cells == reference_cell(name)].mean(axis=0))
              for name in REFERENCES}
bundle, evaluation, robustness = train_predictor(
    sites, systems, references, learning, Normalisation.from_config(params.normalisation),
    PredictorSettings.from_config(params.uncertainty), log=log.info)
bundle["networks"] = {t: {"candidate": chosen[t], **learning["candidates"][t][0]} for t in chosen}
if "cross_validation" in snakemake.input.keys():  # for users who state their sample's composition
    scales = json.loads(Path(snakemake.input.cross_validation).read_text())["valence_scale_by_composition"]
    bundle["conformal"]["valence_scale_by_composition"] = scales
    log.info("valence interval scale by composition: %s", scales)
save_predictor(out.predictor, bundle)
# JSON has no infinity: an unbounded interval (too few calibration cells) is written as null.
evaluation = {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in evaluation.items()}
evaluation["networks"] = bundle["networks"]
write_json(out.evaluation, evaluation)
with atomic_path(out.robustness) as tmp:
    pd.DataFrame(robustness).to_csv(tmp, index=False, float_format="%.6g")
log.info("coverage: %s", evaluation["coverage"])
