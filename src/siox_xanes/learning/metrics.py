"""Error measures of predictions and the CV's choice among candidates (numpy only: the report and
figures use them without PyTorch)."""

from __future__ import annotations

import numpy as np


def metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """RMSE, MAE and R^2 over all entries (for RDFs: over all sites and bins)."""
    t, p = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    err = p - t
    ss_tot = ((t - t.mean()) ** 2).sum()
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1 - (err**2).sum() / ss_tot) if ss_tot > 0 else float("nan"),
        "n": int(len(np.asarray(y_true))),
    }


def per_row_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """RMSE of each predicted RDF (one value per site), as in the paper's Fig. 4."""
    return np.sqrt(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2, axis=1))


def better_share(y_true: np.ndarray, y_pred: np.ndarray, y_other: np.ndarray) -> float:
    """Share of rows (sites) whose prediction ``y_pred`` has a lower mean squared error than
    ``y_other``'s: seed 004's count of test cases where the network beat template matching (its Fig. 5a)."""
    t = np.asarray(y_true, float).reshape(len(y_true), -1)
    mse = [np.mean((np.asarray(y, float).reshape(t.shape) - t) ** 2, axis=1) for y in (y_pred, y_other)]
    return float(np.mean(mse[0] < mse[1]))


def selected_candidate(window_metrics: dict) -> int:
    """Index of the candidate a window trained: the one its metrics name, else the lowest mean
    RMSE of its CV (0 without a CV: one candidate)."""
    if window_metrics.get("selected_candidate") is not None:
        return int(window_metrics["selected_candidate"])
    cv = window_metrics.get("cv") or []
    return int(min(cv, key=lambda row: row["mean_rmse"])["candidate"]) if cv else 0
