"""Figures of the workflow (matplotlib/seaborn), each saved as PNG and PDF."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # batch jobs have no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..io import atomic_path  # noqa: E402
from ..spectra.energy import edge_energy  # noqa: E402


def save_figure(fig, png_path, pdf_path) -> None:
    for path in (png_path, pdf_path):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=150, bbox_inches="tight")
    plt.close(fig)


def coordination_histogram(classes: pd.DataFrame, png_path, pdf_path) -> None:
    """Fig. S2: Si coordination classes (Si and O neighbour counts) per composition.

    Bars are the mean fraction over the seeds of a composition, whiskers their spread.
    """
    sns.set_theme(style="whitegrid", context="paper")
    xs = sorted(classes["x"].unique())
    ncol = 3
    nrow = math.ceil(len(xs) / ncol)
    # Every (cell, class) pair, zero-filled, so absent classes count as 0 in the means.
    full = (
        classes.pivot_table(index=["x", "seed"], columns="class", values="fraction", fill_value=0.0)
        .stack()
        .rename("fraction")
        .reset_index()
    )
    order = (
        classes.drop_duplicates("class")
        .sort_values(["n_o_neighbours", "n_si_neighbours"])["class"]
        .tolist()
    )
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), sharey=True, squeeze=False)
    for ax, x in zip(axes.flat, xs):
        sub = full[full["x"] == x]
        present = [c for c in order if sub.loc[sub["class"] == c, "fraction"].max() > 0]
        sns.barplot(data=sub, x="class", y="fraction", order=present, errorbar="sd", ax=ax, color="tab:blue")
        ax.set_title(f"SiO$_{{{x:.2f}}}$")
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    for ax in axes.flat[len(xs):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of Si")
    fig.suptitle("Si coordination classes SinOm (n Si and m O neighbours)")
    fig.tight_layout()
    save_figure(fig, png_path, pdf_path)


REFERENCE_LABELS = {"alpha_quartz": "α-quartz", "diamond_si": "diamond Si"}


def reference_spectra_figure(refs: dict, png_path, pdf_path, erange=(1830.0, 1880.0)) -> None:
    """Fig. S1 analogue: aligned reference spectra, computed and experimental main peaks and the
    computed edges (steepest rise under each main peak) marked.

    ``refs``: name -> ((energy, mu), {computed_main_peak_eV, experiment_main_peak_eV}).
    """
    sns.set_theme(style="ticks", context="paper")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, ((e, mu), peak)), color in zip(refs.items(), ("tab:red", "tab:blue")):
        sel = (e >= erange[0]) & (e <= erange[1])
        ax.plot(e[sel], mu[sel] / mu[sel].max(), color=color, label=REFERENCE_LABELS.get(name, name))
        ax.axvline(peak["computed_main_peak_eV"], color=color, ls="-", lw=0.8, alpha=0.6)
        ax.axvline(peak["experiment_main_peak_eV"], color=color, ls="--", lw=0.8)
        ax.axvline(edge_energy(e, mu, peak["computed_main_peak_eV"]), color=color, ls=":", lw=0.8)
    ax.set_xlim(*erange)
    ax.set_xlabel("photon energy (eV)")
    ax.set_ylabel("normalised absorption")
    ax.set_title("Si K-edge references (solid: computed peak, dotted: computed edge, dashed: experiment)", fontsize=8)
    ax.legend(frameon=False)
    save_figure(fig, png_path, pdf_path)


def prediction_figure(result: dict, grid, png_path) -> None:
    """One measured spectrum's answer: normalised spectrum on the model grid and window, valence with
    its interval, valence-class fractions, RDF with its conformal band."""
    import numpy as np

    with_pdos = "pdos_energy" in result
    fig, axes = plt.subplots(1, 4 if with_pdos else 3, figsize=(17 if with_pdos else 13, 3.6),
                             gridspec_kw={"width_ratios": [1.4, 0.8, 1.2, 1.2][:4 if with_pdos else 3]})
    ax = axes[0]
    ax.plot(grid, result["normalised"], color="k", lw=1.2)
    ax.axvspan(*result["window_eV"], color="tab:blue", alpha=0.07, label="model window")
    ax.set(xlabel="photon energy (eV, workflow scale)", ylabel="normalised $\\mu(E)$",
           title=f"{result['spectrum']} (shift {result['shift_eV']:+.2f} eV)")
    lo, hi = result["valence_interval"]
    interval = f"[{lo:.2f}, {hi:.2f}]" if lo is not None else "unbounded (too few calibration cells)"
    flags = result.get("quality", {}).get("flags", [])
    ax.text(0.98, 0.05, f"valence {result['valence']:.2f} e\n{100 * result['confidence']:.0f} % interval {interval}"
            + ("".join(f"\nFLAG: {f.replace('_', ' ')}" for f in flags)),
            transform=ax.transAxes, ha="right", va="bottom", color="tab:red" if flags else "k")
    ax.legend(loc="upper right", frameon=False)
    ax = axes[1]
    names, values = list(result["fractions"]), list(result["fractions"].values())
    ax.bar(names, values, color="tab:blue")
    ax.set(ylim=(0, 1), ylabel="fraction of Si", title="valence classes")
    ax = axes[2]
    r = np.asarray(result["rdf_r"])
    band = np.array(result["rdf_band"], dtype=float)  # None (unbounded) -> nan: not drawn
    ax.fill_between(r, band[0], band[1], color="tab:orange", alpha=0.3,
                    label=f"{100 * result['confidence']:.0f} % band")
    ax.plot(r, result["rdf"], color="tab:orange")
    ax.set(xlabel="R (Å)", ylabel="g(R)", title="RDF around Si")
    ax.legend(frameon=False)
    if with_pdos:
        ax = axes[3]
        e = np.asarray(result["pdos_energy"])
        for orbital, colour in (("s", "tab:blue"), ("p", "tab:red")):
            band = np.array(result[f"pdos_{orbital}_band"], dtype=float)
            ax.fill_between(e, band[0], band[1], color=colour, alpha=0.2)
            ax.plot(e, result[f"pdos_{orbital}"], color=colour, label=f"{orbital} PDOS")
        gap, (lo, hi) = result["local_gap"], result["local_gap_interval"]
        text = (f"local gap {gap:.2f} eV" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None else "")) if gap is not None else "no local gap on the grid"
        ax.set(xlabel="E - highest occupied level (eV)", ylabel="states/eV", title=text)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def structure_spectrum_figure(result: dict, bundle, png_path) -> None:
    """A structure's predicted spectrum: the averaged spectrum with its band over a sample of its
    sites' spectra, and the flags in the title."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4))
    spectra = result["site_spectra"]
    step = max(1, len(spectra) // 50)  # at most about 50 site curves
    for mu in spectra[::step]:
        ax.plot(bundle.energy, mu, color="0.8", lw=0.5)
    ax.fill_between(bundle.energy, result["average_low"], result["average_high"], color="C0", alpha=0.3,
                    label=f"{int(100 * bundle.confidence)} % band")
    ax.plot(bundle.energy, result["average"], color="C0", label=f"average of {result['n_si']} Si sites")
    ax.set_xlabel("energy (eV)")
    ax.set_ylabel("normalised absorption")
    flags = ", ".join(result["flags"]) or "no flags"
    ax.set_title(f"{str(result['source']).rsplit('/', 1)[-1]}: {flags} ({100 * result['flagged_fraction']:.0f} % of sites flagged)",
                 fontsize=9, color="C3" if result["flags"] else "k")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
