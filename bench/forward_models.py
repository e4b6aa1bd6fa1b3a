"""Forward models of seed 002 on a data release: which descriptor and which regression predict
the site spectra of unseen cells, and which site selection teaches them most.

1. Descriptors (SOAP, ACSF via dscribe; SNAP, quadratic SNAP via LAMMPS) of every Si of every
   cell: sites per second.
2. Ridge regression on raw, PCA- and NMF-compressed spectra (`mu_norm`), the descriptors
   standardised and PCA-compressed (99.9 %) on the training cells only; evaluated by cell
   (5 folds, no cell on both sides) and leave one composition out: spectral RMSE overall and per
   valence class, the ratio to the class-mean baseline, the peak-position error.
3. Site selection from the descriptors alone (uncertainty reduction, farthest point, random x5):
   the RMSE on the sites not computed against the fraction computed, and each cell's averaged
   spectrum (computed + predicted sites) against the all-DFT one, largest deviation in % of
   its peak.

    .venv/bin/python bench/forward_models.py [--release data/siox-medium-v2] [--descriptors soap acsf snap qsnap]

Writes bench/results/forward_models.json and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr
from ase.io import read

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from siox_xanes import layout  # noqa: E402
from siox_xanes.forward.descriptors import Compressor, DescriptorSettings, describe, si_indices  # noqa: E402
from siox_xanes.forward.models import (  # noqa: E402
    SpectrumRidge,
    class_mean_baseline,
    peak_position_error,
    spectral_rmse,
)
from siox_xanes.forward.selection import farthest_point, random_order, uncertainty_reduction  # noqa: E402

FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def site_descriptors(release: Path, sites: xr.Dataset, kinds: list[str]) -> tuple[dict, dict]:
    """kind -> rows in the cube's site order; kind -> Si sites per second (every Si of every cell)."""
    frames = {a.info["cell"]: a for a in read(release / layout.RELEASE_FILES["structures"], index=":")}
    cells, atoms_index = sites["cell"].values.astype(str), sites["atom_index"].values
    rows, rate = {}, {}
    for kind in kinds:
        settings = DescriptorSettings(kind=kind)
        describe(frames[cells[0]], settings)  # the first call compiles (numba) / loads LAMMPS
        start, n_si = time.perf_counter(), 0
        per_cell = {}
        for cell in dict.fromkeys(cells):
            per_cell[cell] = describe(frames[cell], settings, source=cell)  # every Si of the cell
            n_si += len(per_cell[cell])
        rate[kind] = n_si / (time.perf_counter() - start)
        row_of = {cell: {int(i): k for k, i in enumerate(si_indices(frames[cell]))} for cell in per_cell}
        rows[kind] = np.array([per_cell[c][row_of[c][int(a)]] for c, a in zip(cells, atoms_index)])
    return rows, rate


def evaluate(x, y, classes, energy, folds, compression):
    """Out-of-fold predictions of a ridge model and of the class-mean baseline."""
    pred, base = np.zeros_like(y), np.zeros_like(y)
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        comp = Compressor(0.999).fit(x[train])
        model = SpectrumRidge(compression).fit(comp.transform(x[train]), y[train])
        pred[test] = model.predict(comp.transform(x[test]))
        base[test] = class_mean_baseline(classes[train], y[train], classes[test])
    return summarise(y, pred, base, classes, energy)


def summarise(y, pred, base, classes, energy):
    rmse, rmse_base = spectral_rmse(y, pred), spectral_rmse(y, base)
    out = {"rmse": float(np.sqrt(np.mean(rmse**2))), "baseline_rmse": float(np.sqrt(np.mean(rmse_base**2)))}
    out["ratio_to_baseline"] = out["rmse"] / out["baseline_rmse"]
    out["by_class"] = {int(c): {"n": int((classes == c).sum()),
                                "rmse": float(np.sqrt(np.mean(rmse[classes == c] ** 2))),
                                "baseline_rmse": float(np.sqrt(np.mean(rmse_base[classes == c] ** 2)))}
                       for c in np.unique(classes)}
    peak = peak_position_error(energy, y, pred)
    out["peak_position_error_eV"] = {"median_abs": float(np.median(np.abs(peak))), "p90_abs": float(np.quantile(np.abs(peak), 0.9))}
    return out


def by_cell_folds(cells, k=5, seed=0):
    names = np.array(sorted(set(cells)))
    np.random.default_rng(seed).shuffle(names)
    return [np.flatnonzero(np.isin(cells, part)) for part in np.array_split(names, k)]


def by_composition_folds(x):
    return [np.flatnonzero(np.isclose(x, v)) for v in np.unique(x)]


