"""Snakemake whose SLURM executor polls at most every --seconds-between-status-checks
(the test harness's launcher; users run plain snakemake).

The SLURM plugin (2.8) lengthens its pause between status checks by 10 s after each check that
finds no job finished, up to 180 s, and has no setting for it. On a shared cluster that spares
slurmctld; on the one-node test SLURM it leaves the DAG idle for minutes after a long job
(measured: a retried 90 s site noticed 140 s after it ended). Only the cadence changes here:
every job still goes through sbatch and is judged by the plugin's own status code."""

import sys

from snakemake.cli import main
from snakemake_executor_plugin_slurm import Executor

_interval = Executor.next_seconds_between_status_checks  # the remote executors' property


def _capped(executor, seconds):
    cap = executor.workflow.remote_execution_settings.seconds_between_status_checks
    _interval.fset(executor, seconds if seconds is None else min(seconds, cap))


Executor.next_seconds_between_status_checks = _interval.setter(_capped)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
