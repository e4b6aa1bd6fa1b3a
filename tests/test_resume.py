"""Resuming after a crash: SIGKILL the whole run in the per-site DFT stage, run the
same command again, and get what an uninterrupted run gets, without redoing sites; and
a fresh working directory resuming from a run's release batches."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import SNAKEMAKE, TINY_TARGETS, assert_same_results, job_counts, run_snakemake, tiny_workdir
from siox_xanes import layout
from siox_xanes.release.batches import pack


def site_state(workdir: Path, sites: list[str]):
    """(finished, running) among the named core-hole sites (`<cell>_site<n>`): a job's log
    exists from its start, its site.json only once it is done."""
    started = {s for s in sites if (workdir / f"logs/core_hole_xanes/{s}.log").exists()}
    finished = {s for s in sites if site_json(workdir, s).exists()}
    return finished, started - finished


def site_json(workdir: Path, site: str) -> Path:
    cell, index = site.rsplit("_site", 1)
    return workdir / f"results/xanes/{cell}/site{index}/site.json"


def kill_session(sid: int) -> None:
    """SIGKILL every process of the run's session (Snakemake, its jobs, mpirun, pw.x),
    as a node failure would."""
    os.killpg(sid, signal.SIGKILL)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) == sid:
                os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.mark.slow
def test_sigkill_in_the_site_stage_then_the_same_command(tiny_local_run, tmp_path):
    # A run whose structures and ground states are done and two of whose sites are still to
    # come (the finished tiny run without them): the kill lands in the site stage minutes
    # sooner than from scratch, and what the sites feed is redone from them. The two sites run
    # side by side: a diamond-Si site (8 atoms) ends first, while the a-Si one (20) still runs.
    # (at the reference run's depth below the temp root: the pseudopotential inputs are
    # relative paths to the repository, and a changed path would redo everything)
    workdir = tmp_path
    shutil.copytree(tiny_local_run, workdir, symlinks=True, dirs_exist_ok=True)
    diamond = sorted(workdir.glob(f"results/xanes/{layout.reference_cell('diamond_si')}/site*"))[0]
    a_si = next(workdir.glob("results/xanes/x0.00_*/site*"))
    redone = [f"{d.parent.name}_{d.name}" for d in (diamond, a_si)]
    for site_dir in (diamond, a_si):
        shutil.rmtree(site_dir)
    # and what the sites feed (the alignment, the cubes): with those present Snakemake
    # would not need the sites at all
    for fed in [*workdir.glob("results/xanes/*"), *workdir.glob("results/dataset/*")]:
        if fed.is_file():
            fed.unlink()
    for site in redone:
        (workdir / f"logs/core_hole_xanes/{site}.log").unlink()
    command = ["--cores", "2", *TINY_TARGETS]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen([*SNAKEMAKE, *command], cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    deadline = time.monotonic() + 900
    while True:
        finished, running = site_state(workdir, redone)
        if finished and running:
            break
        assert first.poll() is None, "the run ended before the site stage could be interrupted"
        assert time.monotonic() < deadline, "no site finished in 15 minutes"
        time.sleep(0.5)
    time.sleep(5)  # well inside the running site's SCF
    finished, running = site_state(workdir, redone)
    assert running, "the running site finished in the meantime; nothing to interrupt"
    kill_session(first.pid)
    first.wait()
    planned = job_counts((tmp_path / "first.log").read_text())
    for rule in ("melt_quench", "pseudopotentials", "ultrasoft_pseudopotentials", "ground_state", "bader_charges"):
        assert rule not in planned, f"the first run redid {rule}: {planned}"
    assert planned.get("core_hole_xanes") == 2, planned  # the two removed sites, no other
    done_before = {s: site_json(workdir, s) for s in finished}
    stamps = {s: (p.stat().st_mtime_ns, p.read_bytes()) for s, p in done_before.items()}

    # A killed Snakemake leaves its lock behind: --unlock, then the very same command.
    run_snakemake(["--unlock"], cwd=workdir)
    second = run_snakemake(command, cwd=workdir)
    ran = second.stdout + second.stderr

    for s, path in done_before.items():  # finished sites were neither rerun nor rewritten
        assert (path.stat().st_mtime_ns, path.read_bytes()) == stamps[s], f"{s} was rewritten"
        cell, site = s.rsplit("_site", 1)
        assert f"wildcards: cell={cell}, site={site}\n" not in ran, f"{s} was recomputed"
    for s in running:  # the interrupted site was redone from the start
        cell, site = s.rsplit("_site", 1)
        assert f"wildcards: cell={cell}, site={site}" in ran
        assert site_json(workdir, s).exists()
    assert not list((workdir / "results").rglob("*.tmp"))
    assert_same_results(workdir, tiny_local_run, rtol=0.0)


@pytest.mark.slow
def test_a_fresh_checkout_resumes_from_the_release_batches(tiny_local_run, tmp_path):
    """A run packed into batches while a Bader analysis was still pending (its ground state
    done, the density cubes not yet consumed): a fresh working directory restores the
    batches and has only that Bader analysis and what follows it left to run."""
    # every run at the shared run's depth below the temp root: the pseudopotential inputs are
    # relative paths to the repository, and a deeper copy would redo the datasets and every
    # ground state (measured: 4 ground states instead of 1)
    source = tmp_path
    shutil.copytree(tiny_local_run, source, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("release"))
    # the a-Si glass's Bader to be redone: its ground state makes the density cubes again (asked
    # for by name: Snakemake does not remake a deleted intermediate whose consumers are done) and
    # the run stops there (the cheapest glass: the SiO2 one's would add minutes and prove nothing more)
    cell = "x0.00_seed7"
    charges = layout.BADER_CHARGES.format(cell=cell)
    (source / charges).unlink()
    cubes = [layout.RHO_VALENCE.format(cell=cell), layout.RHO_ALL_ELECTRON.format(cell=cell)]
    made = run_snakemake(["--cores", "2", *cubes], cwd=source)
    ran = job_counts(made.stdout + made.stderr)  # a real run prints its job table to stderr
    assert ran == {"ground_state": 1} and all((source / c).exists() for c in cubes), ran
    batches = tmp_path.parent / f"{tmp_path.name}_batches"
    pack(source, batches)

    fresh = tiny_workdir(tmp_path.parent / f"{tmp_path.name}_fresh")
    (fresh / "release.yaml").write_text(yaml.safe_dump({"release": {"batches": str(batches)}}))
    planned = run_snakemake(["-n", *TINY_TARGETS, charges, "--configfile", "config.yaml", "release.yaml"], cwd=fresh)
    counts = job_counts(planned.stdout)
    assert counts.get("bader_charges") == 1, counts
    for rule in ("random_network", "melt_quench", "pseudopotentials", "ultrasoft_pseudopotentials", "ground_state",
                 "core_hole_xanes"):
        assert rule not in counts, counts
