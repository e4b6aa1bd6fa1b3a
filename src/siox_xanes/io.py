"""File helpers: atomic writes, structures on disk, LAMMPS data files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import ATOMIC_MASS, SPECIES


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    A crash or exception leaves neither a half-written ``path`` nor the
    temporary file behind, so an interrupted job never looks finished.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make results private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_structure(path, atoms) -> None:
    """Extended XYZ with cell and pbc, written atomically."""
    from ase.io import write

    with atomic_path(path) as tmp:
        write(tmp, atoms, format="extxyz")


def read_structure(path):
    """Read an extended XYZ cell; a clear error names the file if it is not one."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: structure file not found")
    try:
        atoms = read(path, format="extxyz")
    except Exception as exc:  # ASE raises many types for malformed files
        raise ValueError(f"{path}: not a readable extended XYZ structure ({exc})") from exc
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(SPECIES))
    if unknown:
        raise ValueError(f"{path}: species {unknown} found, expected only {list(SPECIES)}")
    if not all(atoms.pbc) or atoms.cell.volume <= 0:
        raise ValueError(f"{path}: expected a 3D periodic cell with positive volume")
    return atoms


def write_lammps_data(path, atoms) -> None:
    """LAMMPS ``atomic`` data file, type 1 = Si and type 2 = O always.

    Both types are declared even when a species is absent (x = 0) so the one
    ``pair_coeff * * SiO.tersoff Si O`` line serves every composition.
    Only orthogonal cells are written; the lattice builder makes no other.
    """
    cell = np.asarray(atoms.cell)
    if np.abs(cell - np.diag(np.diag(cell))).max() > 1e-9:
        raise ValueError(f"{path}: only orthogonal cells can be written as LAMMPS data")
    lx, ly, lz = np.diag(cell)
    types = [SPECIES.index(s) + 1 for s in atoms.get_chemical_symbols()]
    lines = [
        "SiOx network written by siox_xanes",
        "",
        f"{len(atoms)} atoms",
        f"{len(SPECIES)} atom types",
        "",
        f"0.0 {lx:.10f} xlo xhi",
        f"0.0 {ly:.10f} ylo yhi",
        f"0.0 {lz:.10f} zlo zhi",
        "",
        "Masses",
        "",
    ]
    lines += [f"{i + 1} {ATOMIC_MASS[s]}  # {s}" for i, s in enumerate(SPECIES)]
    lines += ["", "Atoms # atomic", ""]
    pos = atoms.get_scaled_positions(wrap=True) * [lx, ly, lz]
    lines += [
        f"{i + 1} {t} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}" for i, (t, p) in enumerate(zip(types, pos))
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_lammps_data(path):
    """Read a LAMMPS ``atomic`` data file written with types 1 = Si, 2 = O."""
    from ase.io import read

    z_of_type = {i + 1: {"Si": 14, "O": 8}[s] for i, s in enumerate(SPECIES)}
    return read(path, format="lammps-data", atom_style="atomic", Z_of_type=z_of_type, sort_by_id=True)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
