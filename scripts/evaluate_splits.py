"""The full-window network under three splits and a learning curve (rule evaluate_splits)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from siox_xanes.io import atomic_path, write_json
from siox_xanes.joblog import start
from siox_xanes.layout import MODEL_INPUT
from siox_xanes.learning.evaluation import evaluate_splits, learning_curve
from siox_xanes.learning.fidelity import SiteKeys
from siox_xanes.learning.nets import net_config
from siox_xanes.learning.training import selected_candidate, target_report, target_values, window_mask

log = start(snakemake)
torch.set_num_threads(snakemake.threads)
params, out, target = snakemake.params, snakemake.output, snakemake.wildcards.target
chosen = selected_candidate(json.loads(Path(snakemake.input.selection).read_text()))
cfg = net_config(params.candidates[chosen], params.training)
with xr.open_dataset(snakemake.input.sites) as ds:
    ds = ds.load()
x = np.asarray(ds[MODEL_INPUT].values, float)[:, window_mask(ds["energy"].values, params.window)]
y = target_values(ds, target)
cells, comps = ds["cell"].values.astype(str), ds["x"].values
ev = params.evaluation
keys = SiteKeys.of(ds)  # a pooled cube's lower-fidelity rows train, never test
log.info("%s: %d rows (%d lower-fidelity), %d cells, candidate %d %s", target, len(y), int(keys.lower.sum()),
         len(set(cells)), chosen, params.candidates[chosen])
baseline, describe = target_report(ds, target)
result = evaluate_splits(x, y, cells, comps, cfg, ev["splits"], ev["test_fraction"], params.seed,
                         baseline=baseline, describe=describe, keys=keys)
result = {"target": target, "candidate": chosen, "config": params.candidates[chosen], "n_sites": int((~keys.lower).sum()),
          "n_cells": int(len(set(cells))), "splits": result,
          **({"n_sites_lower_fidelity": int(keys.lower.sum()), "lower_fidelity_source": ds.attrs.get("lower_fidelity_source")}
             if keys.lower.any() else {})}
write_json(out.splits, result)
rows = learning_curve(x, y, cells, cfg, ev["learning_curve"], ev["test_fraction"], params.seed, keys=keys)
with atomic_path(out.learning_curve) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
for scheme, r in result["splits"].items():
    log.info("%s: test RMSE %.4f, R2 %.3f (%d test sites)", scheme, r["test"]["rmse"], r["test"]["r2"], r["n_test"])
