"""How well structure -> spectrum models predict the spectra of cells they never saw (seed 002's
evaluation), and how fast each site selection teaches them (learning curves).

Splits: ``by_cell`` (folds of whole cells) and ``leave_one_composition_out``; never a random site
split, since the sites of one cell share their neighbours. Descriptors are standardised and
PCA-compressed (``Compressor``) on the training rows of each fold only. Every model is judged
beside the class-mean baseline (the mean training spectrum of the site's first-shell O count): a
ratio near 1 means it learned nothing beyond the first shell.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .descriptors import Compressor
from .models import SpectrumEnsemble, SpectrumRidge, class_mean_baseline, peak_position_error, spectral_rmse
from .selection import committee_order, order_sites, per_cell_first

MODELS = ("ridge_raw", "ridge_pca", "ridge_nmf", "ensemble")
SPLITS = ("by_cell", "leave_one_composition_out")
CURVE_METHODS = ("uncertainty_reduction", "committee", "farthest_point", "random")


def split_folds(split: str, cells: np.ndarray, x: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    """Test rows of each fold: whole cells (``by_cell``) or whole compositions."""
    if split == "by_cell":
        names = np.array(sorted(set(cells)))
        np.random.default_rng(seed).shuffle(names)
        parts = np.array_split(names, min(n_folds, len(names)))
        return [np.flatnonzero(np.isin(cells, part)) for part in parts if len(part)]
    if split == "leave_one_composition_out":
        return [np.flatnonzero(np.isclose(x, value)) for value in np.unique(x)]
    raise ValueError(f"split '{split}': expected one of {SPLITS}")


def make_model(name: str, ensemble: SpectrumEnsemble, seed: int = 0):
    if name == "ensemble":
        return replace(ensemble, seed=seed)
    if name.startswith("ridge_"):
        return SpectrumRidge(name.removeprefix("ridge_"), seed=seed)
    raise ValueError(f"forward model '{name}': expected one of {MODELS}")


def out_of_fold(rows, spectra, classes, folds, name: str, ensemble: SpectrumEnsemble, seed: int = 0):
    """Out-of-fold predictions of model ``name``, their spread (an ensemble's; NaN otherwise) and
    the class-mean baseline's, every row predicted by the fold that held it out."""
    rows, spectra = np.asarray(rows, dtype=float), np.asarray(spectra, dtype=float)
    pred, base = np.zeros_like(spectra), np.zeros_like(spectra)
    spread = np.full_like(spectra, np.nan)
    for k, test in enumerate(folds):
        train = np.setdiff1d(np.arange(len(spectra)), test)
        compress = Compressor(0.999).fit(rows[train])
        model = make_model(name, ensemble, seed + k).fit(compress.transform(rows[train]), spectra[train])
        if name == "ensemble":
            pred[test], spread[test] = model.predict_with_spread(compress.transform(rows[test]))
        else:
            pred[test] = model.predict(compress.transform(rows[test]))
        base[test] = class_mean_baseline(classes[train], spectra[train], classes[test])
    return pred, spread, base


def _rmse(per_site: np.ndarray) -> float:
    return float(np.sqrt(np.mean(per_site**2)))


def summarise(spectra, pred, base, classes, x, energy) -> dict:
    """Spectral RMSE overall, per valence class and per composition, each beside the class-mean
    baseline; the peak-position error."""
    rmse, rmse_base = spectral_rmse(spectra, pred), spectral_rmse(spectra, base)
    out = {"rmse": _rmse(rmse), "baseline_rmse": _rmse(rmse_base)}
    out["ratio_to_baseline"] = out["rmse"] / out["baseline_rmse"]
    out["by_class"] = {str(int(c)): {"n": int((classes == c).sum()), "rmse": _rmse(rmse[classes == c]),
                                     "baseline_rmse": _rmse(rmse_base[classes == c])} for c in np.unique(classes)}
    out["by_composition"] = {f"{v:.2f}": {"n": int(np.isclose(x, v).sum()), "rmse": _rmse(rmse[np.isclose(x, v)]),
                                          "baseline_rmse": _rmse(rmse_base[np.isclose(x, v)])} for v in np.unique(x)}
    peak = np.abs(peak_position_error(energy, spectra, pred))
    out["peak_position_error_eV"] = {"median_abs": float(np.median(peak)), "p90_abs": float(np.quantile(peak, 0.9))}
    return out


def evaluate_models(rows: dict[str, np.ndarray], spectra, classes, cells, x, energy, models: list[str],
                    ensemble: SpectrumEnsemble, n_folds: int, seed: int, ensemble_descriptor: str) -> tuple[dict, dict]:
    """Every descriptor with every ridge model, and the ensemble on ``ensemble_descriptor``, under
    both splits. Returns the table (split -> "descriptor/model" -> summary) and the by-cell
    out-of-fold predictions of the best model there ("prediction", "spread", "baseline", "model")."""
    table = {split: {} for split in SPLITS}
    kept = {}
    for split in SPLITS:
        folds = split_folds(split, cells, x, n_folds, seed)
        for kind, features in rows.items():
            for name in models:
                if name == "ensemble" and kind != ensemble_descriptor:
                    continue  # networks on one descriptor: 5 members x every fold each
                pred, spread, base = out_of_fold(features, spectra, classes, folds, name, ensemble, seed)
                key = f"{kind}/{name}"
                table[split][key] = summarise(spectra, pred, base, classes, x, energy)
                if split == "by_cell":
                    kept[key] = (pred, spread, base)
    best = min(table["by_cell"], key=lambda k: table["by_cell"][k]["rmse"])
    pred, spread, base = kept[best]
    return table, {"model": best, "prediction": pred, "spread": spread, "baseline": base}


def selection_orders(features, spectra, cells, counts: list[int], methods: list[str], repeats: int, seed: int,
                     ensemble: SpectrumEnsemble) -> dict[str, list[np.ndarray]]:
    """method -> the orders (one per repeat for ``random``) in which its sites are computed, each
    with every cell's first site at its head, as the DAG's selection does; ``committee`` starts from
    uncertainty reduction's sites of the smallest count (at least one per cell) and then asks the
    ensemble."""
    def cells_first(method, method_seed):
        order = order_sites(features, method, seed=method_seed)
        return order_sites(features, method, seed=method_seed, first=per_cell_first(order, cells))

    unknown = set(methods) - set(CURVE_METHODS)
    if unknown:
        raise ValueError(f"selection methods {sorted(unknown)}: expected some of {CURVE_METHODS}")
    orders = {m: [cells_first(m, seed + r) for r in range(repeats if m == "random" else 1)]
              for m in methods if m != "committee"}
    if "committee" in methods:
        start = (orders["uncertainty_reduction"][0] if "uncertainty_reduction" in orders
                 else cells_first("uncertainty_reduction", seed))[: max(min(counts), len(set(cells)))]
        orders["committee"] = [committee_order(features, spectra, counts, replace(ensemble, seed=seed), list(start))]
    return {m: orders[m] for m in methods}


def selection_curves(features, spectra, classes, cells, fractions: list[float], orders: dict,
                     valence=None) -> dict:
    """method -> fraction -> the error on the sites not computed when the first ``fraction`` of each
    order is computed and a ridge model (raw spectra) fills in the rest: spectral RMSE (mean and
    spread over the orders), the class-mean baseline's, and each cell's averaged spectrum (computed
    + predicted sites) against the all-DFT one, largest and median deviation in % of its peak.

    ``valence``: (predict, site charges): ``predict`` maps averaged spectra to mean valences (the
    paper's Fig. 7 use of the valence network); then each row also gives the RMSE of the cells' mean
    valence read from the completed averages against the cells' mean charge, and its ratio to the
    RMSE read from the all-DFT averages (1.10: 10 % worse)."""
    n = len(spectra)
    names = np.array(sorted(set(cells)))
    truth = np.array([spectra[cells == c].mean(axis=0) for c in names])
    if valence is not None:
        predict, charges = valence
        mean_charge = np.array([np.mean(charges[cells == c]) for c in names])
        all_dft_valence_rmse = _rmse(predict(truth) - mean_charge)
    out = {}
    for method, method_orders in orders.items():
        out[method] = {}
        for fraction in fractions:
            k = int(np.ceil(fraction * n))
            rows = []
            for order in method_orders:
                chosen = np.zeros(n, dtype=bool)
                chosen[order[:k]] = True
                filled = spectra.copy()
                filled[~chosen] = SpectrumRidge("raw").fit(features[chosen], spectra[chosen]).predict(features[~chosen])
                base = class_mean_baseline(classes[chosen], spectra[chosen], classes[~chosen])
                averaged = np.array([filled[cells == c].mean(axis=0) for c in names])
                deviation = 100 * np.abs(averaged - truth).max(axis=1) / truth.max(axis=1)
                valence_rmse = _rmse(predict(averaged) - mean_charge) if valence is not None else np.nan
                rows.append((_rmse(spectral_rmse(spectra[~chosen], filled[~chosen])),
                             _rmse(spectral_rmse(spectra[~chosen], base)), deviation.max(), np.median(deviation),
                             valence_rmse))
            rows = np.array(rows)
            row = out[method][f"{fraction:g}"] = {
                "computed": k, "rmse_not_computed": float(rows[:, 0].mean()), "rmse_spread": float(rows[:, 0].std()),
                "baseline_rmse": float(rows[:, 1].mean()), "averaged_max_deviation_pct": float(rows[:, 2].mean()),
                "averaged_max_deviation_pct_spread": float(rows[:, 2].std()),
                "averaged_median_deviation_pct": float(rows[:, 3].mean())}
            if valence is not None:
                row.update(valence_rmse_averaged=float(rows[:, 4].mean()), valence_rmse_all_dft=all_dft_valence_rmse,
                           valence_rmse_ratio=float(rows[:, 4].mean() / all_dft_valence_rmse))
    return out
