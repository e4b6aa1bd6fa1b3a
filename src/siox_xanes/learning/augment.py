"""Training augmentation that makes a model tolerate what separates a measurement from a calculation.

Each augmented copy of a computed spectrum (raw, on the cube's uniform
grid) gets an energy shift, an extra Lorentzian broadening, the
normalisation with moved post-edge ranges and Gaussian noise on the
normalised spectrum. The same operations, with fixed sizes, draw the
robustness curves of the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..measured.normalise import Normalisation, normalise


@dataclass(frozen=True)
class Augmentation:
    """``uncertainty.augmentation`` block of the config."""

    copies: int = 8
    shift_eV: float = 1.0
    broadening_eV: tuple[float, float] = (0.5, 1.5)
    noise: float = 0.02
    norm_range_eV: float = 3.0

    @classmethod
    def from_config(cls, block: dict) -> "Augmentation":
        return cls(int(block["copies"]), float(block["shift_eV"]), tuple(map(float, block["broadening_eV"])),
                   float(block["noise"]), float(block["norm_range_eV"]))


def shifted(energy: np.ndarray, mu: np.ndarray, shift: float) -> np.ndarray:
    """mu(E - shift) on the same grid: features move up by ``shift``; the ends are held constant."""
    return np.interp(energy - shift, energy, mu)


def lorentzian_broadened(energy: np.ndarray, mu: np.ndarray, gamma: float) -> np.ndarray:
    """Convolution with a unit-area Lorentzian of half width ``gamma`` (eV) on a uniform grid.

    The spectrum is padded with its end values so that the edges do not sag.
    """
    if gamma <= 0:
        return np.asarray(mu, float).copy()
    de = float(energy[1] - energy[0])
    half = int(np.ceil(10 * gamma / de))
    x = np.arange(-half, half + 1) * de
    kernel = gamma / np.pi / (x**2 + gamma**2)
    kernel /= kernel.sum()
    padded = np.pad(np.asarray(mu, float), half, mode="edge")
    return np.convolve(padded, kernel, mode="same")[half:-half]


def perturbed(energy, mu_raw, norm: Normalisation, shift=0.0, gamma=0.0, noise=0.0, rng=None, norm_jitter_eV=0.0):
    """One raw computed spectrum shifted, broadened, normalised and made noisy."""
    rng = rng if rng is not None else np.random.default_rng(0)
    mu = lorentzian_broadened(energy, shifted(energy, mu_raw, shift), gamma)
    settings = norm.jittered(rng, norm_jitter_eV) if norm_jitter_eV > 0 else norm
    out, _ = normalise(energy, mu, settings, computed=True)
    if noise > 0:
        out = out + rng.normal(0.0, noise, len(out))
    return out


def augmented_set(energy, mu_raw, targets, norm: Normalisation, aug: Augmentation, seed: int):
    """Each spectrum once as computed (normalised) and ``aug.copies`` times perturbed at random.

    Returns (normalised spectra, targets repeated, index of the source spectrum).
    """
    rng = np.random.default_rng(seed)
    mu_raw = np.atleast_2d(np.asarray(mu_raw, float))
    targets = np.asarray(targets, float).reshape(len(mu_raw), -1)
    xs, ys, src = [], [], []
    for i, row in enumerate(mu_raw):
        xs.append(normalise(energy, row, norm, computed=True)[0])
        ys.append(targets[i])
        src.append(i)
        for _ in range(aug.copies):
            xs.append(perturbed(energy, row, norm, shift=rng.uniform(-aug.shift_eV, aug.shift_eV),
                                gamma=rng.uniform(*aug.broadening_eV), noise=rng.uniform(0, aug.noise), rng=rng,
                                norm_jitter_eV=aug.norm_range_eV))
            ys.append(targets[i])
            src.append(i)
    return np.asarray(xs), np.asarray(ys), np.asarray(src)
