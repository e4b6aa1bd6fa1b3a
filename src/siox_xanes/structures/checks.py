"""Structure validation: density, bond counts, Si coordination classes.

Bonds are pairs closer than a per-pair cutoff (A). The defaults in config
(Si-O 2.2, Si-Si 2.75, O-O 1.8) sit in the first minima of the a-SiO2 and
a-Si pair distributions; an O-O pair under 1.8 A is a peroxy-like bond that a
good SiOx network should not contain (the O-O edge of an SiO4 tetrahedron is
2.6 A).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .lattice import density_g_cm3

PAIRS = ("Si-Si", "Si-O", "O-O")


def bond_list(atoms, cutoffs: dict[str, float]):
    """Unique bonds as (i, j, distance, pair label) arrays, periodic images included."""
    from ase.neighborlist import neighbor_list

    unknown = set(cutoffs) - set(PAIRS)
    if unknown:
        raise ValueError(f"validation.cutoffs: unknown pair(s) {sorted(unknown)}, expected {list(PAIRS)}")
    ase_cut = {}
    for pair, rc in cutoffs.items():
        a, b = pair.split("-")
        ase_cut[(a, b)] = ase_cut[(b, a)] = float(rc)
    present = set(atoms.get_chemical_symbols())
    ase_cut = {k: v for k, v in ase_cut.items() if set(k) <= present}
    if not ase_cut:
        return np.empty(0, int), np.empty(0, int), np.empty(0), np.empty(0, dtype=object)
    i, j, d = neighbor_list("ijd", atoms, ase_cut)
    keep = i < j  # each bond once
    i, j, d = i[keep], j[keep], d[keep]
    sym = np.asarray(atoms.get_chemical_symbols())
    # Label with Si first: "Si-O", never "O-Si".
    order = {"Si": 0, "O": 1}
    labels = np.array(
        ["-".join(sorted((sym[a], sym[b]), key=order.get)) for a, b in zip(i, j)], dtype=object
    )
    return i, j, d, labels


def si_coordination(atoms, cutoffs: dict[str, float]) -> np.ndarray:
    """Per Si atom (in atom order): [number of Si neighbours, number of O neighbours]."""
    sym = np.asarray(atoms.get_chemical_symbols())
    si_index = np.flatnonzero(sym == "Si")
    pos = {a: k for k, a in enumerate(si_index)}
    counts = np.zeros((len(si_index), 2), dtype=int)
    i, j, _, _ = bond_list(atoms, cutoffs)
    for a, b in zip(i, j):
        for u, v in ((a, b), (b, a)):
            if sym[u] == "Si":
                counts[pos[u], 0 if sym[v] == "Si" else 1] += 1
    return counts


def coordination_label(n_si: int, n_o: int) -> str:
    """Class name of one Si: its neighbour counts, e.g. 'Si2O2' = two Si and two O neighbours."""
    return f"Si{n_si}O{n_o}"


def validate_cell(atoms, cutoffs: dict[str, float], density_window: tuple[float, float] | None = None) -> dict:
    """All checks of one quenched cell, as a flat JSON-ready dict.

    ``flags`` lists what is physically wrong (O-O bonds, density outside the
    expected window); an empty list means the cell passed.
    """
    i, j, d, labels = bond_list(atoms, cutoffs)
    coord = si_coordination(atoms, cutoffs)
    classes = Counter(coordination_label(a, b) for a, b in coord)
    n_si = len(coord)
    total = coord.sum(axis=1)
    out = {
        "n_atoms": len(atoms),
        "n_si": int(n_si),
        "n_o": int(len(atoms) - n_si),
        "volume_A3": float(atoms.cell.volume),
        "density_g_cm3": density_g_cm3(atoms),
        "cutoffs_A": {k: float(v) for k, v in cutoffs.items()},
        "bond_counts": {p: int((labels == p).sum()) for p in PAIRS},
        "mean_bond_length_A": {
            p: (float(d[labels == p].mean()) if (labels == p).any() else None) for p in PAIRS
        },
        "si_coordination_classes": dict(sorted(classes.items())),
        "fraction_si_fourfold": float((total == 4).mean()) if n_si else 0.0,
        "mean_si_coordination": float(total.mean()) if n_si else 0.0,
        "mean_o_per_si": float(coord[:, 1].mean()) if n_si else 0.0,
    }
    flags = []
    if out["bond_counts"]["O-O"] > 0:
        flags.append(f"{out['bond_counts']['O-O']} O-O bonds shorter than {cutoffs.get('O-O')} A")
    if density_window is not None:
        lo, hi = density_window
        if not lo <= out["density_g_cm3"] <= hi:
            flags.append(f"density {out['density_g_cm3']:.3f} g/cm3 outside expected [{lo}, {hi}]")
    out["flags"] = flags
    return out
