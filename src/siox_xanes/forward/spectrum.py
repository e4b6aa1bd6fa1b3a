"""Spectra of structures a user brings: a trained forward model (descriptors -> site spectrum)
with the bands and domain checks that say how far to trust it.

``train_forward`` fits the bundle on the sites of a release (their structures and ``mu_norm``):
descriptors standardised and PCA-compressed, ridge regression (``SpectrumRidge``). Its errors
are measured by cell (grouped K-fold, never a random site split), and they make the bands:

- a site's band: per energy, the ``confidence`` quantile of the held-out sites' |error|;
- an averaged spectrum's band: per energy, the same quantile of the held-out *cells'* averaged
  spectra's |error| (site errors within a cell are correlated, so this does not shrink as
  1/sqrt(N) with the number of sites; it is the band of a cell of the training cells' size and
  is used unchanged for larger cells, a stated assumption).

Domain: a site is flagged when its first shell (O and Si counts within the bond cut-offs) was
never seen in training, or its descriptor's distance from the training sites (squared
Mahalanobis distance in the compressed space, per component) exceeds the largest that held-out
cells' sites reached. A structure whose flagged fraction exceeds ``max_flagged_fraction`` gets
the flag ``outside_training_domain`` on its averaged spectrum. Other elements are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .descriptors import Compressor, DescriptorSettings, describe, si_indices
from .models import SpectrumRidge, class_mean_baseline, spectral_rmse

FORMAT_VERSION = 1


class ForwardModelError(ValueError):
    pass


@dataclass
class ForwardBundle:
    settings: DescriptorSettings
    compressor: Compressor
    feature_variance: np.ndarray     # of each compressed component over the training sites
    model: SpectrumRidge
    energy: np.ndarray
    cutoffs: dict
    site_band: np.ndarray            # per energy, half-width of the site interval
    average_band: np.ndarray         # per energy, half-width of a cell-averaged spectrum's interval
    distance_threshold: float        # per-component squared Mahalanobis distance, largest held out
    shells_seen: list                # [n_O, n_Si] first shells of the training sites
    confidence: float
    metrics: dict                    # by-cell errors, the class-mean baseline, sizes
    provenance: dict = field(default_factory=dict)
    max_flagged_fraction: float = 0.05
    format_version: int = FORMAT_VERSION

    def features(self, rows: np.ndarray) -> np.ndarray:
        return self.compressor.transform(rows)

    def distance(self, features: np.ndarray) -> np.ndarray:
        return _distance(features, self.feature_variance)


def _distance(features: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance per component (PCA scores are uncorrelated over the fitted
    rows, so the per-component variances make the metric)."""
    return np.mean(np.asarray(features) ** 2 / variance, axis=1)


def _fit(rows, spectra, compression: str, seed: int):
    compressor = Compressor().fit(rows)
    z = compressor.transform(rows)
    variance = np.maximum(z.var(axis=0), 1e-12)
    return compressor, variance, SpectrumRidge(compression=compression, seed=seed).fit(z, spectra)


