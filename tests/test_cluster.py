"""Cluster execution: the SLURM profile, checked statically and on a real single-node
SLURM (tests/slurm/single_node.sh), and the pinned software environments."""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TINY_TARGETS, assert_same_results, job_counts, run_snakemake, tiny_workdir

HARNESS = ROOT / "tests/slurm/single_node.sh"
PROFILE = ROOT / "profiles/slurm"
# snakemake polling SLURM every --seconds-between-status-checks (the plugin's own pause grows to 180 s)
STEADY_POLLING = [sys.executable, str(ROOT / "tests/slurm/steady_polling.py"), "-s", str(ROOT / "Snakefile")]
RULE_FILES = sorted((ROOT / "rules").glob("*.smk")) + [ROOT / "Snakefile"]


def rule_blocks():
    """rule name -> its text, from the (snakefmt-formatted) workflow files."""
    blocks = {}
    for path in RULE_FILES:
        name, lines = None, []
        for line in path.read_text().splitlines() + ["rule __end__:"]:
            if line.startswith("rule ") and line.rstrip().endswith(":"):
                if name:
                    blocks[name] = ("\n".join(lines), path)
                name, lines = line[5:].rstrip(":").strip(), []
            elif name:
                if line and not line.startswith((" ", "#")):
                    blocks[name], name = ("\n".join(lines), path), None
                else:
                    lines.append(line)
    blocks.pop("__end__", None)
    return blocks


@pytest.mark.slow
@pytest.mark.xdist_group("repository")
def test_lint_has_no_findings_and_snakefmt_is_clean():
    lint = run_snakemake(["--lint"], cwd=ROOT, check=False)
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout[-3000:]
    # the workflow's own files: a run directory (runs/, ignored) may hold tens of thousands of files
    workflow = [str(ROOT / "Snakefile"), *map(str, sorted((ROOT / "rules").glob("*.smk")))]
    fmt = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *workflow], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.xdist_group("repository")
def test_slurm_profile_is_complete_and_resolves_from_the_repository_root():
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["rerun-incomplete"] and profile["retries"] >= 1
    assert set(profile["set-resources"]) <= set(rule_blocks()), "set-resources names a rule the workflow lacks"
    assert profile["slurm-array-jobs"] == "core_hole_xanes"
    # the literal user command: `slurm` at the root is this profile
    assert (ROOT / "slurm").resolve() == PROFILE.resolve()
    # ... and it is the paper's reproduction, with no --configfile
    dry = run_snakemake(["--profile", "slurm", "-n", "--forceall"], cwd=ROOT)
    counts = job_counts(dry.stdout)
    # the paper's jobs: 45 glasses + alpha-quartz + diamond Si; every Si site of the glasses + one
    # site per reference
    assert counts["melt_quench"] == 45, counts
    assert counts["ground_state"] == 45 + 2 and counts["bader_charges"] == 45 + 2
    assert counts["core_hole_xanes"] == 5290 + 2
    assert counts["train_model"] == 11 * 3  # full, a-h, two 25 eV bands x (valence, rdf, pdos)
    assert counts["cell_pdos"] == 45
    # the paper's 12 figures (Figs. 1-8, S3-S6) + the predictor's robustness curves + the learning
    # curves + the forward models' three (seed 002's Fig. 11, by composition, selection curves) + the
    # PDOS networks' (seed 004)
    assert counts["figure"] == 18 and counts["reproduction_report"] == 1
    assert counts["evaluate_splits"] == 3 and counts["train_predictor"] == 1 and counts["predictor_cross_validation"] == 1
    assert counts["forward_evaluation"] == counts["selection_curves"] == counts["forward_model"] == 1


def test_site_settings_come_from_the_environment(tmp_path):
    """Account and partitions are the user's: read from SIOX_SLURM_* at run time."""
    from snakemake.resources import Resource

    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())

    def evaluate(expr, env, attempt=1):
        old = {k: os.environ.pop(k, None) for k in ("SIOX_SLURM_ACCOUNT", "SIOX_SLURM_PARTITION", "SIOX_SLURM_GPU_PARTITION")}
        os.environ.update(env)
        try:
            res = Resource.from_cli_expression("r", str(expr))
            return res.evaluate(wildcards={}, input=[], attempt=attempt, threads=2, rulename="x", async_run=None).value
        finally:
            for k in old:
                os.environ.pop(k, None)
                if old[k] is not None:
                    os.environ[k] = old[k]

    default, train = profile["default-resources"], profile["set-resources"]["train_model"]
    assert evaluate(default["slurm_account"], {}) == ""  # unset: the plugin guesses it
    assert evaluate(default["slurm_account"], {"SIOX_SLURM_ACCOUNT": "proj42"}) == "proj42"
    assert evaluate(train["slurm_partition"], {"SIOX_SLURM_PARTITION": "cpu"}) == "cpu"
    assert evaluate(train["gpu"], {"SIOX_SLURM_PARTITION": "cpu"}) == 0
    assert evaluate(train["slurm_partition"], {"SIOX_SLURM_GPU_PARTITION": "a100"}) == "a100"
    assert evaluate(train["gpu"], {"SIOX_SLURM_GPU_PARTITION": "a100"}) == 1
    assert evaluate(default["runtime"], {}, attempt=2) == 2 * evaluate(default["runtime"], {})  # more time on retry


