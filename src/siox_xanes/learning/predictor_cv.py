"""The valence interval's coverage and the averaged-spectra bias with every cell held out once.

One split into training, calibration and test cells leaves one or two test cells per composition:
9-32 sites, whose coverage moves by ±8 % from one split to the next. Here the cells are dealt into
``folds`` folds, each holding about the same share of every composition, and each fold is the test
part once: the valence ensemble is trained as ``train_predictor`` trains it (augmented spectra,
the full window's network) on the remaining cells less a calibration part (the same share of each
composition), calibrated there, and read on the fold's sites and averaged spectra. Every site and
every cell is thus scored once, by models that never saw its cell. Each calibration variant
(``bins``: one conformal scale, or one per bin of the predicted valence) is scored on the same
ensembles.
"""

from __future__ import annotations

import numpy as np

from ..layout import parse_glass_cell
from ..measured.normalise import Normalisation, normalise_many
from .augment import augmented_set
from .domain import domain_distances, fit_domain
from .fidelity import SiteKeys
from .predictor import (SPREAD_FLOOR_QUANTILE, PredictorSettings, augmented_net_config, difficulty,
                        first_net_config, valence_conformal, valence_halfwidth)
from .training import target_values
from .uncertainty import conformal_halfwidth, train_ensemble


def cell_folds(cells, folds: int, calibration_fraction: float, seed: int) -> list[tuple[list[str], list[str]]]:
    """(test cells, calibration cells) per fold. Each composition's cells are shuffled (seeded) and
    dealt round the folds; the calibration cells of a fold are, per composition, the next
    ``calibration_fraction`` of its cells outside the fold (at least one)."""
    rng = np.random.default_rng(seed)
    by_x: dict[str, list[str]] = {}
    for c in sorted(set(map(str, cells))):
        by_x.setdefault(parse_glass_cell(c)[0], []).append(c)
    if folds < 2 or min(len(v) for v in by_x.values()) < 3:
        raise ValueError(f"{folds} folds over compositions with {min(len(v) for v in by_x.values())} cells: "
                         "cross-validation needs >= 2 folds and >= 3 cells per composition")
    out = [([], []) for _ in range(folds)]
    for members in by_x.values():
        order = [members[i] for i in rng.permutation(len(members))]
        n_cal = max(1, int(round(calibration_fraction * len(order))))
        for k in range(folds):
            test = order[k::folds]
            rest = [c for c in order if c not in test]
            out[k][0].extend(test)
            out[k][1].extend(rest[(k * n_cal + j) % len(rest)] for j in range(n_cal))
    return [(sorted(t), sorted(c)) for t, c in out]


KNOWN_COMPOSITION = "_by_composition"  # name suffix of a calibration scored with one scale per composition


def calibration_name(bins: int, floor_quantile: float) -> str:
    return f"bins_{bins}" + ("" if floor_quantile == SPREAD_FLOOR_QUANTILE else f"_floor_q{floor_quantile:g}")


def _site_scores(sites: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composition, fold and |error| / difficulty of each scored site row."""
    comp = np.array([parse_glass_cell(r[0])[0] for r in sites])
    fold = np.array([r[5] for r in sites])
    truth, mean, hardness = (np.array([r[i] for r in sites], float) for i in (1, 2, 6))
    return comp, fold, np.abs(truth - mean) / hardness


def composition_scales(sites: list, confidence: float) -> dict[str, float]:
    """Each composition's conformal scale from all its held-out sites (cross-conformal, Mondrian by
    composition): what the predictor applies when the user states the sample's composition."""
    comp, _, score = _site_scores(sites)
    return {x: float(conformal_halfwidth(score[comp == x], confidence)[0]) for x in sorted(set(comp))}


def by_known_composition(scored: dict, confidence: float) -> dict:
    """The scored rows again, each interval rescaled by its composition's own conformal scale taken
    from that composition's held-out sites in the other folds, so that no site calibrates itself:
    the coverage that ``composition_scales`` gives. Averaged spectra take their composition's site
    scale."""
    comp, fold, score = _site_scores(scored["site"])
    scale = {(x, k): float(conformal_halfwidth(score[(comp == x) & (fold != k)], confidence)[0])
             for x in set(comp) for k in set(fold)}
    return {part: [(c, t, m, scale[parse_glass_cell(c)[0], k] * d, r, k, d) for c, t, m, _, r, k, d in rows]
            for part, rows in scored.items()}