def learning_curves(features, y, classes, cells, orders: dict, compression="raw"):
    """method -> fraction -> RMSE on the sites not computed, baseline RMSE, largest averaged-spectrum
    deviation over the cells (% of each cell's all-DFT averaged peak)."""
    out = {}
    n = len(y)
    names = np.array(sorted(set(cells)))
    truth_avg = np.array([y[cells == c].mean(axis=0) for c in names])
    for method, method_orders in orders.items():
        out[method] = {}
        for f in FRACTIONS:
            k = int(np.ceil(f * n))
            rows = []
            for order in method_orders:
                chosen = np.zeros(n, bool)
                chosen[order[:k]] = True
                model = SpectrumRidge(compression).fit(features[chosen], y[chosen])
                filled = y.copy()
                filled[~chosen] = model.predict(features[~chosen])
                base = class_mean_baseline(classes[chosen], y[chosen], classes[~chosen])
                avg = np.array([filled[cells == c].mean(axis=0) for c in names])
                dev = np.abs(avg - truth_avg).max(axis=1) / truth_avg.max(axis=1)
                rows.append((float(np.sqrt(np.mean(spectral_rmse(y[~chosen], filled[~chosen]) ** 2))),
                             float(np.sqrt(np.mean(spectral_rmse(y[~chosen], base) ** 2))), float(100 * dev.max()),
                             float(100 * np.median(dev))))
            rows = np.array(rows)
            out[method][f] = {"rmse_not_computed": float(rows[:, 0].mean()), "rmse_spread": float(rows[:, 0].std()),
                              "baseline_rmse": float(rows[:, 1].mean()),
                              "averaged_max_dev_pct": float(rows[:, 2].mean()),
                              "averaged_median_dev_pct": float(rows[:, 3].mean())}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=ROOT / "data/siox-medium-v2")
    parser.add_argument("--descriptors", nargs="+", default=["soap", "acsf", "snap", "qsnap"])
    parser.add_argument("--selection-descriptor", default=None, help="descriptor of the learning curves (default: the best by cell)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/forward_models.json")
    args = parser.parse_args(argv)

    with xr.open_dataset(args.release / layout.RELEASE_FILES["sites"]) as ds:
        sites = ds.load()
    y = sites["mu_norm"].values
    energy = sites["energy"].values
    classes = sites["n_o_neighbours"].values
    cells = sites["cell"].values.astype(str)
    x_comp = sites["x"].values
    rows, rate = site_descriptors(args.release, sites, args.descriptors)
    result = {"release": str(args.release.relative_to(ROOT) if args.release.is_relative_to(ROOT) else args.release),
              "n_sites": len(y), "sites_per_second": rate, "by_cell": {}, "leave_one_composition_out": {}}
    print(f"{len(y)} sites of {len(set(cells))} cells; descriptor sites/s: " + ", ".join(f"{k} {v:.0f}" for k, v in rate.items()))
    for kind in args.descriptors:
        for compression in ("raw", "pca", "nmf"):
            r = evaluate(rows[kind], y, classes, energy, by_cell_folds(cells), compression)
            result["by_cell"][f"{kind}/{compression}"] = r
            print(f"by cell  {kind:6s} {compression:4s} RMSE {r['rmse']:.4f}  class-mean {r['baseline_rmse']:.4f}  ratio {r['ratio_to_baseline']:.3f}  "
                  f"peak |dE| median {r['peak_position_error_eV']['median_abs']:.2f} eV")
    best = min(result["by_cell"], key=lambda k: result["by_cell"][k]["rmse"])
    kind, compression = best.split("/")
    r = evaluate(rows[kind], y, classes, energy, by_composition_folds(x_comp), compression)
    result["leave_one_composition_out"][best] = r
    print(f"leave one composition out {best}: RMSE {r['rmse']:.4f}, class-mean {r['baseline_rmse']:.4f}, ratio {r['ratio_to_baseline']:.3f}")
    sel_kind = args.selection_descriptor or kind
    features = Compressor(0.999).fit(rows[sel_kind]).transform(rows[sel_kind])  # label-free: every site's descriptors
    orders = {"uncertainty_reduction": [uncertainty_reduction(features)], "farthest_point": [farthest_point(features)],
              "random": [random_order(len(y), seed) for seed in range(5)]}
    result["selection"] = {"descriptor": sel_kind, "compression": "raw",
                           "curves": learning_curves(features, y, classes, cells, orders)}
    for method, curve in result["selection"]["curves"].items():
        print(f"{method:22s} " + "  ".join(f"{int(100 * f)}%: {v['rmse_not_computed']:.4f} (avg max {v['averaged_max_dev_pct']:.1f} %)" for f, v in curve.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
