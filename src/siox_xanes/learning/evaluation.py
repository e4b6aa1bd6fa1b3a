"""Honest evaluation: three ways to split the sites, and a learning curve.

* ``random_sites``: the paper's random split of sites (sites of one cell on both sides);
* ``by_cell``: no cell in both training and test part;
* ``leave_one_composition_out``: each composition x in turn is the test part,
  the model trained on the others (a composition it has never seen).

The learning curve trains on growing random subsets of the by-cell training
part and reports the RMSE on its fixed test part, to show how far a dataset
is from the size where the curve flattens.
"""

from __future__ import annotations

import numpy as np

from .fidelity import SiteKeys
from .metrics import better_share, metrics
from .nets import NetConfig, fit

SPLITS = ("random_sites", "by_cell", "leave_one_composition_out")


def random_site_split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(test_fraction * n)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def cell_wise_split(cells, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole cells to the test part, about ``test_fraction`` of the cells (at least one, never all)."""
    cells = np.asarray(cells).astype(str)
    unique = np.array(sorted(set(cells)))
    if len(unique) < 2:
        raise ValueError(f"a split by cell needs at least 2 cells, found {len(unique)}")
    n_test = min(len(unique) - 1, max(1, int(round(test_fraction * len(unique)))))
    test_cells = set(unique[np.random.default_rng(seed).permutation(len(unique))[:n_test]])
    test = np.array([c in test_cells for c in cells])
    return np.flatnonzero(~test), np.flatnonzero(test)


def split_folds(scheme: str, cells, compositions, test_fraction: float, seed: int,
                keys: SiteKeys | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(fold name, train indices, test indices) of one scheme. ``keys``: the rows' SiteKeys; the
    folds are drawn over the own rows and lower-fidelity rows join the training sides only."""
    if keys is not None and keys.lower.any():
        own = keys.own()
        folds = split_folds(scheme, np.asarray(cells)[own], np.asarray(compositions)[own], test_fraction, seed)
        return [(name, keys.training(own[tr], own[te]), own[te]) for name, tr, te in folds]
    n = len(cells)
    if scheme == "random_sites":
        return [("random", *random_site_split(n, test_fraction, seed))]
    if scheme == "by_cell":
        return [("cells", *cell_wise_split(cells, test_fraction, seed))]
    if scheme == "leave_one_composition_out":
        comps = np.round(np.asarray(compositions, float), 4)
        if len(np.unique(comps)) < 2:
            raise ValueError("leave-one-composition-out needs at least 2 compositions")
        return [(f"x={x:.2f}", np.flatnonzero(comps != x), np.flatnonzero(comps == x)) for x in np.unique(comps)]
    raise ValueError(f"split '{scheme}': expected one of {SPLITS}")


def _score(y_true, y_pred) -> dict:
    y_true = np.asarray(y_true, float).reshape(len(y_true), -1)
    return metrics(y_true, np.asarray(y_pred, float).reshape(y_true.shape))


def evaluate_splits(x, y, cells, compositions, cfg: NetConfig, schemes, test_fraction: float, seed: int,
                    baseline=None, describe=None, keys: SiteKeys | None = None) -> dict:
    """Test metrics of one architecture under each split scheme; LOCO per held-out composition and pooled.

    ``baseline(x_train, y_train, x_test)``: a model-free prediction scored beside the network on the
    same folds; ``describe(truth, prediction)``: a target's own figures of the pooled test part;
    ``keys``: the rows' SiteKeys (lower-fidelity rows train, never test; ``n_train`` counts the own
    training rows, ``n_train_lower_fidelity`` the others)."""
    x, y = np.asarray(x, float), np.asarray(y, float).reshape(len(x), -1)
    out = {}
    for scheme in schemes:
        folds = split_folds(scheme, cells, compositions, test_fraction, seed, keys)
        pooled_true, pooled_pred, pooled_base, per_fold = [], [], [], {}
        for name, train, test in folds:
            model = fit(x[train], y[train], cfg, seed)
            pred = model.predict(x[test]).reshape(y[test].shape)
            n_lower = int(keys.lower[train].sum()) if keys is not None else 0
            per_fold[name] = {**_score(y[test], pred), "n_train": int(len(train)) - n_lower, "epochs": model.epochs,
                              **({"n_train_lower_fidelity": n_lower} if n_lower else {})}
            pooled_true.append(y[test])
            pooled_pred.append(pred)
            if baseline is not None:
                pooled_base.append(np.asarray(baseline(x[train], y[train], x[test])).reshape(y[test].shape))
        truth, pred = np.concatenate(pooled_true), np.concatenate(pooled_pred)
        out[scheme] = {"test": _score(truth, pred),
                       "n_train": int(np.mean([f["n_train"] for f in per_fold.values()])),
                       "n_test": int(sum(len(t) for t in pooled_true)), "folds": per_fold}
        if describe is not None:
            out[scheme]["test_described"] = describe(truth, pred)
        if baseline is not None:
            base = np.concatenate(pooled_base)
            out[scheme]["baseline"] = {"test": _score(truth, base), "network_better_share": better_share(truth, pred, base),
                                       **({"test_described": describe(truth, base)} if describe else {})}
    return out


def learning_curve(x, y, cells, cfg: NetConfig, fractions, test_fraction: float, seed: int,
                   keys: SiteKeys | None = None) -> list[dict]:
    """Test RMSE (fixed by-cell test part) against the number of own training sites; with
    lower-fidelity rows (``keys``) each point also trains on all of them that the split allows."""
    x, y = np.asarray(x, float), np.asarray(y, float).reshape(len(x), -1)
    keys = keys if keys is not None else SiteKeys.own_only(cells)
    own = keys.own()
    train, test = (own[i] for i in cell_wise_split(np.asarray(cells)[own], test_fraction, seed))
    lower = np.setdiff1d(keys.training(train, test), train)
    order = np.random.default_rng(seed + 1).permutation(train)
    rows = []
    for f in sorted(fractions):
        n = max(2, int(round(f * len(train))))
        subset = np.concatenate([order[:n], lower])
        model = fit(x[subset], y[subset], cfg, seed)
        m = _score(y[test], model.predict(x[test]))
        rows.append({"fraction": float(f), "n_train": int(n), "n_test": int(len(test)), "rmse": m["rmse"], "r2": m["r2"],
                     "epochs": model.epochs, **({"n_train_lower_fidelity": int(len(lower))} if len(lower) else {})})
    return rows
