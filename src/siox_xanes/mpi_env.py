"""Process environments for MPI programs started by this package."""

from __future__ import annotations

import os


def without_slurm_step(environ=os.environ) -> dict:
    """``environ`` minus the variables of the SLURM job step it runs in.

    For MPI programs this package starts itself, without srun: a single-rank QE
    program (ld1.x, a one-rank pw.x) or LAMMPS through the mpich wheel's mpiexec.
    Given the step's SLURM/PMIx variables, OpenMPI takes itself for rank 0 of the
    step, which works once per step (ld1.x runs once per test configuration and
    the second run aborts in MPI_Init), and mpich's mpiexec would start its
    proxies with a nested srun. Without them both behave as on a workstation.
    """
    return {k: v for k, v in environ.items() if not k.startswith(("SLURM_", "PMIX_", "PMI_"))}
