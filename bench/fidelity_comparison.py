"""What the converged xspectra k mesh changes: the medium release's v2 spectra (Gamma-only) against
v3's (`config_medium.yaml`'s meshes) on the glass sites v3 has finished, and the references.

v3's finished sites are read from the medium run (`runs/medium/results/xanes`): each raw spectrum
is put on the common grid with v3's own global shift (its alpha-quartz reference at 1846 eV, the
workflow's `global_shift`), normalised as the cubes are (the config's Larch `pre_edge` block), and
set beside the same site (cell, atom) in the v2 release's site cube. It prints and writes:

* per composition: how far the two fidelities lie apart (largest |delta mu_norm| and rms, 5-40 eV
  above the site's onset, as fractions of the v3 peak), and where the mean spectrum of the
  composition's sites has its highest point at each fidelity (issue 34: at x = 0 v2 put it 8 eV
  above the edge peak, a Gamma-point artefact);
* the white-line spread of SiO4 sites (std/mean of the largest mu_norm) at each fidelity, on the
  same sites, and over every v2 SiO4 site;
* the references: global shift, alpha-quartz and diamond-Si main peaks and edges, their separations.

    .venv/bin/python bench/fidelity_comparison.py [--workdir runs/medium] [--v2 data/siox-medium-v2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import xarray as xr
import yaml
from snakemake.utils import update_config

from siox_xanes import layout
from siox_xanes.io import write_json
from siox_xanes.measured.normalise import Normalisation, normalise_many
from siox_xanes.report.reproduction import reference_edges
from siox_xanes.report.spectral import highest_point, white_line_spread
from siox_xanes.spectra.references import reference_si_count
from siox_xanes.spectra.sites import select_sites
from siox_xanes.spectra.energy import (
    edge_energy, energy_grid, global_shift, main_peak, mean_spectrum, read_site_spectrum, to_grid,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/results/fidelity_comparison.json"
WINDOW_EV = (5.0, 40.0)  # above each site's onset, as the k-mesh criterion (kmesh_convergence.py)


def medium_config() -> dict:
    """config.yaml with config_medium.yaml over it, merged as Snakemake merges config files."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(config, yaml.safe_load((ROOT / "config_medium.yaml").read_text()))
    return config


def finished_sites(results: Path) -> dict[str, list[tuple[dict, tuple[np.ndarray, np.ndarray]]]]:
    """cell -> [(site.json, raw spectrum)] of every finished core-hole site under results/xanes."""
    out = {}
    for info_path in sorted(results.glob("xanes/*/site*/site.json")):
        info = json.loads(info_path.read_text())
        out.setdefault(info["cell"], []).append((info, read_site_spectrum(info_path.with_name("spectrum.csv"))))
    return out


def references(by_cell: dict, xanes: dict) -> dict:
    """The global shift from alpha-quartz and both references' main peaks and edges after it."""
    window = xanes["main_peak_window_eV"]
    chosen = {}  # the sites the config asks for (a working directory may hold others from earlier settings)
    for name in layout.REFERENCES:
        cell, ref = layout.reference_cell(name), xanes["references"][name]
        keep = select_sites(reference_si_count(name, ref["repeat"]), ref["sites"], xanes["site_seed"], cell)
        chosen[cell] = [(i, s) for i, s in by_cell[cell] if int(i["site"]) in keep]
    by_cell = {**by_cell, **chosen}
    quartz = by_cell[layout.reference_cell("alpha_quartz")]
    if not quartz:
        raise SystemExit(f"{layout.reference_cell('alpha_quartz')}: no finished site at the configured settings: "
                         "the global shift needs it (the run computes it first)")
    shift, _ = global_shift([s for _, s in quartz], [i["onset_unshifted_eV"] for i, _ in quartz],
                            xanes["experiment_main_peak_eV"]["alpha_quartz"], window)
    out = {"global_shift_eV": shift}
    for name in layout.REFERENCES:
        entries = by_cell[layout.reference_cell(name)]
        if not entries:  # still running: its peaks and the separations are NaN until it finishes
            out[name] = {"main_peak_eV": float("nan"), "edge_eV": float("nan")}
            continue
        e, mu = mean_spectrum([s for _, s in entries])
        peak = main_peak(e, mu, min(i["onset_unshifted_eV"] for i, _ in entries), window) + shift
        out[name] = {"main_peak_eV": peak, "edge_eV": edge_energy(e + shift, mu, peak)}
    for key in ("main_peak_eV", "edge_eV"):
        out[f"separation_{key}"] = out["alpha_quartz"][key] - out["diamond_si"][key]
    return out


def deviation(energy, a, b, onset) -> tuple[float, float]:
    """Largest and rms |a - b| in the window above the onset, as fractions of b's peak there."""
    inside = (energy >= onset + WINDOW_EV[0]) & (energy <= onset + WINDOW_EV[1])
    d = np.abs(a[inside] - b[inside])
    peak = b[inside].max()
    return float(d.max() / peak), float(np.sqrt(np.mean(d**2)) / peak)