def cell_folds(cells: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    """Held-out site indices of each fold: whole cells, shuffled by ``seed``, dealt round-robin."""
    unique = np.unique(cells)
    if len(unique) < n_folds:
        raise ForwardModelError(f"{len(unique)} cells: a by-cell validation of {n_folds} folds needs at least as many")
    order = np.random.default_rng(seed).permutation(unique)
    return [np.flatnonzero(np.isin(cells, order[k::n_folds])) for k in range(n_folds)]


def train_forward(rows: np.ndarray, spectra: np.ndarray, cells: np.ndarray, shells: np.ndarray, energy,
                  settings: DescriptorSettings, cutoffs: dict, compression: str = "raw", n_folds: int = 5,
                  confidence: float = 0.9, seed: int = 0, provenance: dict | None = None) -> ForwardBundle:
    """The bundle fitted on every site (``rows``: their raw descriptors; ``shells``: [n_O, n_Si]
    per site), with bands and thresholds from a by-cell K-fold."""
    rows, spectra, cells = np.asarray(rows, float), np.asarray(spectra, float), np.asarray(cells)
    shells = np.asarray(shells, int)
    site_errors, cell_errors, distances = [], [], []
    predicted, baseline = np.zeros_like(spectra), np.zeros_like(spectra)
    for test in cell_folds(cells, n_folds, seed):
        train = np.setdiff1d(np.arange(len(rows)), test)
        compressor, variance, model = _fit(rows[train], spectra[train], compression, seed)
        z = compressor.transform(rows[test])
        predicted[test] = model.predict(z)
        baseline[test] = class_mean_baseline(shells[train, 0], spectra[train], shells[test, 0])
        site_errors.append(predicted[test] - spectra[test])
        distances.append(_distance(z, variance))
        for cell in np.unique(cells[test]):
            mine = test[cells[test] == cell]
            cell_errors.append(predicted[mine].mean(axis=0) - spectra[mine].mean(axis=0))
    site_errors, cell_errors = np.vstack(site_errors), np.vstack(cell_errors)
    peak = float(np.abs(spectra).max())
    metrics = {
        "n_sites": int(len(rows)), "n_cells": int(len(np.unique(cells))), "folds": n_folds,
        "by_cell_rmse": float(spectral_rmse(spectra, predicted).mean()),
        "class_mean_baseline_rmse": float(spectral_rmse(spectra, baseline).mean()),
        "cell_average_max_error_over_peak": float(np.abs(cell_errors).max(axis=1).max() / peak),
        "cell_average_median_max_error_over_peak": float(np.median(np.abs(cell_errors).max(axis=1)) / peak),
    }
    metrics["ratio_to_baseline"] = metrics["by_cell_rmse"] / metrics["class_mean_baseline_rmse"]
    compressor, variance, model = _fit(rows, spectra, compression, seed)
    return ForwardBundle(
        settings=settings, compressor=compressor, feature_variance=variance, model=model, energy=np.asarray(energy, float), cutoffs=dict(cutoffs),
        site_band=np.quantile(np.abs(site_errors), confidence, axis=0),
        average_band=np.quantile(np.abs(cell_errors), confidence, axis=0),
        distance_threshold=float(np.concatenate(distances).max()),
        shells_seen=sorted({(int(o), int(s)) for o, s in shells}), confidence=confidence, metrics=metrics,
        provenance=dict(provenance or {}),
    )


def first_shells(atoms, sites, cutoffs) -> np.ndarray:
    """[n_O, n_Si] of each site within the bond cut-offs."""
    from ..dataset.rdf import neighbour_summary

    nb = neighbour_summary(atoms, list(sites), cutoffs)
    return np.column_stack([nb["n_o_neighbours"], nb["n_si_neighbours"]])


def predict_structure(bundle: ForwardBundle, atoms, source: str = "structure") -> dict:
    """Every Si site's predicted spectrum with its band and flags, and the averaged spectrum."""
    sites = si_indices(atoms)
    rows = describe(atoms, bundle.settings, sites=sites, source=source)
    z = bundle.features(rows)
    spectra = bundle.model.predict(z)
    distance = bundle.distance(z)
    shells = first_shells(atoms, sites, bundle.cutoffs)
    seen = {tuple(s) for s in bundle.shells_seen}
    unseen_shell = np.array([tuple(s) not in seen for s in shells])
    far = distance > bundle.distance_threshold
    flagged = unseen_shell | far
    flags = []
    if flagged.mean() > bundle.max_flagged_fraction:
        flags.append("outside_training_domain")
    average = spectra.mean(axis=0)
    return {
        "source": source, "n_atoms": len(atoms), "n_si": int(len(sites)), "atom_index": sites,
        "site_spectra": spectra, "site_band": bundle.site_band, "distance": distance,
        "first_shell": shells, "unseen_shell": unseen_shell, "far_from_training": far,
        "average": average, "average_low": average - bundle.average_band, "average_high": average + bundle.average_band,
        "flagged_fraction": float(flagged.mean()), "flags": flags,
        "unseen_shells": sorted({tuple(map(int, s)) for s, u in zip(shells, unseen_shell) if u}),
    }


def save_bundle(bundle: ForwardBundle, path) -> None:
    import joblib

    from ..io import atomic_path

    with atomic_path(path) as tmp:
        joblib.dump(bundle, tmp)


def load_bundle(path) -> ForwardBundle:
    import joblib

    try:
        bundle = joblib.load(path)
    except FileNotFoundError:
        raise ForwardModelError(f"{path}: no forward model there (rule forward_model writes one; the shipped one is "
                                f"data/models/forward.joblib)") from None
    except Exception as exc:  # a file joblib cannot read: name it
        raise ForwardModelError(f"{path}: not a forward-model bundle ({type(exc).__name__}: {exc})") from None
    if not isinstance(bundle, ForwardBundle) or getattr(bundle, "format_version", None) != FORMAT_VERSION:
        raise ForwardModelError(f"{path}: not a forward-model bundle of format {FORMAT_VERSION}")
    return bundle


def read_user_structure(path):
    """A structure file of any format ASE reads (extxyz, CIF, POSCAR, ...; LAMMPS data with Si
    and O masses); a clear error naming the file otherwise."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ForwardModelError(f"{path}: no such file" + (" (a folder; give the structure files in it)" if path.is_dir() else ""))
    if path.suffix in (".data", ".lmp", ".lammps"):
        from ..io import read_lammps_data

        try:
            return read_lammps_data(path)
        except Exception as exc:
            raise ForwardModelError(f"{path}: not a LAMMPS data file of Si and O ({type(exc).__name__}: {exc})") from None
    from ase.io import read

    try:
        atoms = _read_p1_cif(path) if path.suffix.lower() == ".cif" else None
        atoms = read(path) if atoms is None else atoms
    except Exception as exc:  # ASE raises many kinds for a file it cannot parse
        raise ForwardModelError(f"{path}: ASE cannot read a structure from it ({type(exc).__name__}: {exc})") from None
    if len(atoms) == 0:
        raise ForwardModelError(f"{path}: no atoms")
    return atoms


def _read_p1_cif(path):
    """A CIF in space group P1 (how large models are written) read as listed: ASE's reader
    applies the symmetry and checks every pair for duplicates, measured 454 s for 6912 atoms
    against 1 s this way. None for any other space group (ASE's reader expands it)."""
    from ase.io.cif import parse_cif

    block = next((b for b in parse_cif(str(path)) if b.has_structure()), None)
    if block is None or len(block.get_spacegroup(True).get_symop()) != 1:
        return None
    atoms = block.get_unsymmetrized_structure()
    atoms.pbc = True
    return atoms


def write_spectrum(result: dict, bundle: ForwardBundle, stem, fmt: str) -> list[str]:
    """``stem``_averaged.csv and ``stem``_sites.csv (csv), or ``stem``.nc (netcdf): the averaged
    spectrum with its band, every site's spectrum (NetCDF) or first shell and flags (CSV)."""
    from pathlib import Path

    import pandas as pd

    from ..io import atomic_path

    stem = Path(stem)
    header = (f"# predicted Si K-edge spectrum of {result['source']} ({result['n_si']} Si sites), normalised "
              f"absorption (edge step 1) on the workflow's energy scale (eV, alpha-quartz main peak at its "
              f"experimental energy); {int(100 * bundle.confidence)} % band from the by-cell errors of cells' "
              f"averaged spectra; flags: {', '.join(result['flags']) or 'none'}\n")
    sites = pd.DataFrame({"atom_index": result["atom_index"], "n_O_first_shell": result["first_shell"][:, 0],
                          "n_Si_first_shell": result["first_shell"][:, 1], "descriptor_distance": result["distance"],
                          "first_shell_unseen": result["unseen_shell"], "far_from_training": result["far_from_training"]})
    if fmt == "csv":
        averaged = pd.DataFrame({"energy_eV": bundle.energy, "mu_norm": result["average"],
                                 "mu_norm_low": result["average_low"], "mu_norm_high": result["average_high"]})
        written = []
        for name, table in (("averaged", averaged), ("sites", sites)):
            path = stem.parent / f"{stem.name}_{name}.csv"
            with atomic_path(path) as tmp:
                tmp.write_text(header + table.to_csv(index=False))
            written.append(str(path))
        return written
    import xarray as xr

    ds = xr.Dataset(
        {"mu_norm": ("energy", result["average"]), "mu_norm_low": ("energy", result["average_low"]),
         "mu_norm_high": ("energy", result["average_high"]),
         "site_mu_norm": (("site", "energy"), result["site_spectra"]), "site_band": ("energy", bundle.site_band),
         **{k: ("site", v.to_numpy()) for k, v in sites.items() if k != "atom_index"}},
        coords={"energy": ("energy", bundle.energy, {"units": "eV"}), "atom_index": ("site", result["atom_index"])},
        attrs={"title": header[2:].strip(), "flags": ",".join(result["flags"]), "confidence": bundle.confidence,
               "flagged_fraction": result["flagged_fraction"]},
    )
    for k in ("first_shell_unseen", "far_from_training"):
        ds[k] = ds[k].astype("int8")
    path = stem.parent / f"{stem.name}.nc"
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp)
    return [str(path)]