def test_a_later_array_task_runs_its_own_command(tmp_path):
    """Task k > 1 of an array runs task k's command (decoded by the installed job-step
    plugin from the payload the SLURM plugin writes) and exits with its status."""
    import base64
    import json
    import zlib

    from siox_xanes import slurm_array

    marker = tmp_path / "ran"
    commands = {"2": f"echo task2 > {marker}; exit 3", "3": "exit 0"}
    payload = base64.b64encode(json.dumps(
        {k: zlib.compress(v.encode(), level=9).hex() for k, v in commands.items()}).encode()).decode()
    argv = ["snakemake", "--target-jobs", "core_hole_xanes:cell=a,site=0", f"--slurm-jobstep-array-execs={payload}"]
    env = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_NTASKS": "2", "SRUN_CPUS_PER_TASK": "1",
           "SLURM_JOB_ID": "7", "PATH": os.environ["PATH"]}
    assert slurm_array.later_array_task(argv, env) == (2, payload)
    assert slurm_array.later_array_task(argv[:-1] + ["--slurm-jobstep-array-execs", payload], env) == (2, payload)
    assert slurm_array.later_array_task(argv, {**env, "SLURM_ARRAY_TASK_ID": "1"}) is None  # the first task
    assert slurm_array.later_array_task(argv[:-1], env) is None  # a task's own command
    assert slurm_array.task_environment(env) == {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1",
                                                 "SLURM_JOB_ID": "7", "PATH": os.environ["PATH"]}
    # the whole path in a child process: it must end with the task's status, not go on
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); from siox_xanes import slurm_array; "
            f"slurm_array.run_if_later_array_task({argv!r}, {env!r}); print('went on')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 3 and "went on" not in proc.stdout, proc.stderr
    assert marker.read_text() == "task2\n"


# ---------------------------------------------------------------- a real SLURM


@pytest.fixture(scope="module")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("a single-node SLURM needs root (slurmctld, slurmd and munged run as root here)")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        pytest.skip("no SLURM and no apt-get to install Debian's slurmctld/slurmd/munge")
    install = subprocess.run(["bash", str(HARNESS), "install"], capture_output=True, text=True)
    if install.returncode != 0:
        pytest.skip(f"Debian's SLURM packages cannot be installed here: {install.stderr.strip()[-500:]}")
    start = subprocess.run(["bash", str(HARNESS), "start"], capture_output=True, text=True)
    assert start.returncode == 0, start.stderr[-3000:]
    try:
        yield
    finally:
        subprocess.run(["bash", str(HARNESS), "stop"], capture_output=True, text=True)


def squeue_rows():
    """Every job slurmctld remembers (MinJobAge is an hour): id, comment, state, limit, elapsed."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%k|%T|%l|%M"],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(("id", "comment", "state", "limit", "elapsed"), line.split("|"))) for line in out.splitlines() if line]


def seconds(elapsed: str) -> int:
    """squeue's [[D-]H:]M:SS as seconds."""
    days, _, hms = elapsed.rpartition("-")
    total = 0
    for part in hms.split(":"):
        total = 60 * total + int(part)
    return total + 86400 * int(days or 0)


def kill_at_time_limit(cell: str, site_log: Path, done: threading.Event, killed: list):
    """Once the site's first attempt is inside its QE run, cut its SLURM time limit to
    zero: slurmctld then kills it exactly as at a real time limit (state TIMEOUT)."""
    while not done.is_set() and not killed:
        if site_log.exists() and "attempt 1" in site_log.read_text():
            # the site's own job (single-rank jobs share the 2-CPU node); 10 s in, its srun
            # step exists (a job cut before that fails on its own instead)
            running = [r for r in squeue_rows() if r["state"] == "RUNNING"
                       and r["comment"].startswith("rule_core_hole_xanes") and cell in r["comment"]]
            if len(running) == 1 and seconds(running[0]["elapsed"]) >= 10:
                subprocess.run(["scontrol", "update", f"jobid={running[0]['id']}", "timelimit=0"], check=True)
                killed.append(running[0])
        time.sleep(0.5)


