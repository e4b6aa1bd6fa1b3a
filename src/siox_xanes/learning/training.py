"""Model selection, final fit and evaluation of one (target, energy window) on the site cube."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..layout import MODEL_INPUT, PDOS_TARGET, TARGETS
from .fidelity import SiteKeys
from .metrics import better_share, metrics, per_row_rmse, selected_candidate  # noqa: F401 (the scripts import it from here)
from .nets import cross_validate, fit, net_config


def window_mask(energy: np.ndarray, window) -> np.ndarray:
    """Grid points with low <= E <= high: both edges are included, so neighbouring
    6.25 eV windows share their edge point (256 points on 1830-1880 eV fall on no edge
    except 1830 and 1880, which belong to windows a and h only)."""
    lo, hi = float(window[0]), float(window[1])
    mask = (energy >= lo - 1e-9) & (energy <= hi + 1e-9)
    if mask.sum() < 2:
        raise ValueError(f"window {lo}-{hi} eV selects {int(mask.sum())} grid points; at least 2 are needed")
    return mask


def target_values(ds: xr.Dataset, target: str) -> np.ndarray:
    """One row per site: the target's variable(s) of the cube, side by side."""
    if target not in TARGETS:
        raise ValueError(f"target '{target}': expected one of {list(TARGETS)}")
    names = TARGETS[target] if isinstance(TARGETS[target], tuple) else (TARGETS[target],)
    missing = [n for n in names if n not in ds]
    if missing:
        raise ValueError(f"target '{target}': the site cube has no {missing} (a run without that target's block?)")
    return np.hstack([np.asarray(ds[n].values, float).reshape(ds.sizes["site"], -1) for n in names])


def target_report(ds: xr.Dataset, target: str):
    """(baseline, describe) of a target beyond its RMSE, or (None, None): for the PDOS template
    matching and the errors per orbital, region and local gap (learning.pdos)."""
    if target != PDOS_TARGET:
        return None, None
    from .pdos import describer, template_matching

    return template_matching, describer(ds)


def grouped_metrics(y_true, y_pred, labels) -> dict:
    out = {}
    for lab in np.unique(labels):
        sel = labels == lab
        m = metrics(y_true[sel], y_pred[sel])
        if y_true.shape[1] > 1:
            m["mean_row_rmse"] = float(per_row_rmse(y_true[sel], y_pred[sel]).mean())
        out[str(lab)] = m
    return out


def train_and_evaluate(ds: xr.Dataset, target: str, window, learning: dict) -> dict:
    """5-fold CV over the candidates on the train/validation part, final fit on all of it,
    metrics on the stored test part only. In a pooled cube (learning.fidelity) the lower-fidelity
    rows its ``split`` allows train beside the own ones; ``prediction`` and ``truth`` are the own rows'."""
    mask = window_mask(ds["energy"].values, window)
    x = np.asarray(ds[MODEL_INPUT].values, float)[:, mask]
    y = target_values(ds, target)
    keys = SiteKeys.of(ds)
    split = np.asarray(ds["split"].values)
    train, test = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    own_train = train[~keys.lower[train]]
    if len(own_train) < 2 or len(test) < 1:
        raise ValueError(f"split has {len(own_train)} training and {len(test)} test sites; need >= 2 and >= 1")
    candidates = [net_config(c, learning["training"]) for c in learning["candidates"][target]]
    k = min(learning["cv_folds"], len(own_train))
    seed = learning["seed"]
    best, cv_table = (cross_validate(x[train], y[train], candidates, k, seed, keys.subset(train)) if len(candidates) > 1
                      else (candidates[0], []))
    model = fit(x[train], y[train], best, seed)
    own = keys.own()
    pred = model.predict(x[own]).reshape(y[own].shape)
    on_own = {i: k for k, i in enumerate(own)}  # row of the cube -> row of pred
    p_train, p_test = [on_own[i] for i in own_train], [on_own[i] for i in test]
    result = {
        "model": model, "mask": mask, "prediction": pred, "truth": y[own], "cv": cv_table, "cv_folds": k,
        "metrics": {
            "target": target, "window_eV": [float(window[0]), float(window[1])], "n_energy_points": int(mask.sum()),
            "epochs": model.epochs, "n_train": int(len(own_train)), "n_test": int(len(test)),
            **({"n_train_lower_fidelity": int(len(train) - len(own_train)),
                "lower_fidelity_source": ds.attrs.get("lower_fidelity_source")} if keys.lower.any() else {}),
            "test": metrics(y[test], pred[p_test]), "train": metrics(y[own_train], pred[p_train]),
            "test_by_valence_class": grouped_metrics(y[test], pred[p_test], np.asarray(ds["n_o_neighbours"].values)[test]),
            "test_by_composition": grouped_metrics(y[test], pred[p_test], np.asarray(ds["x"].values)[test]),
        },
    }
    baseline, describe = target_report(ds, target)
    if describe is not None:
        result["metrics"]["test_described"] = describe(y[test], pred[p_test])
        base = baseline(x[train], y[train], x[test])
        result["metrics"]["baseline"] = {"test": metrics(y[test], base), "test_described": describe(y[test], base),
                                         "network_better_share": better_share(y[test], pred[p_test], base)}
    if y.shape[1] > 1:
        rows = per_row_rmse(y[test], pred[p_test])
        result["metrics"]["test_row_rmse"] = {"min": float(rows.min()), "median": float(np.median(rows)), "max": float(rows.max())}
    return result
