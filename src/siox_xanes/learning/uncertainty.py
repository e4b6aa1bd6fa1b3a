"""Deep ensembles and split-conformal intervals calibrated on held-out cells.

Cells, not sites, are split into training, calibration and test parts: sites
of one cell share a structure, so a site split would calibrate on near
copies of the training data and promise too narrow intervals. The ensemble
(``members`` networks from different seeds) gives the point prediction and
its spread; split-conformal calibration turns the mean into an interval
with the requested coverage: one quantile of |residual| per r bin for the
RDF, and for the scalar valence a quantile of |residual| / difficulty
(normalised conformal; the difficulty is the predictor's, see
``predictor.difficulty``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .nets import Fitted, NetConfig, fit

SPLIT_NAMES = ("train", "calibration", "test")


def cell_split(cells, calibration_fraction: float, test_fraction: float, seed: int) -> dict[str, int]:
    """Each distinct cell -> 0 (train), 1 (calibration) or 2 (test), seeded; every part gets >= 1 cell."""
    unique = sorted(set(map(str, cells)))
    if len(unique) < 3:
        raise ValueError(f"{len(unique)} cells: a split by cell into train, calibration and test needs at least 3")
    order = np.random.default_rng(seed).permutation(len(unique))
    n_cal = max(1, int(round(calibration_fraction * len(unique))))
    n_test = max(1, int(round(test_fraction * len(unique))))
    if n_cal + n_test >= len(unique):
        n_cal, n_test = 1, 1
    part = np.zeros(len(unique), dtype=int)
    part[order[:n_cal]] = 1
    part[order[n_cal:n_cal + n_test]] = 2
    return {c: int(p) for c, p in zip(unique, part)}


@dataclass
class Ensemble:
    """Networks trained on the same data from different seeds."""

    members: list[Fitted]

    def predict_all(self, x: np.ndarray) -> np.ndarray:
        """(members, n, outputs)."""
        x = np.atleast_2d(np.asarray(x, float))
        return np.stack([m.predict(x).reshape(len(x), -1) for m in self.members])

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and standard deviation, each (n, outputs)."""
        p = self.predict_all(x)
        return p.mean(axis=0), p.std(axis=0)

    @property
    def epochs(self) -> list[int]:
        return [m.epochs for m in self.members]


def train_ensemble(x, y, cfg: NetConfig, members: int, seed: int, groups=None) -> Ensemble:
    """``groups``: see ``nets.fit`` (each member draws its own validation groups)."""
    if members < 1:
        raise ValueError(f"ensemble of {members} members: expected >= 1")
    return Ensemble([fit(x, y, cfg, seed + 7919 * k, groups) for k in range(members)])


def conformal_level(n: int, confidence: float) -> float:
    """Finite-sample quantile level ceil((n + 1) c) / n of split conformal; > 1 means the interval is unbounded."""
    if n < 1:
        raise ValueError("conformal calibration needs at least one calibration sample")
    return math.ceil((n + 1) * confidence) / n


def conformal_halfwidth(residuals: np.ndarray, confidence: float) -> np.ndarray:
    """Per-column split-conformal half width of |residual|; inf where too few samples for the level."""
    r = np.abs(np.asarray(residuals, float))
    r = r.reshape(len(r), -1)
    level = conformal_level(len(r), confidence)
    if level > 1:
        return np.full(r.shape[1], np.inf)
    return np.quantile(r, level, axis=0, method="higher")


def coverage(y_true, center, halfwidth) -> dict:
    """Measured coverage of the intervals center +- halfwidth.

    For vector targets: the mean per-output coverage and the share of rows
    inside the band at every output."""
    y_true = np.asarray(y_true, float).reshape(len(y_true), -1)
    center = np.asarray(center, float).reshape(y_true.shape)
    # one half-width per output, or per row (normalised intervals: shape (n, 1))
    inside = np.abs(y_true - center) <= np.broadcast_to(np.asarray(halfwidth, float), y_true.shape)
    out = {"n": int(len(y_true)), "coverage": float(inside.mean())}
    if y_true.shape[1] > 1:
        out["whole_curve_coverage"] = float(inside.all(axis=1).mean())
    return out
