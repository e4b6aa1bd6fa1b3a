"""Running Quantum ESPRESSO programs: failure detection, MPI launch, process environment."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ..mpi import launch_environment, launch_prefix

# QE's own launcher where it runs outside SLURM (Debian's or conda-forge's OpenMPI).
QE_LOCAL_LAUNCHER = "mpirun -np {ranks}"


class QEError(RuntimeError):
    """A Quantum ESPRESSO program failed; the message names the file to look at."""


def run_program(exe: str, input_text: str, workdir: Path, out_name: str, argv_prefix=()) -> str:
    """Run ``exe`` with ``input_text`` on stdin in ``workdir``; return its output.

    QE programs sometimes exit 0 after an error; an 'Error in routine' block
    or a CRASH file also count as failure.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    in_path = workdir / (out_name.rsplit(".", 1)[0] + ".in")
    in_path.write_text(input_text)
    out_path = workdir / out_name
    (workdir / "CRASH").unlink(missing_ok=True)
    with open(in_path) as stdin, open(out_path, "w") as stdout:
        env = launch_environment(list(argv_prefix))
        rc = subprocess.run([*argv_prefix, exe], stdin=stdin, stdout=stdout, stderr=subprocess.STDOUT, cwd=workdir,
                            env=env).returncode
    text = out_path.read_text(errors="replace")
    m = re.search(r"Error in routine (\S+).*?\n\s*(.+?)\n", text, re.S)
    if rc != 0 or m or (workdir / "CRASH").exists():
        why = f"{m.group(1)}: {m.group(2).strip()}" if m else f"exit code {rc}"
        raise QEError(f"{exe} failed ({why}); see {out_path}")
    return text


def qe_environment() -> None:
    """Environment every QE run needs here.

    OpenMPI refuses to start as root unless told to (containers, CI); one
    OpenMP/BLAS thread per rank avoids oversubscribing the cores MPI uses. A waiting
    OpenMPI rank spins unless it knows the node is oversubscribed, which it cannot
    know when other jobs share the cores: yielding instead, two 2-rank pw.x SCFs
    (27 atoms) side by side on 2 cores took 54 s each instead of 94, one alone 27
    instead of 28.
    """
    os.environ.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def run_qe(exe: str, input_text: str, workdir: Path, out_name: str, ranks: int = 1, launcher: str = "auto") -> str:
    """Run a QE program on ``ranks`` MPI ranks; return its output text (raises QEError on failure).

    The QE rules hold their ranks as SLURM tasks, so ``auto`` is srun inside SLURM."""
    qe_environment()
    prefix = launch_prefix(launcher, ranks, QE_LOCAL_LAUNCHER, ranks_are_slurm_tasks=True)
    return run_program(exe, input_text, Path(workdir), out_name, argv_prefix=prefix)
