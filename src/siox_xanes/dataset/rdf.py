"""Per-site radial distribution functions around absorbing Si atoms.

For an absorber, every Si and O atom within ``r_max`` (periodic images
included) is binned by distance, and

    g(R) = N(R) / (4 pi R^2 dR rho)

with rho the total atomic number density of the cell, R the bin centre and
dR the bin width. The Si- and O-resolved parts use the same rho, so they add
up to the total. For a homogeneous cell g tends to 1 at large R.
"""

from __future__ import annotations

import numpy as np


def rdf_bins(r_max: float, n_bins: int) -> tuple[np.ndarray, float]:
    """Bin centres (A) and width of ``n_bins`` equal bins on (0, r_max]."""
    dr = r_max / n_bins
    return (np.arange(n_bins) + 0.5) * dr, dr


def site_rdfs(atoms, sites: list[int], r_max: float = 5.0, n_bins: int = 256) -> dict[str, np.ndarray]:
    """g_total, g_Si, g_O of shape (len(sites), n_bins) and the bin centres ``r``."""
    from ase.neighborlist import neighbor_list

    centres, dr = rdf_bins(r_max, n_bins)
    rho = len(atoms) / atoms.cell.volume
    norm = 4.0 * np.pi * centres**2 * dr * rho
    i, j, d = neighbor_list("ijd", atoms, float(r_max))
    symbols = np.asarray(atoms.get_chemical_symbols())
    out = {"r": centres, "total": [], "Si": [], "O": []}
    for s in sites:
        mine = i == s
        dist, other = d[mine], symbols[j[mine]]
        for key in ("Si", "O"):
            counts, _ = np.histogram(dist[other == key], bins=n_bins, range=(0.0, r_max))
            out[key].append(counts / norm)
        out["total"].append(out["Si"][-1] + out["O"][-1])
    return {k: np.asarray(v) for k, v in out.items()}


def neighbour_summary(atoms, sites: list[int], cutoffs: dict[str, float]) -> dict[str, np.ndarray]:
    """First-shell O and Si counts (bond cutoffs of the validation stage) and nearest distances.

    The O count is the formal valence class: Si0 ... Si4+ (a count above 4 is kept as is).
    """
    from ase.neighborlist import neighbor_list

    reach = max(cutoffs["Si-O"], cutoffs["Si-Si"], 3.5)
    i, j, d = neighbor_list("ijd", atoms, reach)
    symbols = np.asarray(atoms.get_chemical_symbols())
    n_o, n_si, d_o, d_si = [], [], [], []
    for s in sites:
        mine = i == s
        dist, other = d[mine], symbols[j[mine]]
        n_o.append(int(((other == "O") & (dist < cutoffs["Si-O"])).sum()))
        n_si.append(int(((other == "Si") & (dist < cutoffs["Si-Si"])).sum()))
        d_o.append(float(dist[other == "O"].min()) if (other == "O").any() else np.nan)
        d_si.append(float(dist[other == "Si"].min()) if (other == "Si").any() else np.nan)
    return {
        "n_o_neighbours": np.array(n_o),
        "n_si_neighbours": np.array(n_si),
        "nearest_o_distance": np.array(d_o),
        "nearest_si_distance": np.array(d_si),
    }
