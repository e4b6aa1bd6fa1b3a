"""What a measured spectrum must show before any model answers for it.

A Si K edge of the right sign and of a size well above the noise, where a Si
K edge can be on the workflow's energy scale, and data over the ranges the
normalisation fits (its linear pre-edge line is extrapolated 50 eV up, so a
scan that starts at the window's edge gives a wrong normalisation and a
confident wrong answer). Each failure raises :class:`SpectrumQualityError`
naming the spectrum and what is wrong with it.
"""

from __future__ import annotations

import numpy as np

from .normalise import Normalisation

# Where a Si K edge (the half-height of its step) lies on the workflow's scale: c-Si ~1839 eV,
# a-SiO2 ~1846-1847 eV (the white line's rise); a margin for broad or mixed spectra.
EDGE_RANGE_EV = (1835.0, 1852.0)
# The normalisation's pre-edge range must hold this much data: the scan must start at least
# 10 eV below the range's end (1820 eV with the default 1810-1830 eV range).
MIN_PRE_EDGE_EV = 10.0
MIN_PRE_EDGE_POINTS = 5
# Edge step over the point-to-point noise: a 1 % noisy spectrum has ~100, random numbers ~0.
MIN_EDGE_SNR = 10.0


class SpectrumQualityError(ValueError):
    """A spectrum no model may answer for; the message names it and says why."""


def point_noise(mu: np.ndarray) -> float:
    """Point-to-point noise of ``mu`` (its units): robust scatter of second differences / sqrt(6),
    which smooth structure (an edge, a slope) hardly contributes to."""
    d2 = np.diff(np.asarray(mu, float), 2)
    if len(d2) < 3:
        return 0.0
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))


def edge_check(energy: np.ndarray, mu: np.ndarray, norm: Normalisation, where: str,
               edge_range: tuple[float, float] | None = EDGE_RANGE_EV) -> dict:
    """Check a raw spectrum (energies on the workflow's scale) for a Si K edge; returns its figures.

    ``edge_range`` None skips the position check (a reference whose shift is still unknown)."""
    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    pre = (norm.e0_eV + norm.pre_eV[0], norm.e0_eV + norm.pre_eV[1])
    post = (norm.e0_eV + norm.norm_eV[0], norm.e0_eV + norm.norm_eV[1])
    in_pre = (energy >= pre[0]) & (energy <= pre[1])
    covered = float(np.ptp(energy[in_pre])) if in_pre.sum() >= 2 else 0.0
    if covered < MIN_PRE_EDGE_EV or in_pre.sum() < MIN_PRE_EDGE_POINTS:
        raise SpectrumQualityError(
            f"{where}: the normalisation's pre-edge range {pre[0]:g}-{pre[1]:g} eV holds {covered:.1f} eV of data "
            f"({int(in_pre.sum())} points); at least {MIN_PRE_EDGE_EV:g} eV and {MIN_PRE_EDGE_POINTS} points are needed, "
            f"i.e. a scan from {pre[1] - MIN_PRE_EDGE_EV:g} eV or lower on the workflow's scale (data start at "
            f"{energy[0]:.1f} eV)")
    in_post = (energy >= post[0]) & (energy <= post[1])
    if in_post.sum() < MIN_PRE_EDGE_POINTS:
        raise SpectrumQualityError(f"{where}: {int(in_post.sum())} points in the post-edge range {post[0]:g}-{post[1]:g} eV "
                                   f"(data end at {energy[-1]:.1f} eV)")
    line = np.polyfit(energy[in_pre], mu[in_pre], 1)
    above = mu - np.polyval(line, energy)
    step = float(np.mean(above[in_post]))
    noise = point_noise(mu)
    snr = abs(step) / noise if noise > 0 else float("inf")
    if step <= 0 and snr >= MIN_EDGE_SNR:
        raise SpectrumQualityError(
            f"{where}: the absorption falls across the edge (step {step:.3g} from the pre-edge to the post-edge "
            f"range): an inverted spectrum? (transmission must be ln(I0/I), fluorescence If/I0)")
    if step <= 0 or snr < MIN_EDGE_SNR:
        raise SpectrumQualityError(
            f"{where}: no Si K edge: the step from the pre-edge to the post-edge range is {step:.3g}, "
            f"{snr:.1f} times the point-to-point noise {noise:.3g} (at least {MIN_EDGE_SNR:g} needed)")
    # the edge: where the normalised spectrum first reaches half its step above the pre-edge range
    normalised = above / step
    rising = np.flatnonzero((energy > pre[1]) & (normalised >= 0.5))
    edge = float(energy[rising[0]]) if len(rising) else float("nan")
    if edge_range is not None and not (edge_range[0] <= edge <= edge_range[1]):
        raise SpectrumQualityError(
            f"{where}: its edge (half step) is at {edge:.1f} eV on the workflow's scale; a Si K edge lies in "
            f"{edge_range[0]:g}-{edge_range[1]:g} eV there: is the energy shift right?")
    return {"edge_eV": edge, "edge_step": step, "point_noise": noise, "edge_step_over_noise": snr,
            "pre_edge_covered_eV": covered}
