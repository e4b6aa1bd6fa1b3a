"""Running QE programs under MPI, locally (Debian's OpenMPI mpirun, also as root) or via srun."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .ld1 import run_program


LOCAL_LAUNCHER = "mpirun -np {ranks}"
# Inside a SLURM job the ranks are a job step started by srun. --overlap: the SLURM
# executor may run this very job as a one-task step (srun -n1) that already holds
# CPUs of the allocation; without it the nested step would wait for them forever.
SLURM_LAUNCHER = "srun --overlap -n {ranks}"


def resolve_launcher(launcher: str, environ=os.environ) -> str:
    """The launcher template to use: ``launcher`` itself, or for 'auto' srun inside a
    SLURM job (SLURM_JOB_ID set) and Debian's OpenMPI mpirun elsewhere."""
    if launcher != "auto":
        return launcher
    return SLURM_LAUNCHER if environ.get("SLURM_JOB_ID") else LOCAL_LAUNCHER


def mpi_prefix(launcher: str, ranks: int, environ=os.environ) -> list[str]:
    """Argument prefix for ``ranks`` MPI processes ('' for one rank: no launcher at all)."""
    if ranks <= 1:
        return []
    return shlex.split(resolve_launcher(launcher, environ).format(ranks=ranks))


def qe_environment() -> None:
    """Environment every QE run needs here.

    OpenMPI refuses to start as root unless told to (containers, CI); one
    OpenMP/BLAS thread per rank avoids oversubscribing the cores MPI uses.
    """
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run_qe(exe: str, input_text: str, workdir: Path, out_name: str, ranks: int = 1, launcher: str = "auto") -> str:
    """Run a QE program on ``ranks`` MPI ranks; return its output text (raises QEError on failure)."""
    qe_environment()
    return run_program(exe, input_text, Path(workdir), out_name, argv_prefix=mpi_prefix(launcher, ranks))