def failed_job_logs(workdir: Path, stderr: str, chars: int = 2500) -> str:
    """For a failed run: the SLURM job logs and rule logs of every rule Snakemake
    names in an error, and the jobs SLURM remembers (a CI machine keeps nothing else)."""
    report = []
    for rule in sorted(set(re.findall(r"(?:Error|Exception) in rule (\w+)", stderr))):
        logs = sorted((workdir / ".snakemake/slurm_logs" / f"rule_{rule}").rglob("*.log"))
        logs += sorted((workdir / "logs").glob(f"{rule}*")) + sorted((workdir / "logs" / rule).glob("*"))
        for log in logs:
            if log.is_file():
                report.append(f"\n===== {log.relative_to(workdir)} (end) =====\n{log.read_text(errors='replace')[-chars:]}")
    try:
        rows = "\n".join("|".join(r.values()) for r in squeue_rows())
    except (OSError, subprocess.CalledProcessError) as exc:
        rows = f"squeue failed: {exc}"
    return "".join(report) + f"\n===== squeue =====\n{rows}"


@pytest.mark.slow
def test_tiny_config_through_the_slurm_profile(slurm_cluster, request, tmp_path):
    # the SiO2 glass and the references only: every rule still goes through sbatch, and the
    # a-Si glass (its own MD, ground state, Bader and site) adds nothing SLURM-specific
    workdir = tiny_workdir(tmp_path / "run")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["structures"]["compositions"] = {x: n for x, n in config["structures"]["compositions"].items() if x == "2.00"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    site_log = workdir / "logs/core_hole_xanes/x2.00_seed7_site0.log"  # the longest site (~80 s)
    earlier = {r["id"] for r in squeue_rows()}  # jobs of other runs on this SLURM
    done, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_at_time_limit, args=("x2.00_seed7", site_log, done, killed), daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        proc = run_snakemake(
            # the profile's own config is the paper preset: the tiny one replaces it
            ["--profile", str(PROFILE), "--configfile", "config.yaml", "--slurm-status-command", "squeue",
             "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "3",
             "--max-status-checks-per-second", "10", "--latency-wait", "5", *TINY_TARGETS],
            cwd=workdir, check=False, launcher=STEADY_POLLING, timeout=1500)
    finally:
        done.set()
        watcher.join()
    wall = time.monotonic() - started
    print(f"tiny config through SLURM: {wall:.0f} s wall")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:] + failed_job_logs(workdir, proc.stderr)
    (tmp_path / "wall_seconds.txt").write_text(f"{wall:.1f}\n")

    rows = [r for r in squeue_rows() if r["id"] not in earlier]
    # every job went through sbatch: each rule of the DAG has SLURM jobs, all of them ended well
    rules = {r["comment"][5:].split("_wildcards_")[0] for r in rows if r["comment"].startswith("rule_")}
    assert rules >= {"random_network", "melt_quench", "validate_cell", "structure_report", "pseudopotentials",
                     "reference_structure", "ground_state", "bader_charges", "core_hole_xanes", "align_spectra",
                     "site_rdf", "dataset_cubes"}
    core_hole = [r for r in rows if r["comment"].startswith("rule_core_hole_xanes")]
    # the site killed at its time limit was resubmitted with twice the time and then finished
    assert killed, "the x2.00 site's job was never seen running"
    assert killed[0]["limit"] == "2:00:00"  # attempt 1: xanes.runtime_min.core_hole
    assert [r["state"] for r in rows if r["id"] == killed[0]["id"]] == ["TIMEOUT"]
    # ... and it alone: an array task that ends before the killed first task of its array
    # is not failed for the first task's missing outputs (siox_xanes.slurm_array)
    assert [r["state"] for r in core_hole if r["limit"] == "4:00:00"] == ["COMPLETED"], core_hole
    site = yaml.safe_load((workdir / "results/xanes/x2.00_seed7/site0/site.json").read_text())
    assert site["scf_attempt"] == 2  # the retry also mixes more gently (xanes.mixing_beta[1])
    assert not [r for r in rows if r["state"] not in ("COMPLETED", "TIMEOUT")]
    # the two diamond-Si sites, released together by their cell's ground state, went as
    # one job array (task ids <array>_<index>) whose tasks all finished
    arrays = {}
    for r in core_hole:
        if "_" in r["id"] and r["id"] != killed[0]["id"]:
            arrays.setdefault(r["id"].split("_")[0], []).append(r["state"])
    assert any(len(states) >= 2 for states in arrays.values()), core_hole
    assert all(set(states) == {"COMPLETED"} for states in arrays.values()), core_hole
    # and the results equal the local run's. Sites run once agree to the last digit
    # written; the retried site converged along another SCF path (mixing 0.2, not 0.4):
    # measured, Delta-SCF within 2e-6 eV and mu within 0.08 % of its maximum
    # the local run is asked for only now: under xdist the other worker makes it meanwhile
    assert_same_results(workdir, request.getfixturevalue("tiny_local_run"), rtol=1e-3, subset=True)
