"""Job arrays on SLURM: run task k of an array as its own job, and only that.

snakemake-executor-plugin-slurm 2.8 submits an array with the command of its first
job in every task, plus every other task's command as a payload
(``--slurm-jobstep-array-execs``). Inside task k > 1, the job-step plugin (0.6.1) runs
task k's command but then reports success for the job on its own command line, the
first one, so Snakemake checks the *first* task's outputs: task k fails with
MissingOutputException whenever it ends before task 1 (measured here: a diamond-Si site
finished in 20 s, then failed waiting for the glass site of task 1), and its finished
DFT is thrown away and recomputed on a retry.

The Snakefile calls :func:`run_if_later_array_task` while it is parsed: in such a task it
runs the task's own command exactly as the plugin would and exits with its status, so
SLURM reports the task by what its own job did. Standard library only (parse time).
"""

import os
import subprocess
import sys

ARRAY_EXECS_OPTION = "--slurm-jobstep-array-execs"
# what the job-step plugin keeps of the SLURM environment for the command it starts: the
# allocation's identity; task and step defaults would conflict with the inner srun
KEPT_SLURM_VARIABLES = {
    "SLURM_JOB_ID",
    "SLURM_JOBID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_CLUSTER_NAME",
    "SLURM_SUBMIT_DIR",
    "SLURM_SUBMIT_HOST",
}


def array_execs_payload(argv):
    """The value of --slurm-jobstep-array-execs on a command line, or None."""
    for i, arg in enumerate(argv):
        if arg == ARRAY_EXECS_OPTION and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(ARRAY_EXECS_OPTION + "="):
            return arg.split("=", 1)[1]
    return None


def later_array_task(argv, environ):
    """(task index, payload) when this process is the job-step Snakemake of an array
    task other than the first of its array; None otherwise (no array, task 1, a plain
    job, a command started by a task)."""
    payload = array_execs_payload(argv)
    task, first = environ.get("SLURM_ARRAY_TASK_ID"), environ.get("SLURM_ARRAY_TASK_MIN")
    if not payload or task is None or first is None or int(task) == int(first):
        return None
    return int(task), payload


def task_environment(environ):
    """The environment the job-step plugin gives the command it starts."""
    return {
        k: v
        for k, v in environ.items()
        if not (k.startswith(("SRUN_", "SBATCH_")) or (k.startswith("SLURM_") and k not in KEPT_SLURM_VARIABLES))
    }


def run_if_later_array_task(argv=None, environ=None):
    """In a later array task, run that task's command and exit with its status."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    found = later_array_task(argv, environ)
    if found is None:
        return
    task, payload = found
    # the plugin's own decoder: the payload's format is the installed plugin's
    from snakemake_executor_plugin_slurm_jobstep import _decompress_array_task_call

    call = _decompress_array_task_call(payload, task)
    print(f"SLURM array task {task}: running its own job", file=sys.stderr, flush=True)
    status = subprocess.run(call, shell=True, env=task_environment(environ)).returncode
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # Snakemake must not go on to check the first task's outputs
