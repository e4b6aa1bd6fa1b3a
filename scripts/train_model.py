"""Model selection, final fit and test metrics of one (energy window, target) (rule train_model)."""

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from siox_xanes.dataset.cubes import config_hash
from siox_xanes.io import atomic_path, write_json
from siox_xanes.layout import MODEL_INPUT, PDOS_TARGET
from siox_xanes.learning.fidelity import SiteKeys
from siox_xanes.learning.nets import device, save_model
from siox_xanes.learning.training import selected_candidate, train_and_evaluate
from siox_xanes.joblog import start

log = start(snakemake)
wc, out, params = snakemake.wildcards, snakemake.output, snakemake.params
with xr.open_dataset(snakemake.input.sites) as ds:
    ds = ds.load()
log.info("target %s, window %s %s eV, %d sites, device %s", wc.target, wc.window, params.window, ds.sizes["site"], device())
candidates, chosen = params.candidates, None
if snakemake.input.selection:  # one architecture across the ablation: the full window's CV chose it
    chosen = selected_candidate(json.loads(Path(snakemake.input.selection).read_text()))
    candidates = [candidates[chosen]]
    log.info("network: candidate %d, chosen by the full window's CV", chosen)
learning = {"seed": params.seed, "cv_folds": params.cv_folds, "training": params.training,
            "candidates": {wc.target: candidates}}
res = train_and_evaluate(ds, wc.target, params.window, learning)
if chosen is None:
    chosen = selected_candidate({"cv": res["cv"]})
    selected_by = f"{res['cv_folds']}-fold CV on this window" if res["cv"] else "the only candidate"
else:
    selected_by = "the full window's CV"
meta = {
    "target": wc.target, "window": wc.window, "window_eV": list(params.window),
    "energy": ds["energy"].values[res["mask"]].tolist(), "r": ds["r"].values.tolist() if wc.target == "rdf" else None,
    "pdos_energy": ds["pdos_energy"].values.tolist() if wc.target == PDOS_TARGET else None,
    "config_sha256": config_hash(snakemake.config),  # provenance: the config of this run
    "cube_config_sha256": ds.attrs.get("config_sha256"),
    "input": MODEL_INPUT, "normalisation": json.loads(ds[MODEL_INPUT].attrs["normalisation"]),
    "cv": res["cv"], "selected_candidate": chosen, "selected_by": selected_by,
}
save_model(out.model, res["model"], meta)
own = ds.isel(site=SiteKeys.of(ds).own())  # the run's own sites (a pooled cube's lower-fidelity rows only train)
pred = xr.Dataset(
    {"prediction": (("site", "output"), res["prediction"]), "truth": (("site", "output"), res["truth"]),
     "split": ("site", own["split"].values)},
    coords={"cell": ("site", own["cell"].values), "atom_index": ("site", own["atom_index"].values),
            "x": ("site", own["x"].values), "n_o_neighbours": ("site", own["n_o_neighbours"].values)},
    attrs={"target": wc.target, "window": wc.window,
           "units": {"valence": "e", PDOS_TARGET: "states/eV (s then p)"}.get(wc.target, "1")},
)
if wc.target == PDOS_TARGET:  # the rows are s then p on this grid
    pred = pred.assign_coords(pdos_energy=("pdos_energy", ds["pdos_energy"].values, dict(ds["pdos_energy"].attrs)))
with atomic_path(out.predictions) as tmp:
    pred.to_netcdf(tmp)
with atomic_path(out.learning_curve) as tmp:
    pd.DataFrame(res["model"].history).rename_axis("epoch").to_csv(tmp, float_format="%.6g")
write_json(out.metrics, {**res["metrics"], "window": wc.window, "cv": res["cv"], "cv_folds": res["cv_folds"],
                         "selected_candidate": chosen, "selected_by": selected_by})
log.info("test RMSE %.4f, R2 %.4f (%d epochs)", res["metrics"]["test"]["rmse"], res["metrics"]["test"]["r2"], res["metrics"]["epochs"])
