"""Site-trained models applied to the per-cell averaged spectra (rule averaged_evaluation)."""

import numpy as np
import xarray as xr

from siox_xanes.io import atomic_path, write_json
from siox_xanes.layout import MODEL_INPUT
from siox_xanes.learning.metrics import metrics, per_row_rmse
from siox_xanes.learning.nets import load_model, on_model_grid
from siox_xanes.joblog import start

log = start(snakemake)
with xr.open_dataset(snakemake.input.systems) as ds:
    ds = ds.load()
out = {}
preds = {}
for target, path in (("valence", snakemake.input.valence), ("rdf", snakemake.input.rdf)):
    model, meta = load_model(path)
    preds[target] = model.predict(ds[MODEL_INPUT].values[:, on_model_grid(ds["energy"].values, meta)])
truth_q = ds["mean_bader_charge"].values
pq = preds["valence"].ravel()
out["mean_valence"] = {**metrics(truth_q, pq), "max_deviation": float(np.abs(pq - truth_q).max())}
rows = per_row_rmse(ds["rdf_total"].values, preds["rdf"])
out["mean_rdf_rmse"] = {"per_system": rows.tolist(), "max": float(rows.max()), "median": float(np.median(rows))}
out["systems"] = ds["cell"].values.tolist()
out["all_sites_computed"] = ds["all_sites_computed"].values.tolist()
write_json(snakemake.output.metrics, out)
pred = xr.Dataset(
    {"mean_valence_pred": ("system", pq), "mean_valence_true": ("system", truth_q),
     "mean_rdf_pred": (("system", "r"), preds["rdf"]), "mean_rdf_true": (("system", "r"), ds["rdf_total"].values)},
    coords={"cell": ("system", ds["cell"].values), "x": ("system", ds["x"].values), "r": ds["r"].values},
)
with atomic_path(snakemake.output.predictions) as tmp:
    pred.to_netcdf(tmp)
log.info("averaged spectra: mean-valence RMSE %.4f, R2 %.4f; mean-RDF RMSE max %.4f",
         out["mean_valence"]["rmse"], out["mean_valence"]["r2"], out["mean_rdf_rmse"]["max"])
