"""Starting MPI programs (LAMMPS, Quantum ESPRESSO) on a workstation or inside a SLURM job.

``md.launcher`` and ``xanes.launcher`` share one meaning of ``auto``: *run the
ranks as a SLURM job step when the job holds them as SLURM tasks, otherwise
with the program's own MPI launcher on this node.* The SLURM profile gives the
QE rules their ranks as tasks (so ``srun``), and the melt-quench one task with
``md.mpi_ranks`` CPUs (so the mpich wheel's ``mpiexec``, which forks the ranks
on the node). Anything else is a template with ``{ranks}``, used as given.
"""

from __future__ import annotations

import os
import shlex

# Inside a SLURM job the ranks are a job step started by srun. --overlap: the SLURM
# executor may run this very job as a one-task step (srun -n1) that already holds
# CPUs of the allocation; without it the nested step would wait for them forever.
SLURM_STEP_LAUNCHER = "srun --overlap -n {ranks}"


def in_slurm_job(environ=os.environ) -> bool:
    return bool(environ.get("SLURM_JOB_ID"))


def resolve_launcher(setting: str, own_launcher: str, ranks_are_slurm_tasks: bool, environ=os.environ) -> str:
    """The launcher template for ``setting``: itself unless 'auto' (see the module doc)."""
    if setting != "auto":
        return setting
    if ranks_are_slurm_tasks and in_slurm_job(environ):
        return SLURM_STEP_LAUNCHER
    return own_launcher


def launch_prefix(setting: str, ranks: int, own_launcher: str, ranks_are_slurm_tasks: bool,
                  environ=os.environ) -> list[str]:
    """Argument prefix that starts ``ranks`` MPI processes; empty for one rank (no launcher)."""
    if ranks <= 1:
        return []
    template = resolve_launcher(setting, own_launcher, ranks_are_slurm_tasks, environ)
    if "{ranks}" not in template:
        raise ValueError(f"launcher '{template}' has no {{ranks}} placeholder")
    return shlex.split(template.format(ranks=ranks))


def uses_slurm_step(prefix: list[str]) -> bool:
    """Whether a launch prefix starts a SLURM job step (which needs the job's variables)."""
    return bool(prefix) and os.path.basename(prefix[0]) == "srun"


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


def launch_environment(prefix: list[str], environ=os.environ) -> dict:
    """The environment for a program started with ``prefix``: the job's own for srun,
    without the SLURM step's variables for anything else."""
    return dict(environ) if uses_slurm_step(prefix) else without_slurm_step(environ)
