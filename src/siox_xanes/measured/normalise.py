"""One normalisation for computed and measured spectra: Larch's ``pre_edge`` with every parameter explicit.

Larch's documented defaults for ``pre_edge`` differ from what its code does
(pre-edge and post-edge ranges are derived from the data's own range and
rounded), so nothing is left to them: E0 is fixed on the workflow's energy
scale, the pre- and post-edge ranges are given relative to it, and the
polynomial orders are set. Computed spectra have no pre-edge region
(``iscalc=True``: Larch subtracts the first point instead of a fitted line);
measured ones get the linear pre-edge fit. Both end with edge step 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Normalisation:
    """``normalisation`` block of the config; energies of the ranges relative to ``e0_eV``."""

    e0_eV: float = 1840.0
    pre_eV: tuple[float, float] = (-30.0, -10.0)
    norm_eV: tuple[float, float] = (15.0, 38.0)
    nnorm: int = 0
    npre: int = 1
    nvict: int = 0

    @classmethod
    def from_config(cls, block: dict) -> "Normalisation":
        return cls(e0_eV=float(block["e0_eV"]), pre_eV=tuple(map(float, block["pre_eV"])),
                   norm_eV=tuple(map(float, block["norm_eV"])), nnorm=int(block["nnorm"]),
                   npre=int(block["npre"]), nvict=int(block["nvict"]))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["pre_eV"], d["norm_eV"] = list(self.pre_eV), list(self.norm_eV)
        return d

    def jittered(self, rng: np.random.Generator, range_eV: float) -> "Normalisation":
        """The same recipe with the post-edge range's start moved by up to ``range_eV`` either way and
        its end pulled in by up to ``range_eV`` (augmentation: users pick other ranges)."""
        lo, hi = self.norm_eV
        return Normalisation(self.e0_eV, self.pre_eV, (lo + rng.uniform(-range_eV, range_eV), hi - rng.uniform(0, range_eV)),
                             self.nnorm, self.npre, self.nvict)


def normalise(energy: np.ndarray, mu: np.ndarray, settings: Normalisation, computed: bool) -> tuple[np.ndarray, float]:
    """Normalised mu(E) (edge step 1) and the edge step in the input's units."""
    from .larch_import import load

    load()
    from larch import Group
    from larch.xafs import pre_edge

    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    if not (energy[0] < settings.e0_eV + settings.norm_eV[0] and energy[-1] > settings.e0_eV + settings.norm_eV[0]):
        raise ValueError(f"spectrum {energy[0]:.1f}-{energy[-1]:.1f} eV does not reach the post-edge range "
                         f"from E0 + {settings.norm_eV[0]} eV (E0 = {settings.e0_eV} eV)")
    group = Group(energy=energy, mu=mu)
    pre_edge(group, e0=settings.e0_eV, step=None, pre1=settings.pre_eV[0], pre2=settings.pre_eV[1],
             norm1=settings.norm_eV[0], norm2=settings.norm_eV[1], nnorm=settings.nnorm, npre=settings.npre,
             nvict=settings.nvict, make_flat=False, iscalc=computed)
    step = float(group.edge_step)
    if not np.isfinite(step) or step <= 1e-9 * max(1.0, float(np.abs(mu).max())):
        raise ValueError(f"edge step {step:g}: no edge between the pre-edge and post-edge ranges")
    return np.asarray(group.norm, float), step


def normalise_many(energy: np.ndarray, mu: np.ndarray, settings: Normalisation, computed: bool) -> np.ndarray:
    """Rows of ``mu`` (spectra on one grid) normalised one by one."""
    mu = np.atleast_2d(np.asarray(mu, float))
    return np.stack([normalise(energy, row, settings, computed)[0] for row in mu])
