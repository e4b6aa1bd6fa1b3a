"""Linear regression of the valence on three spectral descriptors (rule linear_baseline)."""

import xarray as xr
from sklearn.linear_model import LinearRegression

from siox_xanes.io import write_json
from siox_xanes.layout import MODEL_INPUT
from siox_xanes.learning.baseline import baseline_descriptors
from siox_xanes.learning.fidelity import SiteKeys
from siox_xanes.learning.metrics import metrics
from siox_xanes.learning.training import window_mask
from siox_xanes.joblog import start

log = start(snakemake)
with xr.open_dataset(snakemake.input.sites) as ds:
    ds = ds.load()
mask = window_mask(ds["energy"].values, snakemake.params.window)
d = baseline_descriptors(ds["energy"].values[mask], ds[MODEL_INPUT].values[:, mask])
q = ds["bader_charge"].values
train, test = ds["split"].values == 0, ds["split"].values == 1  # a pooled cube's allowed lower-fidelity rows train
own = ~SiteKeys.of(ds).lower
reg = LinearRegression().fit(d[train], q[train])
pred = reg.predict(d)
result = {
    "descriptors": ["white_line_intensity", "integrated_white_line", "edge_position_eV"],
    "coefficients": reg.coef_.tolist(), "intercept": float(reg.intercept_),
    "test": metrics(q[test], pred[test]), "train": metrics(q[train & own], pred[train & own]),
    "prediction": pred[own].tolist(), "truth": q[own].tolist(), "split": ds["split"].values[own].tolist(),
    **({"n_train_lower_fidelity": int((train & ~own).sum())} if not own.all() else {}),
}
write_json(snakemake.output.metrics, result)
log.info("baseline test RMSE %.4f, R2 %.4f", result["test"]["rmse"], result["test"]["r2"])