def v3_sites(workdir: Path, v2) -> tuple[np.ndarray, list[dict], np.ndarray, dict]:
    """(energy grid, rows, normalised v3 spectra, references) of v3's finished configured glass
    sites, each row naming its site's index ``k`` in the v2 site cube ``v2``."""
    config = medium_config()
    xanes = config["xanes"]
    grid = energy_grid(xanes["grid"])
    norm = Normalisation.from_config(config["normalisation"])
    by_cell = finished_sites(workdir / "results")
    refs = references(by_cell, xanes)
    shift = refs["global_shift_eV"]
    index = {(c, int(a)): k for k, (c, a) in enumerate(zip(v2["cell"].values, v2["atom_index"].values))}
    # only the sites the config asks for: the working directory also holds sites of earlier settings
    chosen = json.loads((workdir / layout.SITE_SELECTION).read_text())["order"]
    chosen = {(cell, int(site)) for cell, site in chosen[: xanes["site_selection"]["amount"]]}
    rows = []
    for cell, entries in by_cell.items():
        if cell.startswith("ref_"):
            continue
        for info, (e, mu) in entries:
            if (cell, int(info["site"])) not in chosen:
                continue
            k = index[(cell, int(info["site"]))]
            rows.append({"cell": cell, "x": float(v2["x"].values[k]), "k": k,
                         "n_o": int(v2["n_o_neighbours"].values[k]), "onset": info["onset_unshifted_eV"] + shift,
                         "mu": to_grid(e + shift, mu, grid, what=f"{cell} site {info['site']}")})
    return grid, rows, normalise_many(grid, np.array([r["mu"] for r in rows]), norm, computed=True), refs


def compare(workdir: Path, v2_dir: Path) -> dict:
    with xr.open_dataset(v2_dir / "spectra_sites.nc") as v2:
        v2 = v2.load()
    with (v2_dir / "alignment.json").open() as f:
        v2_alignment = json.load(f)
    grid, rows, v3_norm, refs = v3_sites(workdir, v2)
    v2_norm = v2["mu_norm"].values[[r["k"] for r in rows]]
    x = np.array([r["x"] for r in rows])
    dev = np.array([deviation(grid, v2_norm[j], v3_norm[j], rows[j]["onset"]) for j in range(len(rows))])

    compositions = {}
    for value in sorted(set(x)):
        sel = x == value
        all_v2 = v2["x"].values == value
        compositions[f"{value:.2f}"] = {
            "sites": int(sel.sum()), "cells": len({rows[j]["cell"] for j in np.flatnonzero(sel)}),
            "max_dev_mean": float(dev[sel, 0].mean()), "max_dev_max": float(dev[sel, 0].max()),
            "rms_dev_mean": float(dev[sel, 1].mean()),
            "highest_point_eV": {"v2_same_sites": highest_point(grid, v2_norm[sel]), "v3": highest_point(grid, v3_norm[sel]),
                                 "v2_all_sites": highest_point(grid, v2["mu_norm"].values[all_v2])},
        }
    sio4 = np.array([r["n_o"] == 4 for r in rows])
    white_line = {"sites": int(sio4.sum()), "v2_same_sites": white_line_spread(v2_norm[sio4]), "v3": white_line_spread(v3_norm[sio4]),
                  "v2_all_sites": white_line_spread(v2["mu_norm"].values[v2["n_o_neighbours"].values == 4]),
                  "v2_all_sites_count": int((v2["n_o_neighbours"].values == 4).sum())}
    with xr.open_dataset(v2_dir / "reference_spectra.nc") as ref_spectra:
        edges = reference_edges(ref_spectra, v2_alignment["references"])
    v2_refs = {"global_shift_eV": v2_alignment["global_shift_eV"],
               **{name: {"main_peak_eV": v2_alignment["references"][name]["computed_main_peak_eV"], "edge_eV": edges[name]}
                  for name in layout.REFERENCES}}
    for key in ("main_peak_eV", "edge_eV"):
        v2_refs[f"separation_{key}"] = v2_refs["alpha_quartz"][key] - v2_refs["diamond_si"][key]
    return {"v3_sites": len(rows), "compositions": compositions, "sio4_white_line_spread": white_line,
            "references": {"v2": v2_refs, "v3": refs}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs/medium")
    parser.add_argument("--v2", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = compare(args.workdir, args.v2)
    write_json(args.out, result)
    print(f"v3 sites finished: {result['v3_sites']}")
    print("| x | sites (cells) | v2 vs v3, largest / rms of peak (mean; worst largest) | highest point of the mean spectrum: v2 same sites, v2 all, v3 |")
    print("| --- | --- | --- | --- |")
    for xk, c in result["compositions"].items():
        h = c["highest_point_eV"]
        print(f"| {xk} | {c['sites']} ({c['cells']}) | {100 * c['max_dev_mean']:.1f} % / {100 * c['rms_dev_mean']:.1f} %; "
              f"{100 * c['max_dev_max']:.1f} % | {h['v2_same_sites']:.1f}, {h['v2_all_sites']:.1f}, {h['v3']:.1f} eV |")
    w = result["sio4_white_line_spread"]
    print(f"SiO4 white-line spread (std/mean of the mu_norm maximum): v2 {100 * w['v2_same_sites']:.1f} % and v3 "
          f"{100 * w['v3']:.1f} % on the same {w['sites']} sites; v2 over all {w['v2_all_sites_count']}: {100 * w['v2_all_sites']:.1f} %")
    for fidelity, r in result["references"].items():
        print(f"{fidelity} references: shift {r['global_shift_eV']:.2f} eV; quartz - Si main peaks "
              f"{r['separation_main_peak_eV']:.2f} eV, edges {r['separation_edge_eV']:.2f} eV")


if __name__ == "__main__":
    main()
