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

from ..measured.align import shift_from_reference
from ..measured.normalise import Normalisation, normalise, normalise_many
from ..measured.readers import Spectrum
from .augment import Augmentation, augmented_set, perturbed
from .fractions import CLASS_NAMES, as_fractions, class_fractions, random_mixtures
from .metrics import metrics
from .nets import NetConfig, model_from_payload, model_payload, net_config
from .training import target_values
from .uncertainty import (SPLIT_NAMES, Ensemble, calibrate_scalar, cell_split, conformal_halfwidth, coverage,
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

    @classmethod
    def from_config(cls, block: dict) -> "PredictorSettings":
        return cls(int(block["seed"]), int(block["ensemble_members"]), float(block["confidence"]),
                   float(block["calibration_fraction"]), float(block["test_fraction"]),
                   Augmentation.from_config(block["augmentation"]), int(block["fractions"]["mixtures"]),
                   int(block["fractions"]["max_sites"]), dict(block["robustness"]), dict(block["alignment"]),
                   dict(block["augmented_training"]) if block.get("augmented_training") else None)


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


def first_net_config(learning: dict, target: str) -> NetConfig:
    """The first candidate of ``learning.candidates[target]`` with the training settings (rule
    train_predictor puts the network of the full window's CV there)."""
    return net_config(learning["candidates"][target][0], learning["training"])


def robustness_curves(energy, mu_raw, y, ensembles: dict[str, Ensemble], norm: Normalisation, grid: dict, seed: int) -> list[dict]:
    """Valence RMSE of each ensemble on perturbed spectra: one perturbation at a time at fixed sizes."""
    rows = []
    for kind, values in (("shift_eV", grid["shift_eV"]), ("broadening_eV", grid["broadening_eV"]), ("noise", grid["noise"])):
        for v in values:
            rng = np.random.default_rng(seed)
            kw = {"shift": v} if kind == "shift_eV" else {"gamma": v} if kind == "broadening_eV" else {"noise": v}
            x = np.stack([perturbed(energy, row, norm, rng=rng, **kw) for row in mu_raw])
            for name, ens in ensembles.items():
                rows.append({"perturbation": kind, "value": float(v), "model": name,
                             "valence_rmse": metrics(y, ens.predict(x)[0][:, 0])["rmse"]})
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
    part_of = cell_split(cells, settings.calibration_fraction, settings.test_fraction, settings.seed)
    part = np.array([part_of[c] for c in cells])
    train, cal, test = (np.flatnonzero(part == k) for k in range(3))
    log(f"cells: {sum(v == 0 for v in part_of.values())} train, {sum(v == 1 for v in part_of.values())} calibration, "
        f"{sum(v == 2 for v in part_of.values())} test; sites {len(train)}/{len(cal)}/{len(test)}")
    x_norm = normalise_many(energy, mu_raw, norm, computed=True)
    y = {"valence": target_values(sites, "valence"), "rdf": target_values(sites, "rdf")}
    members, seed = settings.ensemble_members, settings.seed
    # src: for each augmented spectrum, the training site it comes from.
    x_aug, _, src = augmented_set(energy, mu_raw[train], np.zeros(len(train)), norm, settings.augmentation, seed)
    cfg = {target: first_net_config(learning, target) for target in ("valence", "rdf")}
    aug_cfg = {target: augmented_net_config(c, settings.augmented_training) for target, c in cfg.items()}
    ensembles = {}
    for target in ("valence", "rdf"):
        # validation by training site: a site's perturbed copies would otherwise validate it
        ensembles[target] = train_ensemble(x_aug, y[target][train][src], aug_cfg[target], members, seed, groups=src)
        log(f"{target}: {members} members (augmented, {len(x_aug)} spectra), epochs {ensembles[target].epochs}")
    plain = train_ensemble(x_norm[train], y["valence"][train], cfg["valence"], members, seed)
    log(f"valence without augmentation: epochs {plain.epochs}")
    mix_x, mix_f = random_mixtures(x_aug, n_o[train][src], settings.mixtures, settings.max_sites_per_mixture, seed)
    # fractions: the valence architecture, five outputs
    fractions = train_ensemble(mix_x, mix_f, aug_cfg["valence"], members, seed + 1)
    log(f"fractions: {settings.mixtures} mixtures, epochs {fractions.epochs}")

    conf = settings.confidence
    halfwidth = {
        "valence": calibrate_scalar(ensembles["valence"], x_norm[cal], y["valence"][cal], conf),
        "rdf": conformal_halfwidth(y["rdf"][cal] - ensembles["rdf"].predict(x_norm[cal])[0], conf),
    }
    evaluation = {"confidence": conf, "n_sites": {n: int(len(i)) for n, i in zip(SPLIT_NAMES, (train, cal, test))},
                  "cells": {n: sorted(c for c, p in part_of.items() if p == k) for k, n in enumerate(SPLIT_NAMES)},
                  "valence_halfwidth": float(halfwidth["valence"]),
                  "rdf_halfwidth_median": float(np.median(halfwidth["rdf"])),
                  "epochs": {"valence": ensembles["valence"].epochs, "rdf": ensembles["rdf"].epochs,
                             "valence_without_augmentation": plain.epochs, "fractions": fractions.epochs},
                  "augmented_training": settings.augmented_training,
                  "coverage": {}, "metrics": {}}
    for target in ("valence", "rdf"):
        mean = ensembles[target].predict(x_norm[test])[0]
        evaluation["coverage"][f"{target}_sites"] = coverage(y[target][test], mean, halfwidth[target])
        evaluation["metrics"][f"{target}_sites"] = metrics(y[target][test], mean.reshape(y[target][test].shape))
    # System-averaged spectra of the test cells, against the means over the same sites.
    sys_cells = np.asarray(systems["cell"].values).astype(str)
    sys_test = np.flatnonzero([part_of.get(c) == 2 for c in sys_cells])
    if len(sys_test):
        xs = normalise_many(energy, np.asarray(systems["mu"].values, float)[sys_test], norm, computed=True)
        truth = {"valence": np.asarray(systems["mean_bader_charge"].values, float)[sys_test],
                 "rdf": np.asarray(systems["rdf_total"].values, float)[sys_test]}
        for target in ("valence", "rdf"):
            mean = ensembles[target].predict(xs)[0]
            evaluation["coverage"][f"{target}_systems"] = coverage(truth[target], mean, halfwidth[target])
        true_f = np.stack([class_fractions(n_o[cells == c]) for c in sys_cells[sys_test]])
        pred_f = as_fractions(fractions.predict(xs)[0])
        evaluation["fractions_systems"] = {"n": int(len(sys_test)), "mae": float(np.abs(pred_f - true_f).mean()),
                                           "classes": list(CLASS_NAMES)}
    robustness = robustness_curves(energy, mu_raw[test], y["valence"][test],
                                   {"augmented": ensembles["valence"], "without_augmentation": plain},
                                   norm, settings.robustness, seed)
    bundle = {
        "format_version": FORMAT_VERSION,
        "energy": energy, "r": np.asarray(sites["r"].values, float),
        "normalisation": norm.as_dict(),
        "ensembles": {k: [model_payload(m) for m in e.members] for k, e in
                      (("valence", ensembles["valence"]), ("rdf", ensembles["rdf"]), ("fractions", fractions))},
        "conformal": {"confidence": conf, "valence_halfwidth": float(halfwidth["valence"]),
                      "rdf_halfwidth": np.asarray(halfwidth["rdf"], float)},
        "references": {name: normalise(*_on_grid(e, m, energy), norm, computed=True)[0]
                       for name, (e, m) in references.items()},
        "alignment": dict(settings.alignment),
        "classes": list(CLASS_NAMES),
        "training": {"cells": evaluation["cells"], "n_sites": evaluation["n_sites"],
                     "cube": dict(sites.attrs).get("config_sha256")},
    }
    return bundle, evaluation, robustness


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

    def predict(self, x_norm: np.ndarray) -> dict:
        """Arrays for normalised spectra on the model grid: valence (mean, std, interval), rdf, fractions."""
        conf = self.bundle["conformal"]
        v_mean, v_std = self.ensembles["valence"].predict(x_norm)
        g_mean, g_std = self.ensembles["rdf"].predict(x_norm)
        f_mean, f_std = self.ensembles["fractions"].predict(x_norm)
        q = conf["valence_halfwidth"]
        return {"valence": v_mean[:, 0], "valence_std": v_std[:, 0],
                "valence_interval": np.stack([v_mean[:, 0] - q, v_mean[:, 0] + q], axis=1),
                "rdf": g_mean, "rdf_std": g_std, "rdf_halfwidth": np.asarray(conf["rdf_halfwidth"], float),
                "fractions": as_fractions(f_mean), "fractions_std": f_std}


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


def reference_shift(predictor: Predictor, reference: Spectrum, name: str | None = None) -> float:
    """Shift (eV, added to measured energies) from a measured reference against the computed one."""
    align = predictor.bundle["alignment"]
    name = name or align["reference"]
    refs = predictor.bundle["references"]
    if name not in refs:
        raise ValueError(f"reference '{name}': the predictor holds {sorted(refs)}")
    return shift_from_reference(reference.energy, reference.mu, predictor.energy, refs[name], tuple(align["window_eV"][name]),
                                predictor.norm, array=align["array"])


def on_model_grid(predictor: Predictor, spectrum: Spectrum, shift: float) -> tuple[np.ndarray, float]:
    """Normalised spectrum on the model grid after the shift, and the gap filled at the ends (eV)."""
    grid = predictor.energy
    energy = spectrum.energy + shift
    gap = max(0.0, energy[0] - grid[0], grid[-1] - energy[-1])
    if gap > MAX_EDGE_GAP_EV:
        raise ValueError(f"{spectrum.source} [{spectrum.label}]: covers {energy[0]:.2f}-{energy[-1]:.2f} eV after the "
                         f"shift of {shift:+.2f} eV; the model window is {grid[0]:.2f}-{grid[-1]:.2f} eV")
    norm, _ = normalise(energy, spectrum.mu, predictor.norm, computed=False)
    return np.interp(grid, energy, norm), gap


def predict_measured(predictor: Predictor, spectra: list[Spectrum], shift: float) -> list[dict]:
    """One result per spectrum: valence with interval, RDF band, class fractions, what was done to it."""
    if not spectra:
        return []
    prepared = [on_model_grid(predictor, s, shift) for s in spectra]
    x = np.stack([p[0] for p in prepared])
    out = predictor.predict(x)
    conf = predictor.bundle["conformal"]["confidence"]
    results = []
    for i, s in enumerate(spectra):
        results.append({
            "file": s.source, "spectrum": s.label, "shift_eV": float(shift), "edge_gap_filled_eV": float(prepared[i][1]),
            "window_eV": [float(predictor.energy[0]), float(predictor.energy[-1])],
            "valence": float(out["valence"][i]), "valence_ensemble_std": float(out["valence_std"][i]),
            # null: unbounded (too few calibration cells for this confidence)
            "valence_interval": [float(v) if np.isfinite(v) else None for v in out["valence_interval"][i]],
            "confidence": conf,
            "fractions": {name: float(f) for name, f in zip(predictor.bundle["classes"], out["fractions"][i])},
            "rdf_r": predictor.bundle["r"].tolist(), "rdf": out["rdf"][i].tolist(),
            "rdf_band": [[float(v) if np.isfinite(v) else None for v in out["rdf"][i] + sign * out["rdf_halfwidth"]]
                         for sign in (-1, 1)],
            "normalised": x[i],
        })
    return results
