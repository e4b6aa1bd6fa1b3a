"""The paper's linear baseline: valence from three hand-made spectral descriptors."""

from __future__ import annotations

import numpy as np


def baseline_descriptors(energy: np.ndarray, mu: np.ndarray, half_width: float = 2.0) -> np.ndarray:
    """The linear baseline's three descriptors per spectrum (rows of ``mu``):

    * white-line intensity: the maximum of mu on the grid;
    * integrated white line: the trapezoid integral of mu over +-``half_width`` eV around that maximum;
    * edge position: the first energy where mu reaches half the white-line intensity
      (linear interpolation between grid points).
    """
    energy, mu = np.asarray(energy, float), np.atleast_2d(np.asarray(mu, float))
    out = np.empty((len(mu), 3))
    for i, m in enumerate(mu):
        k = int(np.argmax(m))
        wl = m[k]
        sel = np.abs(energy - energy[k]) <= half_width
        integral = float(np.sum(0.5 * (m[sel][1:] + m[sel][:-1]) * np.diff(energy[sel])))
        j = int(np.argmax(m >= 0.5 * wl))
        if j == 0:
            edge = energy[0]
        else:
            edge = energy[j - 1] + (0.5 * wl - m[j - 1]) * (energy[j] - energy[j - 1]) / (m[j] - m[j - 1])
        out[i] = (wl, integral, edge)
    return out
