"""The paper's figures from the workflow's outputs (each saved as PNG and PDF).

Every function takes the input paths of its figure (a dict keyed as in
``catalog.figure_inputs``), the two output paths, the configured windows and the
ablation groups; ``FIGURES`` maps figure names to their functions.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..learning.metrics import per_row_rmse
from .catalog import FULL
from .plots import plt, save_figure

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


ELEMENT_COLOURS = {"Si": "#c8a165", "O": "#d62728"}


def glass_cells_per_composition(frames) -> dict[float, object]:
    """The first seed's cell of each composition among ``frames`` (quenched glasses and maybe
    reference crystals, as the workflow or a release writes them), by x."""
    from .. import layout

    def seed(atoms):  # the workflow's own structure files carry no cell name: one per composition
        cell = str(atoms.info.get("cell", ""))
        return layout.parse_glass_cell(cell)[1] if cell else 0

    first = {}
    for atoms in frames:
        if "x" not in atoms.info or layout.is_reference(str(atoms.info.get("cell", ""))):
            continue  # a reference crystal
        x = round(float(atoms.info["x"]), 2)
        if x not in first or seed(atoms) < seed(first[x]):
            first[x] = atoms
    return dict(sorted(first.items()))


def fig1_structures(inp, png, pdf, windows, ablation):
    """Fig. 1: one quenched cell per composition (the lowest seed), atoms at half their
    covalent radius so that the network shows, with its formula and density."""
    from ase.data import covalent_radii
    from ase.io import read
    from ase.visualize.plot import plot_atoms

    from ..structures.lattice import density_g_cm3

    paths = [inp["structures"]] if isinstance(inp["structures"], str) else list(inp["structures"])
    cells = glass_cells_per_composition([a for path in paths for a in read(path, index=":")])
    if not cells:
        raise ValueError(f"fig1_structures: no glass cell (extxyz with info 'x') in {paths}")
    ncol = min(len(cells), 5)
    nrow = -(-len(cells) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.1 * ncol, 2.3 * nrow), squeeze=False)
    for ax, (x, atoms) in zip(axes.flat, cells.items()):
        atoms = atoms.copy()
        atoms.wrap()  # MD leaves atoms that left the box outside it
        radii = 0.5 * covalent_radii[atoms.numbers]
        colours = [ELEMENT_COLOURS.get(s, "0.5") for s in atoms.get_chemical_symbols()]
        plot_atoms(atoms, ax, radii=radii, colors=colours, rotation="15x,-25y,0z")
        density = density_g_cm3(atoms)
        symbols = atoms.get_chemical_symbols()
        formula = "".join(f"{el}{symbols.count(el)}" for el in ("Si", "O") if el in symbols)
        ax.set_title(f"x = {x:.2f}: {formula}\n{density:.2f} g/cm$^3$", fontsize=8)
        ax.set_axis_off()
    for ax in axes.flat[len(cells):]:
        ax.set_axis_off()
    fig.tight_layout()
    save_figure(fig, png, pdf)


def figS3_site_spectra(inp, png, pdf, windows, ablation):
    """Fig. S3: every computed site spectrum (thin) behind each composition's mean (bold)."""
    ds = _load(inp["sites"])
    xs = sorted(np.unique(np.round(ds["x"].values, 2)))
    ncol = min(len(xs), 3)
    nrow = -(-len(xs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.4 * nrow), sharex=True, sharey=True, squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, x in zip(axes.flat, xs):
        mu = ds["mu"].values[np.round(ds["x"].values, 2) == x]
        ax.plot(ds.energy, mu.T, color="0.6", lw=0.3, alpha=0.5)
        ax.plot(ds.energy, mu.mean(axis=0), color=cmap(x / 2.0), lw=1.6)
        ax.set_title(f"x = {x:.2f} ({len(mu)} sites)", fontsize=8)
    for ax in axes.flat[len(xs):]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("photon energy (eV)")
    for ax in axes[:, 0]:
        ax.set_ylabel("absorption")
    fig.tight_layout()
    save_figure(fig, png, pdf)


def fig2_spectra(inp, png, pdf, windows, ablation):
    ds = _load(inp["systems"])
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    cmap = plt.get_cmap("viridis")
    for k in range(ds.sizes["system"]):
        ax.plot(ds.energy, ds.mu[k], color=cmap(float(ds.x[k]) / 2.0), lw=0.9)
    for i, w in enumerate(ablation.get("sub_windows", [])):
        lo, hi = windows[w]
        ax.axvspan(lo, hi, color="0.9" if i % 2 else "0.95", zorder=0)
        ax.text((lo + hi) / 2, 1.0, w, transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 2))
    fig.colorbar(sm, ax=ax, label="x in SiOx")
    ax.set_xlabel("photon energy (eV)")
    ax.set_ylabel("absorption (mean over Si sites)")
    save_figure(fig, png, pdf)


