"""How far a normalised spectrum lies from what the networks were trained on.

A PCA of the training inputs (the augmented, normalised site spectra the
ensembles saw) keeps the components of ``variance`` of their variance. A
spectrum gets two distances: the mean squared whitened score over those
components (Hotelling's T^2 / k: how unusual it is inside the training
subspace) and the rms residual outside it (how much of it the training
spectra cannot express at all). Each threshold is the ``quantile`` of the same
distance over held-out calibration cells, augmented like the training set:
an in-domain spectrum exceeds either with a probability near 1 - quantile.
"""

from __future__ import annotations

import numpy as np


def fit_domain(x_train: np.ndarray, x_calibration: np.ndarray, variance: float = 0.999,
               quantile: float = 0.99) -> dict:
    """The PCA and the two thresholds, as plain arrays (saved in the predictor bundle)."""
    x_train = np.asarray(x_train, float)
    mean = x_train.mean(axis=0)
    _, s, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    var = s**2 / max(len(x_train) - 1, 1)
    k = int(np.searchsorted(np.cumsum(var) / var.sum(), variance) + 1)
    domain = {"mean": mean, "components": vt[:k], "score_sd": np.sqrt(var[:k]), "variance": variance,
              "quantile": quantile}
    t2, residual = domain_distances(domain, x_calibration)
    domain["t2_threshold"] = float(np.quantile(t2, quantile))
    domain["residual_threshold"] = float(np.quantile(residual, quantile))
    return domain


def domain_distances(domain: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T^2 / k, rms residual) of each row of ``x``."""
    centred = np.atleast_2d(np.asarray(x, float)) - domain["mean"]
    scores = centred @ domain["components"].T
    t2 = np.mean((scores / domain["score_sd"]) ** 2, axis=1)
    residual = np.sqrt(np.mean((centred - scores @ domain["components"]) ** 2, axis=1))
    return t2, residual
