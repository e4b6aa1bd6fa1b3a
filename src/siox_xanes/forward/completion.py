"""Every Si site of every cell: the computed spectra, and the forward model's for the rest.

With an active site selection (``xanes.site_selection``) DFT runs for some sites only; the
site cube holds those (the inverse networks train on them alone). ``complete_cells`` adds
the forward model's prediction for every other Si, so that each cell's averaged spectrum
covers all its Si again, and says per site which it is:

- per site: ``mu_norm`` computed or predicted (``spectrum_source``), the predicted ones with
  their band (the bundle's per-energy site band, 0 for computed sites) and the domain flags;
- per cell: the average over every Si, the number of sites computed, and a band: the
  predicted sites' share of the average times the band of a fully predicted cell average
  (errors within a cell are correlated, so a share, not a 1/sqrt(N) shrinkage: a stated
  assumption, the same as for ``siox-xanes spectrum``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..layout import parse_glass_cell
from .spectrum import ForwardBundle, ForwardModelError, predict_structure

# spectrum_source values
COMPUTED, PREDICTED = 0, 1


def complete_cells(bundle: ForwardBundle, structures: dict, computed: xr.Dataset) -> xr.Dataset:
    """The completed cube of the cells in ``structures`` (cell -> Atoms, in the cube's order).

    ``computed``: the site cube (``cell``, ``atom_index`` and ``mu_norm`` on the bundle's
    energy grid). Dimensions ``site`` (every Si of every cell) and ``system`` (the cells)."""
    energy = computed["energy"].values
    if len(energy) != len(bundle.energy) or not np.allclose(energy, bundle.energy):
        raise ForwardModelError(f"the forward model's energy grid ({len(bundle.energy)} points, {bundle.energy[0]:g}-"
                                f"{bundle.energy[-1]:g} eV) is not the site cube's ({len(energy)} points, "
                                f"{energy[0]:g}-{energy[-1]:g} eV)")
    cube_cells = computed["cell"].values.astype(str)
    unknown = sorted(set(cube_cells) - set(structures))
    if unknown:
        raise ForwardModelError(f"the site cube has sites of cells without a structure: {unknown[:5]}")
    sites, cells = [], []
    for cell, atoms in structures.items():
        pred = predict_structure(bundle, atoms, source=cell)
        mine = np.flatnonzero(cube_cells == cell)
        row_of = {int(a): k for k, a in zip(mine, computed["atom_index"].values[mine])}
        foreign = sorted(set(row_of) - set(map(int, pred["atom_index"])))
        if foreign:
            raise ForwardModelError(f"site cube: atoms {foreign[:5]} of cell {cell} are not Si in its structure")
        is_computed = np.array([int(a) in row_of for a in pred["atom_index"]])
        mu = pred["site_spectra"].copy()
        for k, a in enumerate(pred["atom_index"]):
            if is_computed[k]:
                mu[k] = computed["mu_norm"].values[row_of[int(a)]]
        band = np.where(is_computed[:, None], 0.0, bundle.site_band[None, :])
        predicted_share = 1.0 - is_computed.mean()
        average = mu.mean(axis=0)
        half = predicted_share * bundle.average_band
        x = float(parse_glass_cell(cell)[0])
        sites.append({"cell": np.full(len(mu), cell), "x": np.full(len(mu), x), "atom_index": pred["atom_index"],
                      "mu_norm": mu, "band": band, "source": np.where(is_computed, COMPUTED, PREDICTED),
                      "n_o": pred["first_shell"][:, 0], "n_si": pred["first_shell"][:, 1],
                      "distance": pred["distance"], "unseen": pred["unseen_shell"] & ~is_computed,
                      "far": pred["far_from_training"] & ~is_computed})
        flagged = (sites[-1]["unseen"] | sites[-1]["far"])
        cells.append({"cell": cell, "x": x, "mu_norm": average, "low": average - half, "high": average + half,
                      "n_si": len(mu), "n_computed": int(is_computed.sum()),
                      "n_flagged": int(flagged.sum())})
    return _dataset(sites, cells, energy, bundle)


def predict_cells(bundle: ForwardBundle, structures: dict) -> xr.Dataset:
    """The completed cube of cells without any DFT: every Si predicted (``siox-xanes spectrum``'s
    answer for each cell, in one file)."""
    n = len(bundle.energy)
    none = xr.Dataset({"mu_norm": (("site", "energy"), np.empty((0, n)))},
                      coords={"energy": bundle.energy, "cell": ("site", np.array([], dtype=str)),
                              "atom_index": ("site", np.array([], dtype=int))})
    return complete_cells(bundle, structures, none)


def _dataset(sites: list[dict], cells: list[dict], energy: np.ndarray, bundle: ForwardBundle) -> xr.Dataset:
    def stack(key):
        return np.concatenate([s[key] for s in sites])

    confidence = f"{int(round(100 * bundle.confidence))} %"
    source_attrs = {"long_name": "where the site's spectrum comes from", "flag_values": np.array([COMPUTED, PREDICTED], np.int8),
                    "flag_meanings": "computed predicted"}
    ds = xr.Dataset(
        {
            "mu_norm": (("site", "energy"), np.vstack([s["mu_norm"] for s in sites]),
                        {"long_name": "Si K-edge XANES normalised to edge step 1: DFT where computed, else the forward model's",
                         "units": "1"}),
            "mu_norm_band": (("site", "energy"), np.vstack([s["band"] for s in sites]),
                             {"long_name": f"half-width of the predicted spectrum's {confidence} band (by-cell errors); 0 where computed",
                              "units": "1"}),
            "spectrum_source": ("site", stack("source").astype(np.int8), source_attrs),
            "n_o_neighbours": ("site", stack("n_o"), {"long_name": "first-shell O neighbours", "units": "1"}),
            "n_si_neighbours": ("site", stack("n_si"), {"long_name": "first-shell Si neighbours", "units": "1"}),
            "descriptor_distance": ("site", stack("distance"),
                                    {"long_name": "squared Mahalanobis distance of the site's descriptor from the training sites, per component",
                                     "units": "1"}),
            "first_shell_unseen": ("site", stack("unseen").astype(np.int8),
                                   {"long_name": "1: a predicted site whose first shell no training site had", "units": "1"}),
            "far_from_training": ("site", stack("far").astype(np.int8),
                                  {"long_name": "1: a predicted site farther from the training sites than any held-out site",
                                   "units": "1"}),
            "system_mu_norm": (("system", "energy"), np.vstack([c["mu_norm"] for c in cells]),
                               {"long_name": "mean normalised Si K-edge XANES over every Si of the cell (computed and predicted)",
                                "units": "1"}),
            "system_mu_norm_low": (("system", "energy"), np.vstack([c["low"] for c in cells]),
                                   {"long_name": f"lower edge of the average's {confidence} band: predicted share x the band of a "
                                                 "fully predicted cell average", "units": "1"}),
            "system_mu_norm_high": (("system", "energy"), np.vstack([c["high"] for c in cells]),
                                    {"long_name": f"upper edge of the average's {confidence} band", "units": "1"}),
            "n_si_in_cell": ("system", np.array([c["n_si"] for c in cells]), {"long_name": "Si atoms in the cell", "units": "1"}),
            "n_sites_computed": ("system", np.array([c["n_computed"] for c in cells]),
                                 {"long_name": "Si sites of the cell whose spectrum DFT computed", "units": "1"}),
            "n_sites_flagged": ("system", np.array([c["n_flagged"] for c in cells]),
                                {"long_name": "predicted sites outside the forward model's training domain", "units": "1"}),
        },
        coords={
            "energy": ("energy", energy, {"units": "eV", "long_name": "photon energy", "standard_name": "photon_energy"}),
            "cell": ("site", stack("cell").astype(str), {"long_name": "cell id x{x}_seed{seed}"}),
            "x": ("site", stack("x"), {"long_name": "composition x of SiOx", "units": "1"}),
            "atom_index": ("site", stack("atom_index"), {"long_name": "index of the Si in its cell"}),
            "system_cell": ("system", np.array([c["cell"] for c in cells]).astype(str)),
            "system_x": ("system", np.array([c["x"] for c in cells]), {"long_name": "composition x of SiOx", "units": "1"}),
        },
        attrs={"title": "SiOx Si K-edge XANES of every Si site: computed (DFT) or predicted (forward model)",
               "forward_model_confidence": bundle.confidence,
               "forward_model_descriptor": bundle.settings.kind,
               "forward_model_by_cell_rmse": bundle.metrics.get("by_cell_rmse", np.nan),
               "forward_model_training_sites": bundle.metrics.get("n_sites", -1)},
    )
    return ds
