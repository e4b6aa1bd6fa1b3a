"""Running QE programs under MPI, locally (Debian's OpenMPI mpirun, also as root) or via srun."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .ld1 import run_program


def mpi_prefix(launcher: str, ranks: int) -> list[str]:
    """Argument prefix for ``ranks`` MPI processes ('' for one rank: no launcher at all)."""
    if ranks <= 1:
        return []
    return shlex.split(launcher.format(ranks=ranks))


def qe_environment() -> None:
    """Environment every QE run needs here.

    OpenMPI refuses to start as root unless told to (containers, CI); one
    OpenMP/BLAS thread per rank avoids oversubscribing the cores MPI uses.
    """
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run_qe(exe: str, input_text: str, workdir: Path, out_name: str, ranks: int = 1, launcher: str = "mpirun -np {ranks}") -> str:
    """Run a QE program on ``ranks`` MPI ranks; return its output text (raises QEError on failure)."""
    qe_environment()
    return run_program(exe, input_text, Path(workdir), out_name, argv_prefix=mpi_prefix(launcher, ranks))
