"""The paper's figures from the workflow's outputs (each saved as PNG and PDF).

Every function takes the input paths of its figure (a dict) and the two
output paths; ``FIGURES`` maps figure names to (function, inputs needed).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .learn import per_row_rmse
from .plots import plt, save_figure

SUB_WINDOWS = list("abcdefgh")
CLASS_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def _load(path):
    with xr.open_dataset(path) as ds:
        return ds.load()


def _parity(ax, pred_ds, title, coloured_test=True):
    y, p = pred_ds["truth"].values.ravel(), pred_ds["prediction"].values.ravel()
    split, cls = pred_ds["split"].values, pred_ds["n_o_neighbours"].values
    ax.scatter(y[split == 0], p[split == 0], s=6, c="0.75", label="train", lw=0)
    test = split == 1
    if coloured_test:
        for k in np.unique(cls[test]):
            sel = test & (cls == k)
            ax.scatter(y[sel], p[sel], s=8, lw=0, color=CLASS_COLOURS[min(int(k), 4)], label=f"Si{int(k)}+ (test)")
    else:
        ax.scatter(y[test], p[test], s=8, lw=0, color="tab:orange", label="test")
    lo, hi = min(y.min(), p.min()), max(y.max(), p.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    rmse = float(np.sqrt(np.mean((p[test] - y[test]) ** 2)))
    ax.set_title(f"{title}  (test RMSE {rmse:.3f})", fontsize=8)
    ax.set_xlabel("Bader charge (e)")
    ax.set_ylabel("predicted (e)")


def fig2_spectra(inp, png, pdf, windows):
    ds = _load(inp["systems"])
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    cmap = plt.get_cmap("viridis")
    for k in range(ds.sizes["system"]):
        ax.plot(ds.energy, ds.mu[k], color=cmap(float(ds.x[k]) / 2.0), lw=0.9)
    for i, w in enumerate(SUB_WINDOWS):
        if w in windows:
            lo, hi = windows[w]
            ax.axvspan(lo, hi, color="0.9" if i % 2 else "0.95", zorder=0)
            ax.text((lo + hi) / 2, 1.0, w, transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 2))
    fig.colorbar(sm, ax=ax, label="x in SiOx")
    ax.set_xlabel("photon energy (eV)")
    ax.set_ylabel("absorption (mean over Si sites)")
    save_figure(fig, png, pdf)


def fig3_valence_parity(inp, png, pdf, windows):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    _parity(ax, _load(inp["valence_full"]), "full range")
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, png, pdf)


def _rdf_examples(pred):
    test = np.flatnonzero(pred["split"].values == 1)
    rmse = per_row_rmse(pred["truth"].values[test], pred["prediction"].values[test])
    order = np.argsort(rmse)
    picks = order[np.unique(np.linspace(0, len(order) - 1, 6).round().astype(int))]
    return test, rmse, order, picks


def fig4_rdf_rmse(inp, png, pdf, windows):
    pred = _load(inp["rdf_full"])
    test, rmse, order, picks = _rdf_examples(pred)
    r = np.arange(pred.sizes["output"])
    fig = plt.figure(figsize=(9, 4))
    ax = fig.add_subplot(1, 3, 1)
    ax.plot(np.arange(len(order)), rmse[order], "k.-", ms=3)
    for j, p in enumerate(picks):
        rank = int(np.flatnonzero(order == p)[0])
        ax.annotate("ABCDEF"[j], (rank, rmse[p]), color="darkred")
    ax.set_xlabel("test spectrum (sorted)")
    ax.set_ylabel("RDF RMSE")
    for j, p in enumerate(picks):
        a = fig.add_subplot(3, 3, 3 * (j // 2) + 2 + j % 2)
        a.plot(r, pred["truth"].values[test[p]], color="lightcoral", lw=1.5)
        a.plot(r, pred["prediction"].values[test[p]], color="darkred", lw=0.8)
        a.set_title(f"{'ABCDEF'[j]}: {str(pred['cell'].values[test[p]])}", fontsize=7)
        a.tick_params(labelsize=6)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def fig5_window_parity(inp, png, pdf, windows):
    fig, axes = plt.subplots(3, 3, figsize=(9, 9))
    for ax, w in zip(axes.flat, SUB_WINDOWS + ["full"]):
        _parity(ax, _load(inp[f"valence_{w}"]), f"{w}: {windows[w][0]:.2f}-{windows[w][1]:.2f} eV", coloured_test=False)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def _sorted_rmse_curves(ax, inp, names, labels=None):
    cmap = plt.get_cmap("tab10")
    for i, w in enumerate(names):
        pred = _load(inp[f"rdf_{w}"])
        test = pred["split"].values == 1
        rmse = np.sort(per_row_rmse(pred["truth"].values[test], pred["prediction"].values[test]))
        ax.plot(np.arange(len(rmse)), rmse, color="gold" if w == "full" else cmap(i), lw=2.2 if w == "full" else 1,
                label=(labels or {}).get(w, w))
    ax.set_xlabel("test spectrum (sorted)")
    ax.set_ylabel("RDF RMSE")
    ax.legend(fontsize=7, frameon=False)


def fig6_window_rdf_rmse(inp, png, pdf, windows):
    fig, ax = plt.subplots(figsize=(5, 4))
    _sorted_rmse_curves(ax, inp, SUB_WINDOWS + ["full"])
    save_figure(fig, png, pdf)


def fig7_averaged_parity(inp, png, pdf, windows):
    sites, avg = _load(inp["valence_full"]), _load(inp["averaged"])
    fig, ax = plt.subplots(figsize=(4.2, 4))
    test = sites["split"].values == 1
    ax.scatter(sites["truth"].values.ravel()[test], sites["prediction"].values.ravel()[test], s=6, c="0.7", lw=0, label="single sites (test)")
    ax.scatter(avg["mean_valence_true"], avg["mean_valence_pred"], s=18, c="tab:red", label="cell-averaged spectra")
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("mean Bader charge (e)")
    ax.set_ylabel("predicted (e)")
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, png, pdf)


def fig8_averaged_rdf(inp, png, pdf, windows):
    avg = _load(inp["averaged"])
    rmse = per_row_rmse(avg["mean_rdf_true"].values, avg["mean_rdf_pred"].values)
    xs = avg["x"].values
    fig = plt.figure(figsize=(9, 4))
    ax = fig.add_subplot(1, 2, 1)
    ax.scatter(np.argsort(np.argsort(rmse)), rmse, c=xs, cmap="viridis", vmin=0, vmax=2)
    ax.set_xlabel("system (sorted)")
    ax.set_ylabel("mean-RDF RMSE")
    comps = np.unique(xs)
    for j, x in enumerate(comps[:9]):
        sel = np.flatnonzero(xs == x)
        worst = sel[np.argmax(rmse[sel])]
        a = fig.add_subplot(3, 6, 6 * (j // 3) + 4 + j % 3)
        a.plot(avg.r, avg["mean_rdf_true"].values[worst], color="lightcoral", lw=1.5)
        a.plot(avg.r, avg["mean_rdf_pred"].values[worst], color="darkred", lw=0.8)
        a.set_title(f"x = {x:.2f}", fontsize=7)
        a.tick_params(labelsize=5)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def figS4_baseline(inp, png, pdf, windows):
    base = json.loads(open(inp["baseline_full"]).read())
    y, p, split = np.array(base["truth"]), np.array(base["prediction"]), np.array(base["split"])
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(y[split == 0], p[split == 0], s=6, c="0.75", lw=0, label="train")
    ax.scatter(y[split == 1], p[split == 1], s=8, c="tab:orange", lw=0, label="test")
    lo, hi = min(y.min(), p.min()), max(y.max(), p.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_title(f"linear baseline (test RMSE {base['test']['rmse']:.3f})", fontsize=8)
    ax.set_xlabel("Bader charge (e)")
    ax.set_ylabel("predicted (e)")
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, png, pdf)


def figS5_bands_valence(inp, png, pdf, windows):
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, w in zip(axes, ("low", "high")):
        _parity(ax, _load(inp[f"valence_{w}"]), f"{w}: {windows[w][0]:.0f}-{windows[w][1]:.0f} eV", coloured_test=False)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def figS6_bands_rdf(inp, png, pdf, windows):
    fig, ax = plt.subplots(figsize=(5, 4))
    _sorted_rmse_curves(ax, inp, ["low", "high", "full"])
    save_figure(fig, png, pdf)


FIGURES = {
    "fig2_spectra": (fig2_spectra, ["systems"]),
    "fig3_valence_parity": (fig3_valence_parity, ["valence_full"]),
    "fig4_rdf_rmse": (fig4_rdf_rmse, ["rdf_full"]),
    "fig5_window_parity": (fig5_window_parity, [f"valence_{w}" for w in SUB_WINDOWS + ["full"]]),
    "fig6_window_rdf_rmse": (fig6_window_rdf_rmse, [f"rdf_{w}" for w in SUB_WINDOWS + ["full"]]),
    "fig7_averaged_parity": (fig7_averaged_parity, ["valence_full", "averaged"]),
    "fig8_averaged_rdf": (fig8_averaged_rdf, ["averaged"]),
    "figS4_baseline": (figS4_baseline, ["baseline_full"]),
    "figS5_bands_valence": (figS5_bands_valence, ["valence_low", "valence_high"]),
    "figS6_bands_rdf": (figS6_bands_rdf, ["rdf_low", "rdf_high", "rdf_full"]),
}


def input_path(key: str) -> str:
    """Workflow path of a figure input key ('valence_b', 'rdf_full', 'averaged', 'baseline_full', 'systems')."""
    if key == "systems":
        return "results/dataset/spectra_systems.nc"
    if key == "averaged":
        return "results/learning/window_full/averaged_predictions.nc"
    if key == "baseline_full":
        return "results/learning/window_full/valence/baseline_metrics.json"
    target, window = key.split("_", 1)
    return f"results/learning/window_{window}/{target}/predictions.nc"


def figures_for(windows) -> list[str]:
    """The figures whose inputs the configured windows provide (all of them for the paper's windows)."""
    def available(key):
        if key in ("systems", "averaged", "baseline_full"):
            return True
        return key.split("_", 1)[1] in windows
    return [name for name, (_, keys) in FIGURES.items() if all(available(k) for k in keys)]
