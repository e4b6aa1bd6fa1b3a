"""Valence-class fractions (Si0 ... Si4+) from one averaged spectrum.

The formal class of a Si is its number of O neighbours (0-4). A measured
spectrum is an average over every Si of the sample, so the network learns
from averages of random mixtures of training-cell sites: class proportions
drawn from a flat Dirichlet, a random number of sites drawn per mixture,
their normalised spectra averaged, the target being the mixture's class
histogram. Predictions are clipped at zero and renormalised to sum to one.
"""

from __future__ import annotations

import numpy as np

CLASSES = (0, 1, 2, 3, 4)
CLASS_NAMES = tuple(f"Si{k}+" if k else "Si0" for k in CLASSES)


def class_fractions(n_o: np.ndarray) -> np.ndarray:
    """Histogram of O-neighbour counts as fractions over CLASSES (counts above 4 join class 4)."""
    n_o = np.clip(np.asarray(n_o, int), 0, CLASSES[-1])
    return np.bincount(n_o, minlength=len(CLASSES)) / max(1, len(n_o))


def random_mixtures(x: np.ndarray, n_o: np.ndarray, n_mixtures: int, max_sites: int, seed: int, values=None):
    """Averages of random site mixtures and their class fractions (and, given ``values`` per site,
    the mixtures' mean values as a third array).

    Classes absent from ``n_o`` get no weight; each mixture draws between 1
    and ``max_sites`` sites with replacement.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, float)
    n_o = np.clip(np.asarray(n_o, int), 0, CLASSES[-1])
    by_class = [np.flatnonzero(n_o == k) for k in CLASSES]
    present = np.array([len(b) > 0 for b in by_class])
    if not present.any():
        raise ValueError("no sites to mix")
    spectra, targets = np.empty((n_mixtures, x.shape[1])), np.empty((n_mixtures, len(CLASSES)))
    means = None if values is None else np.empty(n_mixtures)
    for i in range(n_mixtures):
        weights = np.where(present, rng.dirichlet(np.ones(len(CLASSES))), 0.0)
        weights /= weights.sum()
        counts = rng.multinomial(int(rng.integers(1, max_sites + 1)), weights)
        picks = np.concatenate([rng.choice(by_class[k], c) for k, c in enumerate(counts) if c])
        spectra[i] = x[picks].mean(axis=0)
        targets[i] = counts / counts.sum()
        if means is not None:
            means[i] = np.mean(np.asarray(values, float)[picks])
    return (spectra, targets) if means is None else (spectra, targets, means)


def as_fractions(raw: np.ndarray) -> np.ndarray:
    """Network outputs -> fractions: negative parts cut, rows summing to one."""
    f = np.clip(np.asarray(raw, float), 0.0, None)
    total = f.sum(axis=-1, keepdims=True)
    uniform = np.full_like(f, 1.0 / f.shape[-1])
    return np.where(total > 0, f / np.where(total > 0, total, 1.0), uniform)
