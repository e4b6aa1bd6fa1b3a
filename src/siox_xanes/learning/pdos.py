"""What a PDOS read from a spectrum gets right (seed 004): errors per orbital and energy region,
the local gap taken from the predicted p PDOS, and template matching, the baseline seed 004 beat
(each test spectrum takes the PDOS of its nearest training spectrum).

The PDOS target of a site is its s PDOS followed by its p PDOS on the cube's ``pdos_energy``
grid (relative to the cell's highest occupied level), so a network predicts both at once.
"""

from __future__ import annotations

import numpy as np

from ..spectra.energy import local_gap
from .metrics import metrics

# seed 004's four 7.5 eV regions, relative to the reference level
REGIONS_EV = ((-15.0, -7.5), (-7.5, 0.0), (0.0, 7.5), (7.5, 15.0))
ORBITALS = ("s", "p")


def orbitals(y: np.ndarray, n_energy: int) -> dict[str, np.ndarray]:
    """The s and p halves of PDOS target rows."""
    y = np.asarray(y, float).reshape(len(y), -1)
    if y.shape[1] != 2 * n_energy:
        raise ValueError(f"PDOS rows of {y.shape[1]} values; expected s and p on {n_energy} energies ({2 * n_energy})")
    return {"s": y[:, :n_energy], "p": y[:, n_energy:]}


def local_gaps(rows: np.ndarray, energy: np.ndarray, gap_threshold: float) -> np.ndarray:
    """Local gap (eV) of each PDOS target row (s then p), read from its p half; NaN where none."""
    p = orbitals(rows, len(energy))["p"]
    return np.array([local_gap(energy, row, gap_threshold)[0] for row in p])


def nearest_rows(x_train: np.ndarray, x_test: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of each test row's ``k`` nearest training rows (Euclidean, on the inputs), nearest first."""
    x_train, x_test = np.asarray(x_train, float), np.asarray(x_test, float)
    d2 = (x_test**2).sum(1)[:, None] - 2 * x_test @ x_train.T + (x_train**2).sum(1)[None, :]
    return np.argmin(d2, axis=1)[:, None] if k == 1 else np.argsort(d2, axis=1, kind="stable")[:, :k]


def template_matching(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, k: int = 1) -> np.ndarray:
    """Each test row gets the target of its nearest training row, or with ``k`` > 1 the mean target
    of its ``k`` nearest."""
    return np.asarray(y_train)[nearest_rows(x_train, x_test, k)].mean(axis=1)


def nearest_gaps(x_train: np.ndarray, gap_train: np.ndarray, x_test: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of the computed local gaps of each test spectrum's ``k`` nearest
    training spectra: the local gap as the predictor reads it (bench/pdos_networks.py: closer than the
    gap read off a network's mean PDOS, which the averaging fills with density)."""
    gaps = np.asarray(gap_train, float)[nearest_rows(x_train, x_test, k)]
    return gaps.mean(axis=1), gaps.std(axis=1)


def region_errors(truth: np.ndarray, prediction: np.ndarray, energy: np.ndarray) -> dict[str, float]:
    """RMSE (states/eV) per orbital and region, e.g. ``'p 0 to 7.5 eV'``."""
    energy = np.asarray(energy, float)
    t, p = orbitals(truth, len(energy)), orbitals(prediction, len(energy))
    out = {}
    for orbital in ORBITALS:
        for lo, hi in REGIONS_EV:
            sel = (energy >= lo - 1e-9) & (energy <= hi + 1e-9)
            out[f"{orbital} {lo:g} to {hi:g} eV"] = float(np.sqrt(np.mean((t[orbital][:, sel] - p[orbital][:, sel]) ** 2)))
    return out


def pdos_errors(truth: np.ndarray, prediction: np.ndarray, energy: np.ndarray, gap_threshold: float) -> dict:
    """RMSE overall and per orbital and region (states/eV), and the local gap from the predicted p
    PDOS against the true one's (eV; sites where either has no gap on the grid are counted, not scored)."""
    energy = np.asarray(energy, float)
    out = {"rmse": metrics(np.asarray(truth, float), np.asarray(prediction, float))["rmse"],
           "regions": region_errors(truth, prediction, energy)}
    gap_true, gap_pred = (local_gaps(rows, energy, gap_threshold) for rows in (truth, prediction))
    both = np.isfinite(gap_true) & np.isfinite(gap_pred)
    diff = gap_pred[both] - gap_true[both]
    out["local_gap"] = {"mae_eV": float(np.mean(np.abs(diff))) if both.any() else float("nan"),
                        "rmse_eV": float(np.sqrt(np.mean(diff**2))) if both.any() else float("nan"),
                        "mean_signed_eV": float(np.mean(diff)) if both.any() else float("nan"),
                        "n_scored": int(both.sum()), "n_sites": int(len(both)),
                        "threshold_states_per_eV": float(gap_threshold)}
    return out


def describer(ds):
    """``describe(truth, prediction)`` for the PDOS target of the site cube ``ds``: its grid and the
    local-gap threshold the cube's PDOS were made with."""
    energy = np.asarray(ds["pdos_energy"].values, float)
    threshold = float(ds["local_gap"].attrs["threshold_states_per_eV"])

    def describe(truth, prediction):
        return pdos_errors(truth, prediction, energy, threshold)

    return describe
