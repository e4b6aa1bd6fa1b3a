"""The experiment-ready predictor: ensembles with conformal intervals, class fractions, one file.

``train_predictor`` builds it from the site and system cubes and the
computed references; ``save_predictor``/``load_predictor`` write and read the
bundle; ``predict_measured`` takes measured spectra (any units, any energy
scale given a shift or a measured reference) to valence with its interval,
the RDF with its band and the valence-class fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..layout import PDOS_TARGET, parse_glass_cell
from ..measured.align import shift_from_reference
from ..measured.normalise import Normalisation, normalise, normalise_many
from ..measured.readers import Spectrum
from .augment import Augmentation, augmented_set, perturbed
from .domain import domain_distances, fit_domain
from .fidelity import SiteKeys
from .fractions import CLASS_NAMES, as_fractions, class_fractions, random_mixtures
from .metrics import metrics
from .nets import NetConfig, model_from_payload, model_payload, net_config
from .pdos import ORBITALS, local_gaps, nearest_gaps
from .training import target_values
from .uncertainty import (SPLIT_NAMES, Ensemble, cell_split, conformal_halfwidth, coverage,
                          train_ensemble)

FORMAT_VERSION = 1
# A measurement may end this close to the model window; the gap is filled with its end value.
MAX_EDGE_GAP_EV = 0.5


@dataclass(frozen=True)
class PredictorSettings:
    """``uncertainty`` block of the config."""

    seed: int
    ensemble_members: int
    confidence: float
    calibration_fraction: float
    test_fraction: float
    augmentation: Augmentation
    mixtures: int
    max_sites_per_mixture: int
    robustness: dict = field(default_factory=dict)
    alignment: dict = field(default_factory=dict)
    # max_epochs/patience of the members trained on augmented spectra; None keeps the CV's.
    augmented_training: dict | None = None
    # the valence ensemble also learns from the site mixtures (their mean valence), so that averaged
    # spectra, which mixing broadens and shifts, lie inside its training set (issue 36: the bias on them)
    valence_from_mixtures: bool = False
    # Mondrian bins of the predicted valence, each with its own conformal scale (1: one scale)
    valence_bins: int = 1
    # cell folds of rule predictor_cross_validation (0: off); train_predictor itself does not read it
    cross_validation_folds: int = 0
    # the local gap: the mean computed gap of this many nearest training spectra (bench/pdos_networks.py)
    local_gap_neighbours: int = 3

    @classmethod
    def from_config(cls, block: dict) -> "PredictorSettings":
        return cls(int(block["seed"]), int(block["ensemble_members"]), float(block["confidence"]),
                   float(block["calibration_fraction"]), float(block["test_fraction"]),
                   Augmentation.from_config(block["augmentation"]), int(block["fractions"]["mixtures"]),
                   int(block["fractions"]["max_sites"]), dict(block["robustness"]), dict(block["alignment"]),
                   dict(block["augmented_training"]) if block.get("augmented_training") else None,
                   bool(block["fractions"].get("train_valence", False)), int(block.get("valence_bins", 1)),
                   int(block.get("cross_validation_folds", 0)), int(block.get("local_gap_neighbours", 3)))


def augmented_net_config(cfg: NetConfig, bounds: dict | None) -> NetConfig:
    """``cfg`` with the early-stopping bounds of the augmented members.

    An epoch over the augmented set passes copies + 1 times over every
    training site, so the CV's patience (counted in epochs over the sites)
    would wait that many times longer there; ``bounds`` sets max_epochs and
    patience for those members, and may only lower them.
    """
    if not bounds:
        return cfg
    unknown = set(bounds) - {"max_epochs", "patience"}
    if unknown:
        raise ValueError(f"uncertainty.augmented_training: unknown keys {sorted(unknown)}; expected max_epochs, patience")
    return replace(cfg, **{k: min(int(v), getattr(cfg, k)) for k, v in bounds.items()})


# The difficulty's spread floor: this quantile of the calibration inputs' ensemble spreads (the
# median; lower floors measured no better per composition, bench/predictor_calibration.py).
SPREAD_FLOOR_QUANTILE = 0.5


def difficulty_scales(ensemble_std: np.ndarray, residual: np.ndarray,
                      floor_quantile: float = SPREAD_FLOOR_QUANTILE, least_floor: float = 1e-6) -> dict:
    """The two scales of :func:`difficulty`, from the calibration inputs; the spread's floor is the
    ``floor_quantile`` of their ensemble spreads (the median by default), at least ``least_floor``."""
    return {"spread_floor": float(max(np.quantile(ensemble_std, floor_quantile), least_floor)),
            "residual_scale": float(max(np.median(residual), 1e-12))}


def difficulty(ensemble_std: np.ndarray, residual: np.ndarray, scales: dict) -> np.ndarray:
    """How hard an input is, for normalised conformal intervals: the ensemble's spread plus a floor
    (the calibration inputs' median spread) that grows with the input's PCA residual once it exceeds
    the calibration inputs' median residual."""
    far = np.maximum(1.0, np.asarray(residual, float) / scales["residual_scale"])
    return np.asarray(ensemble_std, float) + scales["spread_floor"] * far


def valence_conformal(ensemble: Ensemble, domain: dict, x_cal: np.ndarray, y_cal: np.ndarray, confidence: float,
                      bins: int = 1, floor_quantile: float = SPREAD_FLOOR_QUANTILE) -> dict:
    """Normalised split-conformal calibration of the valence on the calibration inputs: the
    difficulty's scales and the quantile of |residual| / difficulty, overall and, with ``bins`` > 1,
    within each bin of the predicted valence (Mondrian: bins of equal calibration counts), so that
    the coverage holds along the valence range, hence per composition, not only on average."""
    mean, std = ensemble.predict(x_cal)
    residual = domain_distances(domain, x_cal)[1]
    scales = difficulty_scales(std[:, 0], residual, floor_quantile)
    score = np.abs(np.asarray(y_cal, float).ravel() - mean[:, 0]) / difficulty(std[:, 0], residual, scales)
    edges = np.quantile(mean[:, 0], np.linspace(0.0, 1.0, bins + 1)[1:-1]) if bins > 1 else np.empty(0)
    which = np.searchsorted(edges, mean[:, 0])
    return {"difficulty": scales, "valence_scale": float(conformal_halfwidth(score, confidence)[0]),
            "valence_bin_edges": edges.tolist(),
            "valence_bin_scales": [float(conformal_halfwidth(score[which == b], confidence)[0]) for b in range(len(edges) + 1)],
            "median_difficulty": float(np.median(difficulty(std[:, 0], residual, scales)))}


def valence_halfwidth(conformal: dict, mean: np.ndarray, std: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """Half-width of each valence interval: the conformal scale (its bin's, where the calibration
    has bins) times the input's difficulty."""
    scale = conformal["valence_scale"]
    if conformal.get("valence_bin_edges"):
        scale = np.asarray(conformal["valence_bin_scales"])[np.searchsorted(conformal["valence_bin_edges"], mean)]
    return scale * difficulty(std, residual, conformal["difficulty"])


def first_net_config(learning: dict, target: str) -> NetConfig:
    """The first candidate of ``learning.candidates[target]`` with the training settings (rule
    train_predictor puts the network of the full window's CV there)."""
    return net_config(learning["candidates"][target][0], learning["training"])


# robustness perturbation (config key) -> the argument of augment.perturbed it sets
PERTURBATIONS = {"shift_eV": "shift", "broadening_eV": "gamma", "noise": "noise",
                 "norm_jitter_eV": "norm_jitter_eV"}  # the post-edge range moved by up to this


def robustness_curves(energy, mu_raw, truth: dict, models: dict[str, dict[str, Ensemble]], norm: Normalisation,
                      grid: dict, seed: int) -> list[dict]:
    """Test RMSE of each model's targets (``{target}_rmse``; valence and RDF) on perturbed spectra:
    one perturbation at a time at fixed sizes, the normalisation's post-edge range included.
    ``models``: name -> target -> ensemble; a model without a target leaves its column empty."""
    rows = []
    for kind, argument in PERTURBATIONS.items():
        for v in grid.get(kind, []):
            rng = np.random.default_rng(seed)
            x = np.stack([perturbed(energy, row, norm, rng=rng, **{argument: v}) for row in mu_raw])
            for name, ensembles in models.items():
                row = {"perturbation": kind, "value": float(v), "model": name}
                for target, ens in ensembles.items():
                    want = np.asarray(truth[target], float)
                    row[f"{target}_rmse"] = metrics(want, ens.predict(x)[0].reshape(want.shape))["rmse"]
                rows.append(row)
    return rows


def train_predictor(sites, systems, references: dict, learning: dict, norm: Normalisation, settings: PredictorSettings,
                    log=print) -> tuple[dict, dict, list[dict]]:
    """Bundle, evaluation (coverage, fractions, split sizes) and robustness rows from the cubes.

    ``references``: name -> (energy, raw mu) of the computed reference
    spectra on the workflow's scale (alpha_quartz, diamond_si).
    """
    energy = np.asarray(sites["energy"].values, float)
    mu_raw = np.asarray(sites["mu"].values, float)
    cells = np.asarray(sites["cell"].values).astype(str)
    n_o = np.asarray(sites["n_o_neighbours"].values, int)
    keys = SiteKeys.of(sites)  # a pooled cube's lower-fidelity rows join the training cells only
    part_of = cell_split(cells[~keys.lower], settings.calibration_fraction, settings.test_fraction, settings.seed)
    part = np.array([part_of.get(c, -1) for c in cells])
    part[keys.lower] = -1
    own_train, cal, test = (np.flatnonzero(part == k) for k in range(3))
    train = keys.training(own_train, np.concatenate([cal, test]))
    log(f"cells: {sum(v == 0 for v in part_of.values())} train, {sum(v == 1 for v in part_of.values())} calibration, "
        f"{sum(v == 2 for v in part_of.values())} test; sites {len(own_train)}/{len(cal)}/{len(test)}"
        + (f", and {len(train) - len(own_train)} lower-fidelity training sites" if keys.lower.any() else ""))
    x_norm = normalise_many(energy, mu_raw, norm, computed=True)
    # the PDOS (s then p) where the cube holds it (seed 004): its own ensemble, band and local gap
    targets = ("valence", "rdf", PDOS_TARGET) if "pdos_s" in sites else ("valence", "rdf")
    y = {target: target_values(sites, target) for target in targets}
    members, seed = settings.ensemble_members, settings.seed
    # src: for each augmented spectrum, the training site it comes from.
    x_aug, _, src = augmented_set(energy, mu_raw[train], np.zeros(len(train)), norm, settings.augmentation, seed)
    # the networks' input domain: the augmented training spectra, its thresholds from the calibration cells
    x_cal_aug, _, src_cal = augmented_set(energy, mu_raw[cal], np.zeros(len(cal)), norm, settings.augmentation, seed + 2)
    domain = fit_domain(x_aug, x_cal_aug)
    log(f"input domain: {len(domain['components'])} principal components, thresholds T2/k "
        f"{domain['t2_threshold']:.2f}, residual {domain['residual_threshold']:.4f}")
    cfg = {target: first_net_config(learning, target) for target in targets}
    aug_cfg = {target: augmented_net_config(c, settings.augmented_training) for target, c in cfg.items()}
    mix_x, mix_f, mix_valence = random_mixtures(x_aug, n_o[train][src], settings.mixtures, settings.max_sites_per_mixture,
                                                seed, values=y["valence"][train][src][:, 0])
    ensembles = {}
    for target in targets:
        # validation by training site: a site's perturbed copies would otherwise validate it
        x_t, y_t, groups = x_aug, y[target][train][src], src
        if target == "valence" and settings.valence_from_mixtures:  # each mixture its own group
            x_t, y_t = np.vstack([x_aug, mix_x]), np.vstack([y_t, mix_valence[:, None]])
            groups = np.concatenate([src, len(train) + np.arange(len(mix_x))])
        ensembles[target] = train_ensemble(x_t, y_t, aug_cfg[target], members, seed, groups=groups)
        log(f"{target}: {members} members (augmented, {len(x_t)} spectra), epochs {ensembles[target].epochs}")
    plain = train_ensemble(x_norm[train], y["valence"][train], cfg["valence"], members, seed)
    log(f"valence without augmentation: epochs {plain.epochs}")
    # fractions: the valence architecture, five outputs
    fractions = train_ensemble(mix_x, mix_f, aug_cfg["valence"], members, seed + 1)
    log(f"fractions: {settings.mixtures} mixtures, epochs {fractions.epochs}")

    conf = settings.confidence
    # valence: normalised split-conformal, the score |residual| / difficulty(input), so that an interval
    # widens with the ensemble's spread and with the input's distance from the training inputs
    valence_cal = valence_conformal(ensembles["valence"], domain, x_norm[cal], y["valence"][cal], conf, settings.valence_bins)
    halfwidth = {
        "valence": valence_cal["valence_scale"] * valence_cal["median_difficulty"],  # a typical half-width, for the report
        "rdf": conformal_halfwidth(y["rdf"][cal] - ensembles["rdf"].predict(x_norm[cal])[0], conf),
    }
    pdos = None
    if PDOS_TARGET in ensembles:  # a band per energy; the local gap from the nearest training spectra
        pdos = {"energy": np.asarray(sites["pdos_energy"].values, float),
                "gap_threshold": float(sites["local_gap"].attrs["threshold_states_per_eV"])}
        halfwidth[PDOS_TARGET] = conformal_halfwidth(y[PDOS_TARGET][cal] - ensembles[PDOS_TARGET].predict(x_norm[cal])[0], conf)
        gap = np.asarray(sites["local_gap"].values, float)
        known = train[np.isfinite(gap[train])]
        pdos["gap"] = {"x": x_norm[known].astype(np.float32), "gap": gap[known], "neighbours": settings.local_gap_neighbours,
                       "resolution_eV": float(np.min(np.diff(pdos["energy"])))}
        pdos["gap"]["conformal"] = gap_conformal(pdos["gap"], domain, x_norm[cal], gap[cal], conf)
    # fractions: one split-conformal half-width per class, on mixtures of the calibration cells' sites
    cal_mix_x, cal_mix_f = random_mixtures(x_cal_aug, n_o[cal][src_cal], max(200, settings.mixtures // 4),
                                           settings.max_sites_per_mixture, seed + 3)
    fractions_halfwidth = conformal_halfwidth(as_fractions(fractions.predict(cal_mix_x)[0]) - cal_mix_f, conf)

    def valence_halfwidths(x):
        mean, std = ensembles["valence"].predict(x)
        return valence_halfwidth(valence_cal, mean[:, 0], std[:, 0], domain_distances(domain, x)[1])

    evaluation = {"confidence": conf, "n_sites": {n: int(len(i)) for n, i in zip(SPLIT_NAMES, (own_train, cal, test))},
                  **({"n_train_lower_fidelity": int(len(train) - len(own_train)),
                      "lower_fidelity_source": sites.attrs.get("lower_fidelity_source")} if keys.lower.any() else {}),
                  "cells": {n: sorted(c for c, p in part_of.items() if p == k) for k, n in enumerate(SPLIT_NAMES)},
                  "valence_halfwidth": float(halfwidth["valence"]),
                  "rdf_halfwidth_median": float(np.median(halfwidth["rdf"])),
                  "epochs": {"valence": ensembles["valence"].epochs, "rdf": ensembles["rdf"].epochs,
                             "valence_without_augmentation": plain.epochs, "fractions": fractions.epochs},
                  "augmented_training": settings.augmented_training,
                  "coverage": {}, "metrics": {}}
    test_halfwidth = {"valence": valence_halfwidths(x_norm[test])[:, None], **{t: halfwidth[t] for t in targets[1:]}}
    test_mean = {}  # each ensemble's mean on the test sites, read once
    for target in targets:
        mean = test_mean[target] = ensembles[target].predict(x_norm[test])[0]
        evaluation["coverage"][f"{target}_sites"] = coverage(y[target][test], mean, test_halfwidth[target])
        evaluation["metrics"][f"{target}_sites"] = metrics(y[target][test], mean.reshape(y[target][test].shape))
    if pdos is not None:
        evaluation["pdos"] = {**gap_evaluation(pdos, domain, test_mean[PDOS_TARGET], x_norm[test],
                                               np.asarray(sites["local_gap"].values, float)[test]),
                              "pdos_halfwidth_median": float(np.median(halfwidth[PDOS_TARGET]))}
        evaluation["epochs"][PDOS_TARGET] = ensembles[PDOS_TARGET].epochs
    # per composition of the test cells: does the interval hold everywhere, not only on average?
    compositions = np.array([parse_glass_cell(c)[0] for c in cells[test]])
    v_test = test_mean["valence"][:, 0]
    evaluation["valence_coverage_by_composition"] = {
        x: {**coverage(y["valence"][test][compositions == x], v_test[compositions == x],
                       test_halfwidth["valence"][compositions == x]),
            # null: unbounded (too few calibration sites for the confidence)
            "median_halfwidth": _finite_or_none(np.median(test_halfwidth["valence"][compositions == x]))}
        for x in sorted(set(compositions))}
    # System-averaged spectra of the test cells, against the means over the same sites.
    sys_cells = np.asarray(systems["cell"].values).astype(str)
    sys_test = np.flatnonzero([part_of.get(c) == 2 for c in sys_cells])
    if len(sys_test):
        xs = normalise_many(energy, np.asarray(systems["mu"].values, float)[sys_test], norm, computed=True)
        truth = {"valence": np.asarray(systems["mean_bader_charge"].values, float)[sys_test],
                 "rdf": np.asarray(systems["rdf_total"].values, float)[sys_test]}
        sys_halfwidth = {"valence": valence_halfwidths(xs)[:, None], "rdf": halfwidth["rdf"]}
        for target in ("valence", "rdf"):
            mean = ensembles[target].predict(xs)[0]
            evaluation["coverage"][f"{target}_systems"] = coverage(truth[target], mean, sys_halfwidth[target])
            evaluation["metrics"][f"{target}_systems"] = metrics(truth[target], mean.reshape(truth[target].shape))
        # the bias of site-trained networks on averaged spectra (mixing broadens and shifts a spectrum)
        evaluation["metrics"]["valence_systems"]["mean_signed_error"] = float(
            np.mean(ensembles["valence"].predict(xs)[0][:, 0] - truth["valence"]))
        true_f = np.stack([class_fractions(n_o[(cells == c) & ~keys.lower]) for c in sys_cells[sys_test]])
        pred_f = as_fractions(fractions.predict(xs)[0])
        evaluation["fractions_systems"] = {"n": int(len(sys_test)), "mae": float(np.abs(pred_f - true_f).mean()),
                                           "classes": list(CLASS_NAMES),
                                           "coverage": coverage(true_f, pred_f, fractions_halfwidth)}
    robustness = robustness_curves(energy, mu_raw[test], {"valence": y["valence"][test], "rdf": y["rdf"][test]},
                                   {"augmented": {"valence": ensembles["valence"], "rdf": ensembles["rdf"]},
                                    "without_augmentation": {"valence": plain}},
                                   norm, settings.robustness, seed)
    bundle = {
        "format_version": FORMAT_VERSION,
        "energy": energy, "r": np.asarray(sites["r"].values, float),
        "normalisation": norm.as_dict(),
        "ensembles": {k: [model_payload(m) for m in e.members] for k, e in
                      (*ensembles.items(), ("fractions", fractions))},
        "conformal": {"confidence": conf, "valence_halfwidth": float(halfwidth["valence"]),
                      **{k: v for k, v in valence_cal.items() if k != "median_difficulty"},
                      "rdf_halfwidth": np.asarray(halfwidth["rdf"], float),
                      "fractions_halfwidth": np.asarray(fractions_halfwidth, float)},
        "references": {name: normalise(*_on_grid(e, m, energy), norm, computed=True)[0]
                       for name, (e, m) in references.items()},
        "alignment": dict(settings.alignment),
        "domain": domain,
        # the range of each scalar target over the training sites: an answer outside it is flagged
        "target_range": {"valence": [float(y["valence"][train].min()), float(y["valence"][train].max())]},
        "classes": list(CLASS_NAMES),
        **({"pdos": {**pdos, "halfwidth": np.asarray(halfwidth[PDOS_TARGET], float)}} if pdos else {}),
        "training": {"cells": evaluation["cells"], "n_sites": evaluation["n_sites"],
                     "cube": dict(sites.attrs).get("config_sha256")},
    }
    return bundle, evaluation, robustness


def gap_conformal(model: dict, domain: dict, x_cal: np.ndarray, gap_cal: np.ndarray, confidence: float) -> dict:
    """Normalised split-conformal calibration of the local gap read from the nearest training spectra
    (``model``: their spectra, gaps, number and the gaps' resolution): the score |error| / difficulty,
    the difficulty the neighbours' gap spread plus a floor that grows with the input's PCA residual,
    as the valence's. The floor is at least the resolution (the PDOS grid step): where the neighbours
    of most spectra agree exactly (a-Si: every gap one grid step) a median floor of 0 would give
    intervals of zero width."""
    known = np.isfinite(gap_cal)
    mean, spread = nearest_gaps(model["x"], model["gap"], x_cal[known], model["neighbours"])
    residual = domain_distances(domain, x_cal[known])[1]
    scales = difficulty_scales(spread, residual, least_floor=model["resolution_eV"])
    score = np.abs(gap_cal[known] - mean) / difficulty(spread, residual, scales)
    return {"difficulty": scales, "scale": float(conformal_halfwidth(score, confidence)[0])}


def gap_reading(model: dict, domain: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local gap, half-width of its interval) of normalised spectra ``x``."""
    mean, spread = nearest_gaps(model["x"], model["gap"], x, model["neighbours"])
    return mean, model["conformal"]["scale"] * difficulty(spread, domain_distances(domain, x)[1], model["conformal"]["difficulty"])


def gap_evaluation(pdos: dict, domain: dict, pdos_test: np.ndarray, x_test: np.ndarray, gap_test: np.ndarray) -> dict:
    """The local gap on the test cells: the nearest spectra's reading (error, coverage and width of its
    interval) beside the gap read off the ensemble's mean PDOS ``pdos_test``, which averaging biases low."""
    known = np.isfinite(gap_test)
    gap, half = gap_reading(pdos["gap"], domain, x_test[known])
    error = gap - gap_test[known]
    from_pdos = local_gaps(pdos_test[known], pdos["energy"], pdos["gap_threshold"]) - gap_test[known]
    scored = from_pdos[np.isfinite(from_pdos)]
    n = int(known.sum())
    return {"local_gap_neighbours": int(pdos["gap"]["neighbours"]), "n_test": int(len(gap_test)), "local_gap_n": n,
            "local_gap_mae_eV": float(np.mean(np.abs(error))) if n else None,
            "local_gap_mean_signed_eV": float(np.mean(error)) if n else None,
            "local_gap_coverage": float(np.mean(np.abs(error) <= half)) if n else None,
            "local_gap_halfwidth_median_eV": _finite_or_none(np.median(half)) if n else None,
            "local_gap_from_mean_pdos_mae_eV": float(np.mean(np.abs(scored))) if len(scored) else None,
            "local_gap_from_mean_pdos_scored": int(len(scored))}


def _finite_or_none(v) -> float | None:
    return float(v) if np.isfinite(v) else None


def _on_grid(e, m, grid):
    return grid, np.interp(grid, np.asarray(e, float), np.asarray(m, float))


def save_predictor(path, bundle: dict) -> None:
    import torch

    from ..io import atomic_path

    with atomic_path(path) as tmp:
        torch.save(bundle, tmp)


@dataclass
class Predictor:
    bundle: dict
    ensembles: dict[str, Ensemble]
    norm: Normalisation

    @property
    def energy(self) -> np.ndarray:
        return np.asarray(self.bundle["energy"], float)

    def calibrated_composition(self, composition: float) -> str:
        """The trained composition whose own interval scale serves a sample of stated ``composition``
        (the nearest, at most half a composition step away); a ValueError otherwise."""
        scales = self.bundle["conformal"].get("valence_scale_by_composition")
        if not scales:
            raise ValueError("this predictor has no per-composition interval scales (trained without "
                             "uncertainty.cross_validation_folds): leave the composition out")
        known = sorted(scales, key=float)
        nearest = min(known, key=lambda x: abs(float(x) - composition))
        step = min((float(b) - float(a) for a, b in zip(known, known[1:])), default=0.25)
        if not np.isfinite(composition) or abs(float(nearest) - composition) > step / 2 + 1e-9:
            raise ValueError(f"composition x = {composition:g} of SiOx: expected {known[0]} <= x <= {known[-1]}, "
                             f"the range the intervals were calibrated on")
        return nearest

    def predict(self, x_norm: np.ndarray, composition: float | None = None) -> dict:
        """Arrays for normalised spectra on the model grid: valence (mean, std, interval), rdf, fractions.
        With the samples' ``composition`` (x of SiOx) stated, the valence interval takes that
        composition's own conformal scale (its coverage holds per composition, not only overall)."""
        conf = self.bundle["conformal"]
        v_mean, v_std = self.ensembles["valence"].predict(x_norm)
        g_mean, g_std = self.ensembles["rdf"].predict(x_norm)
        f_mean, f_std = self.ensembles["fractions"].predict(x_norm)
        domain = self.bundle.get("domain")
        t2, residual = domain_distances(domain, x_norm) if domain else (None, None)
        if composition is not None:
            scale = conf["valence_scale_by_composition"][self.calibrated_composition(composition)]
            q = valence_halfwidth({"valence_scale": scale, "difficulty": conf["difficulty"]},
                                  v_mean[:, 0], v_std[:, 0], residual)
        elif "valence_scale" in conf:  # normalised: wider where the ensemble disagrees or the input is far
            q = valence_halfwidth(conf, v_mean[:, 0], v_std[:, 0], residual)
        else:  # bundles made before: one half-width for every input
            q = np.full(len(v_mean), conf["valence_halfwidth"])
        f = as_fractions(f_mean)
        f_half = np.asarray(conf.get("fractions_halfwidth", np.full(f.shape[1], np.nan)), float)
        extra = {}
        pdos = self.bundle.get("pdos")
        if pdos is not None:
            p_mean, p_std = self.ensembles[PDOS_TARGET].predict(x_norm)
            gap, half = gap_reading(pdos["gap"], domain, x_norm)
            extra = {"pdos": p_mean, "pdos_std": p_std, "pdos_halfwidth": np.asarray(pdos["halfwidth"], float),
                     "local_gap": gap, "local_gap_interval": np.stack([np.maximum(gap - half, 0.0), gap + half], axis=1)}
        return extra | {"valence": v_mean[:, 0], "valence_std": v_std[:, 0],
                "valence_interval": np.stack([v_mean[:, 0] - q, v_mean[:, 0] + q], axis=1),
                "fractions_interval": np.stack([np.clip(f - f_half, 0, 1), np.clip(f + f_half, 0, 1)], axis=-1),
                "rdf": g_mean, "rdf_std": g_std, "rdf_halfwidth": np.asarray(conf["rdf_halfwidth"], float),
                "fractions": f, "fractions_std": f_std, "domain_t2": t2, "domain_residual": residual}


def load_predictor(path) -> Predictor:
    import torch

    try:
        bundle = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ValueError(f"{path}: not a predictor file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a predictor bundle of format {FORMAT_VERSION} (a single-target model "
                         "from train_model? Use the bundle written by rule train_predictor)")
    ensembles = {k: Ensemble([model_from_payload(p) for p in v]) for k, v in bundle["ensembles"].items()}
    return Predictor(bundle, ensembles, Normalisation.from_config(bundle["normalisation"]))


# A fitted shift larger than this is refused (a beamline's calibration is off by a few eV at most);
# --max-shift sets another bound.
MAX_SHIFT_EV = 3.0
# A measured reference matches its computed kind when its normalised spectrum, aligned, differs from it
# by at most this rms (edge step 1) on the alignment window, and by clearly less than from the other kind.
MAX_REFERENCE_RMS = 0.35
KIND_MARGIN = 1.5
UNITS = {"energy": "eV", "shift_eV": "eV", "valence": "e (Bader charge of the absorbing Si; the mean over its sites "
         "for a mixture)", "rdf_r": "angstrom", "rdf": "1 (per-site g(R) of Si and O around Si)",
         "fractions": "1 (fraction of the Si sites in each valence class Si0 ... Si4+)",
         "pdos_energy": "eV relative to the highest occupied level", "pdos": "states/eV (Löwdin s and p PDOS of the Si)",
         "local_gap": "eV (mean computed local gap of the nearest training spectra: where the p PDOS reaches the "
                      "threshold on both sides of 0)"}


def reference_alignment(predictor: Predictor, reference: Spectrum, kind: str | None = None,
                        max_shift: float = MAX_SHIFT_EV) -> dict:
    """Shift (eV, added to measured energies) from a measured reference, with what it was matched as.

    The reference must show a Si K edge; it is aligned to every computed reference the predictor
    holds, and the kind is the one it matches (refused when none matches, when the match is not
    clearly better than the other kind's, or when it contradicts a stated ``kind``). A shift larger
    than ``max_shift`` is refused."""
    from ..measured.quality import edge_check

    align, refs = predictor.bundle["alignment"], predictor.bundle["references"]
    where = f"--reference {reference.source} [{reference.label}]"
    if kind is not None and kind not in refs:
        raise ValueError(f"{where}: kind '{kind}', the predictor holds {sorted(refs)}")
    # an edge of the right sign and size; its position is checked once the shift is known
    edge_check(reference.energy, reference.mu, predictor.norm, where, edge_range=None)
    fits = {}
    for name in refs:
        window = tuple(align["window_eV"][name])
        try:
            shift = shift_from_reference(reference.energy, reference.mu, predictor.energy, refs[name], window,
                                         predictor.norm, array=align["array"])
        except ValueError as exc:
            fits[name] = {"error": str(exc)}
            continue
        measured, _ = normalise(reference.energy + shift, reference.mu, predictor.norm, computed=False)
        inside = (predictor.energy >= window[0]) & (predictor.energy <= window[1])
        rms = float(np.sqrt(np.mean((np.interp(predictor.energy[inside], reference.energy + shift, measured)
                                     - refs[name][inside]) ** 2)))
        fits[name] = {"shift_eV": float(shift), "match_rms": rms}
    matched = {n: f for n, f in fits.items() if "match_rms" in f}
    if not matched:
        raise ValueError(f"{where}: could not be aligned to any computed reference: "
                         + "; ".join(f"{n}: {f['error']}" for n, f in fits.items()))
    best = min(matched, key=lambda n: matched[n]["match_rms"])
    others = [matched[n]["match_rms"] for n in matched if n != best]
    described = ", ".join(f"{n} rms {f['match_rms']:.3f} at {f['shift_eV']:+.2f} eV" for n, f in matched.items())
    if matched[best]["match_rms"] > MAX_REFERENCE_RMS:
        raise ValueError(f"{where}: looks like none of the computed references ({described}; at most "
                         f"{MAX_REFERENCE_RMS} expected)")
    if kind is not None:
        if kind not in matched or matched[kind]["match_rms"] > KIND_MARGIN * matched[best]["match_rms"]:
            raise ValueError(f"{where}: given as {kind} but it matches {best} clearly better ({described})")
        best = kind
    elif others and min(others) < KIND_MARGIN * matched[best]["match_rms"]:
        raise ValueError(f"{where}: its kind is ambiguous ({described}); state it with --reference-kind")
    shift = matched[best]["shift_eV"]
    if abs(shift) > max_shift:
        raise ValueError(f"{where}: fitted shift {shift:+.2f} eV exceeds the bound of {max_shift:g} eV "
                         "(--max-shift raises it if your beamline's scale is really that far off)")
    return {"shift_eV": shift, "kind": best, "kind_given": kind is not None, "match_rms": matched[best]["match_rms"],
            "fits": fits}


def on_model_grid(predictor: Predictor, spectrum: Spectrum, shift: float) -> tuple[np.ndarray, float, dict]:
    """Normalised spectrum on the model grid after the shift, the gap filled at the ends (eV), and the
    figures of its edge check (which raises for a spectrum no model may answer for)."""
    from ..measured.quality import edge_check

    grid = predictor.energy
    energy = spectrum.energy + shift
    where = f"{spectrum.source} [{spectrum.label}]"
    gap = max(0.0, energy[0] - grid[0], grid[-1] - energy[-1])
    if gap > MAX_EDGE_GAP_EV:
        raise ValueError(f"{where}: covers {energy[0]:.2f}-{energy[-1]:.2f} eV after the "
                         f"shift of {shift:+.2f} eV; the model window is {grid[0]:.2f}-{grid[-1]:.2f} eV")
    edge = edge_check(energy, spectrum.mu, predictor.norm, where)
    norm, _ = normalise(energy, spectrum.mu, predictor.norm, computed=False)
    return np.interp(grid, energy, norm), gap, edge


def quality_flags(predictor: Predictor, out: dict, gaps) -> list[dict]:
    """Per spectrum: the flags (names) and the figures behind them, from ``Predictor.predict``'s ``out``."""
    domain = predictor.bundle.get("domain")
    t2, residual, valence = out["domain_t2"], out["domain_residual"], out["valence"]
    target_range = predictor.bundle.get("target_range", {}).get("valence")
    out = []
    for i, v in enumerate(valence):
        flags, figures = [], {}
        if domain is None:
            flags.append("domain_check_unavailable")
        else:
            figures.update(t2_per_component=float(t2[i]), t2_threshold=float(domain["t2_threshold"]),
                           pca_residual=float(residual[i]), pca_residual_threshold=float(domain["residual_threshold"]))
            if t2[i] > domain["t2_threshold"] or residual[i] > domain["residual_threshold"]:
                flags.append("outside_training_domain")
        if target_range is not None:  # bundles made before it was stored have the domain flag instead
            figures["valence_training_range"] = [float(t) for t in target_range]
            if not target_range[0] <= v <= target_range[1]:
                flags.append("valence_outside_training_range")
        if gaps[i] > 0:
            flags.append("edge_gap_filled")
        out.append({"flags": flags, **figures})
    return out


def predict_measured(predictor: Predictor, spectra: list[Spectrum], shift: float,
                     composition: float | None = None) -> list[dict]:
    """One result per spectrum: valence with interval, RDF band, class fractions, what was done to it,
    and a quality block whose flags say what the models cannot vouch for. ``composition``: the
    samples' stated x of SiOx, for valence intervals calibrated on that composition."""
    if not spectra:
        return []
    prepared = [on_model_grid(predictor, s, shift) for s in spectra]
    x = np.stack([p[0] for p in prepared])
    out = predictor.predict(x, composition)
    conf = predictor.bundle["conformal"]["confidence"]
    calibrated = None if composition is None else predictor.calibrated_composition(composition)
    quality = quality_flags(predictor, out, [p[1] for p in prepared])
    results = []
    for i, s in enumerate(spectra):
        rdf = np.maximum(out["rdf"][i], 0.0)  # g(R) >= 0
        results.append({
            "file": s.source, "spectrum": s.label, "status": "flagged" if quality[i]["flags"] else "ok",
            "shift_eV": float(shift), "edge_gap_filled_eV": float(prepared[i][1]),
            "window_eV": [float(predictor.energy[0]), float(predictor.energy[-1])],
            "valence": float(out["valence"][i]), "valence_ensemble_std": float(out["valence_std"][i]),
            # null: unbounded (too few calibration cells for this confidence)
            "valence_interval": [float(v) if np.isfinite(v) else None for v in out["valence_interval"][i]],
            # the composition whose held-out sites scaled the interval (null: all compositions)
            "valence_interval_composition": calibrated,
            "confidence": conf,
            "fractions": {name: float(f) for name, f in zip(predictor.bundle["classes"], out["fractions"][i])},
            # null: a bundle made before fraction intervals existed
            "fractions_interval": {name: [float(v) if np.isfinite(v) else None for v in iv]
                                   for name, iv in zip(predictor.bundle["classes"], out["fractions_interval"][i])},
            "rdf_r": predictor.bundle["r"].tolist(), "rdf": rdf.tolist(),
            "rdf_band": [[float(max(v, 0.0)) if np.isfinite(v) else None for v in out["rdf"][i] + sign * out["rdf_halfwidth"]]
                         for sign in (-1, 1)],
            **(_pdos_result(predictor, out, i) if "pdos" in out else {}),
            "quality": {**quality[i], **{k: float(v) for k, v in prepared[i][2].items()}},
            "normalised": x[i],
        })
    return results


def _pdos_result(predictor: Predictor, out: dict, i: int) -> dict:
    """Spectrum ``i``'s s and p PDOS with their band (clipped at 0 states/eV) and its local gap with
    its interval (an end null where the interval is unbounded: too few calibration sites)."""
    energy = predictor.bundle["pdos"]["energy"]
    n = len(energy)
    mean, half = out["pdos"][i], out["pdos_halfwidth"]
    lo, hi = np.maximum(mean - half, 0.0), np.maximum(mean + half, 0.0)
    gap = out["local_gap"][i]
    finite = [float(v) if np.isfinite(v) else None for v in out["local_gap_interval"][i]]
    return {"pdos_energy": energy.tolist(),
            **{f"pdos_{o}": np.maximum(mean[k * n:(k + 1) * n], 0.0).tolist() for k, o in enumerate(ORBITALS)},
            **{f"pdos_{o}_band": [lo[k * n:(k + 1) * n].tolist(), hi[k * n:(k + 1) * n].tolist()]
               for k, o in enumerate(ORBITALS)},
            "local_gap": float(gap) if np.isfinite(gap) else None,
            "local_gap_interval": finite if np.isfinite(gap) else [None, None]}
