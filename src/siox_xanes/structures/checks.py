"""Structure validation: density, bond counts, Si coordination classes.

Bonds are pairs closer than a per-pair cutoff (A). The defaults in config
(Si-O 2.2, Si-Si 2.75, O-O 1.8) sit in the first minima of the a-SiO2 and
a-Si pair distributions; an O-O pair under 1.8 A is a peroxy-like bond that a
good SiOx network should not contain (the O-O edge of an SiO4 tetrahedron is
2.6 A).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Soundness:
    """What a sound SiOx glass satisfies (``validation.bounds`` of the config): a density
    in the window, most Si with four neighbours (Si + O), O bridging about two Si, and no
    O-O bond. Any bound may be None (not checked)."""

    density_g_cm3: tuple[float, float] | None = None
    min_fraction_si_fourfold: float | None = None
    max_mean_si_per_o: float | None = None
    max_o_o_bonds: int | None = 0

    @classmethod
    def from_mapping(cls, bounds: dict) -> "Soundness":
        """From a ``validation.bounds`` mapping (the density window as a list)."""
        bounds = dict(bounds)
        if bounds.get("density_g_cm3") is not None:
            bounds["density_g_cm3"] = tuple(bounds["density_g_cm3"])
        return cls(**bounds)


def validate_cell(atoms, cutoffs: dict[str, float], bounds: Soundness = Soundness()) -> dict:
    """All checks of one quenched cell, as a flat JSON-ready dict.

    ``flags`` lists every bound of ``bounds`` the cell misses; an empty list means
    the cell passed.
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
        # Si neighbours per O: 2 when every O bridges two Si, as in silica and SiOx
        "mean_si_per_o": float(coord[:, 1].sum() / (len(atoms) - n_si)) if len(atoms) > n_si else None,
    }
    out["flags"] = soundness_flags(out, bounds, cutoffs)
    return out


def soundness_flags(report: dict, bounds: Soundness, cutoffs: dict[str, float]) -> list[str]:
    """What of ``bounds`` a validation report misses, in words."""
    flags = []
    n_oo = report["bond_counts"]["O-O"]
    if bounds.max_o_o_bonds is not None and n_oo > bounds.max_o_o_bonds:
        flags.append(f"{n_oo} O-O bonds shorter than {cutoffs.get('O-O')} A")
    if bounds.density_g_cm3 is not None:
        lo, hi = bounds.density_g_cm3
        if not lo <= report["density_g_cm3"] <= hi:
            flags.append(f"density {report['density_g_cm3']:.3f} g/cm3 outside [{lo}, {hi}]")
    if bounds.min_fraction_si_fourfold is not None and report["fraction_si_fourfold"] < bounds.min_fraction_si_fourfold:
        flags.append(f"{100 * report['fraction_si_fourfold']:.0f} % of Si fourfold, below {100 * bounds.min_fraction_si_fourfold:.0f} %")
    per_o = report["mean_si_per_o"]
    if bounds.max_mean_si_per_o is not None and per_o is not None and per_o > bounds.max_mean_si_per_o:
        flags.append(f"{per_o:.2f} Si per O, above {bounds.max_mean_si_per_o}")
    return flags
