"""Energy scale of a measurement: the shift that puts it on the workflow's scale.

The workflow's scale is experimental: the alpha-quartz main peak sits at the
configured energy after the global shift. A user either gives the shift of
their beamline or measures a reference (alpha-quartz or crystalline Si) with
the sample; its normalised spectrum is matched to the workflow's computed
reference on a stated absolute window. The fit is Larch's ``energy_align``,
preceded by a coarse scan (Larch's least squares starts at zero shift and
finds the nearest local minimum only).

Larch's window is ``[e0 - emin, e0 + emax]`` around the reference's e0 (its
docstring reads as if emin were subtracted from e0 with the other sign), so
an absolute window [lo, hi] is passed as ``emin = e0 - lo``, ``emax = hi - e0``.
"""

from __future__ import annotations

import numpy as np

COARSE_RANGE_EV = 15.0
COARSE_STEP_EV = 0.05


def larch_window_args(e0: float, window) -> dict:
    """emin/emax for ``larch.xafs.energy_align`` that make its fit window the absolute [lo, hi]."""
    lo, hi = float(window[0]), float(window[1])
    if not lo < hi:
        raise ValueError(f"alignment window {window}: expected low < high")
    return {"emin": e0 - lo, "emax": hi - e0}


def coarse_shift(energy, norm, ref_energy, ref_norm, window, span: float = COARSE_RANGE_EV, step: float = COARSE_STEP_EV) -> float:
    """Shift (eV, added to ``energy``) minimising the squared difference on ``window``, on a grid."""
    inside = (ref_energy >= window[0]) & (ref_energy <= window[1])
    x, y = ref_energy[inside], ref_norm[inside]
    shifts = np.arange(-span, span + step / 2, step)
    cost = [np.mean((np.interp(x - s, energy, norm) - y) ** 2) for s in shifts]
    return float(shifts[int(np.argmin(cost))])


def fit_shift(energy, norm, ref_energy, ref_norm, window, array: str = "norm") -> float:
    """Shift to add to a measured reference's energies so that it matches the computed reference.

    ``norm``/``ref_norm`` are normalised spectra; ``window`` absolute eV on the
    workflow's scale; ``array`` Larch's 'norm' (robust to noise) or 'dmude'.
    """
    from .larch_import import load

    load()
    from larch import Group
    from larch.xafs import energy_align

    energy, norm = np.asarray(energy, float), np.asarray(norm, float)
    ref_energy, ref_norm = np.asarray(ref_energy, float), np.asarray(ref_norm, float)
    if ref_energy[0] > window[0] or ref_energy[-1] < window[1]:
        raise ValueError(f"alignment window {window} eV is not inside the computed reference "
                         f"({ref_energy[0]:.1f}-{ref_energy[-1]:.1f} eV)")
    start = coarse_shift(energy, norm, ref_energy, ref_norm, window)
    if energy[0] + start > window[0] or energy[-1] + start < window[1]:
        raise ValueError(f"the measured reference ({energy[0]:.1f}-{energy[-1]:.1f} eV, shifted by {start:+.2f} eV) "
                         f"does not cover the alignment window {window[0]}-{window[1]} eV")
    e0 = 0.5 * (window[0] + window[1])
    group = Group(energy=energy + start, mu=norm, norm=norm)
    reference = Group(energy=ref_energy, mu=ref_norm, norm=ref_norm, e0=e0)
    for g in (group, reference):
        g.dmude = np.gradient(g.norm) / np.gradient(g.energy)
    refine = energy_align(group, reference, array=array, **larch_window_args(e0, window))
    if abs(refine) > 1.0:  # the coarse scan is within one step of the optimum
        raise ValueError(f"alignment did not converge (refinement {refine:+.2f} eV after the coarse shift {start:+.2f} eV)")
    return float(start + refine)


def shift_from_reference(energy, mu, ref_energy, ref_norm, window, settings, array: str = "norm", passes: int = 2) -> float:
    """Shift of a measured reference spectrum (raw mu) onto the computed reference (normalised).

    The normalisation ranges are anchored on the workflow's scale, so the
    reference is normalised again after each shift estimate.
    """
    from .normalise import normalise

    energy = np.asarray(energy, float)
    shift = 0.0
    for _ in range(passes):
        norm, _ = normalise(energy + shift, mu, settings, computed=False)
        shift += fit_shift(energy + shift, norm, ref_energy, ref_norm, window, array=array)
    return float(shift)