def fig3_valence_parity(inp, png, pdf, windows, ablation):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    _parity(ax, _load(inp[f"valence_{FULL}"]), "full range")
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, png, pdf)


def _rdf_examples(pred):
    test = np.flatnonzero(pred["split"].values == 1)
    rmse = per_row_rmse(pred["truth"].values[test], pred["prediction"].values[test])
    order = np.argsort(rmse)
    picks = order[np.unique(np.linspace(0, len(order) - 1, 6).round().astype(int))]
    return test, rmse, order, picks


def fig4_rdf_rmse(inp, png, pdf, windows, ablation):
    pred = _load(inp[f"rdf_{FULL}"])
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


def fig5_window_parity(inp, png, pdf, windows, ablation):
    names = [*ablation["sub_windows"], FULL]
    ncol = min(3, len(names))
    fig, axes = plt.subplots(-(-len(names) // ncol), ncol, figsize=(3 * ncol, 3 * -(-len(names) // ncol)), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, w in zip(axes.flat, names):
        _parity(ax, _load(inp[f"valence_{w}"]), f"{w}: {windows[w][0]:.2f}-{windows[w][1]:.2f} eV", coloured_test=False)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def _sorted_rmse_curves(ax, inp, names, labels=None):
    cmap = plt.get_cmap("tab10")
    for i, w in enumerate(names):
        pred = _load(inp[f"rdf_{w}"])
        test = pred["split"].values == 1
        rmse = np.sort(per_row_rmse(pred["truth"].values[test], pred["prediction"].values[test]))
        ax.plot(np.arange(len(rmse)), rmse, color="gold" if w == FULL else cmap(i), lw=2.2 if w == FULL else 1,
                label=(labels or {}).get(w, w))
    ax.set_xlabel("test spectrum (sorted)")
    ax.set_ylabel("RDF RMSE")
    ax.legend(fontsize=7, frameon=False)


def fig6_window_rdf_rmse(inp, png, pdf, windows, ablation):
    fig, ax = plt.subplots(figsize=(5, 4))
    _sorted_rmse_curves(ax, inp, [*ablation["sub_windows"], FULL])
    save_figure(fig, png, pdf)


def fig7_averaged_parity(inp, png, pdf, windows, ablation):
    sites, avg = _load(inp[f"valence_{FULL}"]), _load(inp["averaged"])
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


def fig8_averaged_rdf(inp, png, pdf, windows, ablation):
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


def figS4_baseline(inp, png, pdf, windows, ablation):
    base = json.loads(open(inp[f"baseline_{FULL}"]).read())
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


def figS5_bands_valence(inp, png, pdf, windows, ablation):
    bands = ablation["bands"]
    fig, axes = plt.subplots(1, len(bands), figsize=(4 * len(bands), 4), squeeze=False)
    for ax, w in zip(axes.flat, bands):
        _parity(ax, _load(inp[f"valence_{w}"]), f"{w}: {windows[w][0]:.0f}-{windows[w][1]:.0f} eV", coloured_test=False)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def figS6_bands_rdf(inp, png, pdf, windows, ablation):
    fig, ax = plt.subplots(figsize=(5, 4))
    _sorted_rmse_curves(ax, inp, [*ablation["bands"], FULL])
    save_figure(fig, png, pdf)


def predictor_robustness(inp, png, pdf, windows, ablation):
    """Beyond the paper: valence and RDF RMSE on test-cell sites against an energy shift, an extra
    Lorentzian broadening, noise and the normalisation's post-edge range, for the ensembles
    trained without and with augmentation (the RDF only with)."""
    import pandas as pd

    rows = pd.read_csv(inp["robustness"])
    panels = [("shift_eV", "energy shift (eV)"), ("broadening_eV", "extra Lorentzian HWHM (eV)"),
              ("noise", "noise (fraction of the edge step)"), ("norm_jitter_eV", "post-edge range moved (eV)")]
    panels = [p for p in panels if (rows["perturbation"] == p[0]).any()]
    targets = [(t, label) for t, label in (("valence", "valence RMSE (e)"), ("rdf", "RDF RMSE"))
               if f"{t}_rmse" in rows]
    fig, axes = plt.subplots(len(targets), len(panels), figsize=(3.2 * len(panels), 2.8 * len(targets)),
                             sharey="row", squeeze=False)
    for r, (target, ylabel) in enumerate(targets):
        for ax, (kind, label) in zip(axes[r], panels):
            sel = rows[rows["perturbation"] == kind]
            for model, style in (("without_augmentation", "o--"), ("augmented", "s-")):
                part = sel[sel["model"] == model].sort_values("value").dropna(subset=[f"{target}_rmse"])
                if len(part):
                    ax.plot(part["value"], part[f"{target}_rmse"], style, ms=4, label=model.replace("_", " "))
            ax.set_xlabel(label)
        axes[r, 0].set_ylabel(ylabel)
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, png, pdf)


PAPER_TRAINING_SITES = 4232  # the paper's training/validation part (80 % of 5290)


def learning_curves(inp, png, pdf, windows, ablation):
    """Beyond the paper: test RMSE (fixed by-cell test part) against the number of training
    sites, both targets; the paper trained on 4232."""
    import pandas as pd

    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (target, unit) in zip(axes, (("valence", "e"), ("rdf", ""))):
        rows = pd.read_csv(inp[f"curve_{target}"]).sort_values("n_train")
        ax.plot(rows["n_train"], rows["rmse"], "o-")
        ax.set_xscale("log")
        ax.set_xlabel("training sites")
        ax.set_ylabel(f"test RMSE {('(' + unit + ')') if unit else ''}")
        ax.set_title(f"{target} (paper: {PAPER_TRAINING_SITES} training sites)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def fig11_forward_spectra(inp, png, pdf, windows, ablation):
    """Seed 002's Fig. 11: per valence class, the best and the worst predicted site (by-cell
    out-of-fold prediction of the best model) beside its DFT spectrum, with the ensemble's band."""
    ds = _load(inp["forward_predictions"])
    energy, truth, pred = ds["energy"].values, ds["mu_norm"].values, ds["prediction"].values
    spread, cls = ds["spread"].values, ds["n_o_neighbours"].values
    error = per_row_rmse(truth, pred)
    classes = np.unique(cls)
    fig, axes = plt.subplots(2, len(classes), figsize=(2.4 * len(classes), 4.2), sharex=True, squeeze=False)
    for col, c in enumerate(classes):
        rows = np.flatnonzero(cls == c)
        for row, (label, i) in enumerate((("best", rows[np.argmin(error[rows])]), ("worst", rows[np.argmax(error[rows])]))):
            ax = axes[row, col]
            ax.plot(energy, truth[i], "k-", lw=1, label="DFT")
            ax.plot(energy, pred[i], "-", color=CLASS_COLOURS[int(c) % 5], lw=1, label=ds.attrs.get("model", "model"))
            if np.isfinite(spread[i]).all():
                ax.fill_between(energy, pred[i] - spread[i], pred[i] + spread[i], color=CLASS_COLOURS[int(c) % 5], alpha=0.25, lw=0)
            ax.set_title(f"Si{int(c)}+ {label}: RMSE {error[i]:.3f}", fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=6)
    axes[-1, len(classes) // 2].set_xlabel("energy (eV)")
    fig.suptitle(f"held-out cells: {ds.attrs.get('model', '')}, {ds.attrs.get('split', '')}", fontsize=8)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def forward_models(inp, png, pdf, windows, ablation):
    """Spectral RMSE per composition of every descriptor/model under both splits, beside the
    class-mean baseline."""
    ev = json.loads(open(inp["forward_evaluation"]).read())
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, split in zip(axes, ("by_cell", "leave_one_composition_out")):
        models = ev["splits"].get(split, {})
        for key, row in models.items():
            xs = [float(x) for x in row["by_composition"]]
            ax.plot(xs, [r["rmse"] for r in row["by_composition"].values()], "o-", ms=3, lw=1,
                    label=key + (" (best)" if key == ev["best_by_cell"] else ""))
        if models:
            first = next(iter(models.values()))
            ax.plot([float(x) for x in first["by_composition"]], [r["baseline_rmse"] for r in first["by_composition"].values()],
                    "k--", lw=1.5, label="class-mean baseline")
        ax.set_xlabel("x in SiOx")
        ax.set_title(split.replace("_", " "), fontsize=8)
    axes[0].set_ylabel("spectral RMSE (mu_norm)")
    axes[1].legend(fontsize=5, ncol=2)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def selection_curves(inp, png, pdf, windows, ablation):
    """RMSE on the sites not computed, and the worst cell's averaged-spectrum deviation, against
    the fraction computed, per selection method (random: mean ± std)."""
    data = json.loads(open(inp["selection_curves"]).read())
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for method, curve in data["curves"].items():
        f = np.array([float(k) for k in curve]) * 100
        rows = list(curve.values())
        for ax, key, spread in ((axes[0], "rmse_not_computed", "rmse_spread"),
                                (axes[1], "averaged_max_deviation_pct", "averaged_max_deviation_pct_spread")):
            y, e = np.array([r[key] for r in rows]), np.array([r[spread] for r in rows])
            line, = ax.plot(f, y, "o-", ms=3, label=method)
            if e.any():  # random's spread over its orders
                ax.fill_between(f, y - e, y + e, color=line.get_color(), alpha=0.2, lw=0)
    baseline = data["curves"].get("random", curve)  # the class mean of random's computed sites
    axes[0].plot(f, [r["baseline_rmse"] for r in baseline.values()], "k--", lw=1, label="class-mean baseline")
    axes[0].set_ylabel("RMSE, sites not computed")
    axes[1].axhline(2.0, color="0.5", ls=":", lw=1)
    axes[1].set_ylabel("worst cell's averaged spectrum (% of peak)")
    for ax in axes:
        ax.set_xlabel("sites computed (%)")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, png, pdf)


def pdos_windows(inp, png, pdf, windows, ablation):
    """Seed 004's question, which part of the spectrum tells which part of the PDOS: the test RMSE
    of each window's network per orbital and region; and the full window's best, median and worst
    predicted test site."""
    from ..learning.pdos import REGIONS_EV, region_errors

    names = [*ablation.get("sub_windows", []), FULL]
    preds = {w: _load(inp[f"pdos_{w}"]) for w in names}
    energy = preds[FULL]["pdos_energy"].values
    table, labels = [], None
    for w in names:
        test = preds[w]["split"].values == 1
        regions = region_errors(preds[w]["truth"].values[test], preds[w]["prediction"].values[test], energy)
        labels = list(regions)
        table.append(list(regions.values()))
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    im = ax.imshow(np.asarray(table), aspect="auto", cmap="viridis_r")
    ax.set_yticks(range(len(names)), [f"{w} {windows[w][0]:.0f}-{windows[w][1]:.0f}" if w in windows else w for w in names],
                  fontsize=6)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=6)
    fig.colorbar(im, ax=ax, label="test RMSE (states/eV)")
    full = preds[FULL]
    test = np.flatnonzero(full["split"].values == 1)
    rmse = per_row_rmse(full["truth"].values[test], full["prediction"].values[test])
    order = np.argsort(rmse)
    n = len(energy)
    for j, (label, k) in enumerate((("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1]))):
        a = fig.add_subplot(3, 2, 2 * j + 2)
        row = test[k]
        for offset, (orbital, colour) in enumerate((("s", "tab:blue"), ("p", "tab:red"))):
            part = slice(offset * n, (offset + 1) * n)
            a.plot(energy, full["truth"].values[row, part], color=colour, lw=1.6, alpha=0.4)
            a.plot(energy, full["prediction"].values[row, part], color=colour, lw=0.8, label=orbital)
        for lo, _ in REGIONS_EV[1:]:
            a.axvline(lo, color="0.8", lw=0.5)
        a.set_title(f"{label}: {str(full['cell'].values[row])} Si {int(full['atom_index'].values[row])}", fontsize=7)
        a.tick_params(labelsize=6)
    a.set_xlabel("E - highest occupied level (eV)")
    a.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, png, pdf)


# Figure name -> drawing function; the inputs of each are in catalog.figure_inputs.
FIGURES = {
    "fig1_structures": fig1_structures,
    "fig2_spectra": fig2_spectra,
    "fig3_valence_parity": fig3_valence_parity,
    "fig4_rdf_rmse": fig4_rdf_rmse,
    "fig5_window_parity": fig5_window_parity,
    "fig6_window_rdf_rmse": fig6_window_rdf_rmse,
    "fig7_averaged_parity": fig7_averaged_parity,
    "fig8_averaged_rdf": fig8_averaged_rdf,
    "figS3_site_spectra": figS3_site_spectra,
    "figS4_baseline": figS4_baseline,
    "figS5_bands_valence": figS5_bands_valence,
    "figS6_bands_rdf": figS6_bands_rdf,
    "predictor_robustness": predictor_robustness,
    "learning_curves": learning_curves,
    "fig11_forward_spectra": fig11_forward_spectra,
    "forward_models": forward_models,
    "selection_curves": selection_curves,
    "pdos_windows": pdos_windows,
}