def valence_cross_validation(sites, systems, learning: dict, norm: Normalisation, settings: PredictorSettings,
                             folds: int, bins: tuple[int, ...], log=print,
                             floor_quantiles: tuple[float, ...] = (SPREAD_FLOOR_QUANTILE,),
                             known_composition: bool = False) -> dict:
    """Coverage per composition (sites and averaged spectra), the averaged spectra's signed error,
    and the half-widths near and far from the training inputs, for each calibration: every number
    of ``bins`` with every quantile of the calibration spreads taken as the difficulty's floor
    (and, with ``known_composition``, each again with one scale per composition)."""
    variants = [(b, q) for b in bins for q in floor_quantiles]
    energy = np.asarray(sites["energy"].values, float)
    mu_raw = np.asarray(sites["mu"].values, float)
    cells = np.asarray(sites["cell"].values).astype(str)
    y = target_values(sites, "valence")[:, 0]
    x_norm = normalise_many(energy, mu_raw, norm, computed=True)
    sys_cells = np.asarray(systems["cell"].values).astype(str)
    x_sys = normalise_many(energy, np.asarray(systems["mu"].values, float), norm, computed=True)
    y_sys = np.asarray(systems["mean_bader_charge"].values, float)
    cfg = augmented_net_config(first_net_config(learning, "valence"), settings.augmented_training)
    conf, seed = settings.confidence, settings.seed
    # rows (cell, truth, mean, half-width, PCA residual, fold, difficulty)
    scored = {v: {"site": [], "system": []} for v in variants}
    keys = SiteKeys.of(sites)  # a pooled cube's lower-fidelity rows join the training cells only
    for k, (test_cells, cal_cells) in enumerate(cell_folds(cells, folds, settings.calibration_fraction, seed)):
        test, cal = np.isin(cells, test_cells) & ~keys.lower, np.isin(cells, cal_cells) & ~keys.lower
        train = keys.training(np.flatnonzero(~test & ~cal & ~keys.lower), np.flatnonzero(test | cal))
        x_aug, y_aug, src = augmented_set(energy, mu_raw[train], y[train], norm, settings.augmentation, seed)
        x_cal_aug, _, _ = augmented_set(energy, mu_raw[cal], y[cal], norm, settings.augmentation, seed + 2)
        domain = fit_domain(x_aug, x_cal_aug)
        ensemble = train_ensemble(x_aug, y_aug, cfg, settings.ensemble_members, seed, groups=src)
        log(f"fold {k + 1}/{folds}: {len(test_cells)} test cells, {len(cal_cells)} calibration, "
            f"{len(train)} training sites; epochs {ensemble.epochs}")
        parts = {"site": (x_norm[test], y[test], cells[test]),
                 "system": (x_sys[np.isin(sys_cells, test_cells)], y_sys[np.isin(sys_cells, test_cells)],
                            sys_cells[np.isin(sys_cells, test_cells)])}
        read = {part: (*ensemble.predict(x), domain_distances(domain, x)[1]) for part, (x, _, _) in parts.items()}
        for b, q in variants:
            calibration = valence_conformal(ensemble, domain, x_norm[cal], y[cal], conf, b, q)
            for part, (_, truth, part_cells) in parts.items():
                mean, std, residual = read[part]
                half = valence_halfwidth(calibration, mean[:, 0], std[:, 0], residual)
                hardness = difficulty(std[:, 0], residual, calibration["difficulty"])
                scored[b, q][part] += [(c, t, m, h, r, k, d) for c, t, m, h, r, d
                                       in zip(part_cells, truth, mean[:, 0], half, residual, hardness)]
    calibrations = {calibration_name(*v): summary(scored[v], seed) for v in variants}
    if known_composition:
        calibrations.update({calibration_name(*v) + KNOWN_COMPOSITION: summary(by_known_composition(scored[v], conf), seed)
                             for v in variants})
    # per composition, on the difficulty the predictor uses (its floor quantile; bins leave it alone)
    shipped = next((v for v in variants if v[1] == SPREAD_FLOOR_QUANTILE), variants[0])
    return {"folds": folds, "confidence": conf, "ensemble_members": settings.ensemble_members,
            "calibrations": calibrations,
            "valence_scale_by_composition": composition_scales(scored[shipped]["site"], conf)}


def cell_bootstrap_interval(inside: np.ndarray, cells: np.ndarray, seed: int, level: float = 0.95,
                            draws: int = 2000) -> list[float]:
    """Interval of a coverage from resampling whole cells: a cell's sites share their environment
    and their errors, so a binomial interval over sites would claim more certainty than five cells
    of a composition can give."""
    names, which = np.unique(cells, return_inverse=True)
    hits = np.bincount(which, weights=inside.astype(float), minlength=len(names))
    counts = np.bincount(which, minlength=len(names)).astype(float)
    pick = np.random.default_rng(seed).integers(0, len(names), size=(draws, len(names)))
    coverage = hits[pick].sum(1) / counts[pick].sum(1)
    return [float(q) for q in np.quantile(coverage, [(1 - level) / 2, (1 + level) / 2])]


def summary(scored: dict, seed: int = 0) -> dict:
    """Coverage (with its cell-bootstrap interval) and errors per composition and overall from the
    scored rows (cell, truth, mean, half-width, PCA residual, ...)."""
    out = {}
    for part, rows in scored.items():
        cells = np.array([r[0] for r in rows])
        comp = np.array([parse_glass_cell(c)[0] for c in cells])
        truth, mean, half, residual = (np.array([r[i] for r in rows], float) for i in range(1, 5))
        inside, error = np.abs(truth - mean) <= half, mean - truth

        def stats(sel):
            return {"n": int(sel.sum()), "coverage": float(inside[sel].mean()),
                    "coverage_interval_95": cell_bootstrap_interval(inside[sel], cells[sel], seed),
                    "median_halfwidth": float(np.median(half[sel])), "mean_signed_error": float(error[sel].mean()),
                    "rmse": float(np.sqrt(np.mean(error[sel] ** 2)))}

        everything = np.ones(len(rows), bool)
        far = residual > np.quantile(residual, 0.75)
        near = residual <= np.quantile(residual, 0.25)
        out[part] = {"all": {**stats(everything), "standard_error_of_mean_error": float(error.std(ddof=1) / np.sqrt(len(error)))},
                     "by_composition": {x: stats(comp == x) for x in sorted(set(comp))},
                     # the interval should widen for inputs far from the training inputs (PCA residual)
                     "median_halfwidth_nearest_quarter": float(np.median(half[near])),
                     "median_halfwidth_farthest_quarter": float(np.median(half[far]))}
    return out
