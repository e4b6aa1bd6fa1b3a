"""What a site cube's spectra look like per composition: where the mean spectrum of each
composition has its highest point (the paper's Fig. 2: the main peak moves down as x falls) and how
much the white line of SiO4 sites varies (a Gamma-only spectrum of a small cell spreads it).

Both are read off ``mu_norm`` on the cube's common energy grid.
"""

from __future__ import annotations

import numpy as np

SIO4_O_COUNT = 4  # first-shell O neighbours of a Si4+ (SiO4) site


def highest_point(energy: np.ndarray, mu_norm: np.ndarray) -> float:
    """Energy (eV) of the largest value of the mean of the rows of ``mu_norm``."""
    return float(np.asarray(energy, float)[np.argmax(np.asarray(mu_norm, float).mean(axis=0))])


def white_line_spread(mu_norm: np.ndarray) -> float:
    """Std/mean of each row's largest ``mu_norm`` (NaN for fewer than two rows)."""
    heights = np.asarray(mu_norm, float).max(axis=1)
    return float(heights.std() / heights.mean()) if len(heights) > 1 else float("nan")


def spectra_by_composition(sites) -> dict:
    """Per composition of the site cube ``sites``: its sites and its mean spectrum's highest point;
    over the whole cube: the SiO4 white-line spread and the SiO4 sites it is taken on."""
    energy = np.asarray(sites["energy"].values, float)
    mu_norm = np.asarray(sites["mu_norm"].values, float)
    x = np.asarray(sites["x"].values, float)
    sio4 = np.asarray(sites["n_o_neighbours"].values) == SIO4_O_COUNT
    by_x = {}
    for value in np.unique(x):
        rows = x == value
        by_x[f"{value:.2f}"] = {"n_sites": int(rows.sum()), "highest_point_eV": highest_point(energy, mu_norm[rows])}
    return {"by_composition": by_x, "sio4_white_line_spread": white_line_spread(mu_norm[sio4]),
            "n_sio4": int(sio4.sum())}
