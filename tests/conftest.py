import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from siox_xanes import layout

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
# What the tiny end-to-end runs build: the structures stage and the dataset cubes
# (two sites are too few to train on; the learning rules are tested on a synthetic cube).
TINY_TARGETS = [layout.SITE_CUBE, layout.VALIDATION_CELLS,
                # the references' Bader charges, made while their densities exist: a data release
                # needs them, and later would mean their ground states and so their sites again
                *(layout.BADER_CHARGES.format(cell=layout.reference_cell(name)) for name in layout.REFERENCES)]


def run_snakemake(args, cwd, check=True, launcher=SNAKEMAKE, **kwargs):
    proc = subprocess.run([*launcher, *args], cwd=cwd, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


def job_counts(output: str) -> dict[str, int]:
    """Rule -> count from the 'Job stats' table Snakemake prints (without its total row)."""
    counts, in_table = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            in_table = True
            continue
        parts = line.split()
        if in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
        elif in_table and counts and not parts:
            break
    return counts


def tiny_workdir(path: Path) -> Path:
    """A fresh working directory holding the tiny test config as config.yaml."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tests/data/config_tiny.yaml", path / "config.yaml")
    return path


def workdir_with(tmp_path: Path, config: dict) -> Path:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


# The longest tests, started first so that two xdist workers end together: the SLURM run (it
# makes its own tiny run), then the tests on the shared tiny run, then the QE engine's.
FIRST = ("test_tiny_config_through_the_slurm_profile", "tiny_local_run", "test_qe_engine.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        for k, key in enumerate(FIRST):
            if item.name == key or key in getattr(item, "fixturenames", ()) or item.path.name == key:
                return k
        return len(FIRST)

    items.sort(key=rank)  # stable: the collection order within each rank


def pytest_collection_finish(session):
    """Under --dist loadgroup each worker names a grouped test `<id>@<group>`; without that
    suffix the groups are silently spread over both workers (pytest 9 with pytest-xdist 3.8:
    each worker then redoes the session fixtures, and the 'repository' tests run side by side)."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers only
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup ignores the xdist_group marks of {len(lost)} tests "
                                f"(e.g. {lost[0]}): use the pytest pinned in requirements.lock")


def shared_folder(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this session sees (the session's own folder
    without xdist), as deep below the session's folder as a test's tmp_path: runs copied
    from it into tmp_path keep their relative paths to the repository."""
    base = tmp_path_factory.getbasetemp()
    folder = base.parent / "shared" if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory):
    """The tiny config run once per test session, locally, uninterrupted: the reference the
    cluster and resume tests compare against (about 4 minutes on 2 cores). Under xdist the
    first worker that needs it runs it; the others wait for it and read it (never write)."""
    from filelock import FileLock

    folder = shared_folder(tmp_path_factory)
    workdir, finished = folder / "tiny_local", folder / "tiny_local.finished"
    with FileLock(str(folder / "tiny_local.lock")):
        if not finished.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            run_snakemake(["--cores", "2", *TINY_TARGETS], cwd=tiny_workdir(workdir))
            finished.write_text("finished\n")
    return workdir


@pytest.fixture
def default_config():
    return copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text()))


@pytest.fixture
def alpha_quartz():
    """alpha-quartz, a = 4.913 A, c = 5.405 A (Si-O 1.604/1.613 A, Si-O-Si 143.7 deg)."""
    from siox_xanes.spectra.references import reference_crystal

    return reference_crystal("alpha_quartz")


@pytest.fixture
def diamond_si():
    from ase.build import bulk

    return bulk("Si", "diamond", a=5.431, cubic=True)


def assert_same_results(run_dir: Path, reference_dir: Path, rtol: float = 0.0, subset: bool = False) -> None:
    """The tiny run in ``run_dir`` made what the reference run made: the same quenched
    structures (byte for byte) and the same site cube (values within ``rtol``, the
    same coordinates and provenance). ``subset``: ``run_dir`` ran some of the reference's
    cells; those are compared, and not what the cell list itself decides (the config's
    checksum, the random test split)."""
    import numpy as np
    import xarray as xr

    root = run_dir if subset else reference_dir
    structures = sorted(p.relative_to(root) for p in (root / "results/structures").rglob("quenched.extxyz"))
    assert structures
    for rel in structures:
        assert (run_dir / rel).read_text() == (reference_dir / rel).read_text(), rel
    with xr.open_dataset(run_dir / TINY_TARGETS[0]) as got, xr.open_dataset(reference_dir / TINY_TARGETS[0]) as want:
        if subset:
            want = want.isel(site=np.isin(want["cell"].values, got["cell"].values))
            assert want.sizes["site"] == got.sizes["site"] > 0
            # the test split and the composition index follow from the cell list
            got, want = (d.drop_vars(["split", "group"]) for d in (got, want))
        differ = {"config_sha256"} if subset else set()
        assert {k: v for k, v in got.attrs.items() if k not in differ} == {k: v for k, v in want.attrs.items() if k not in differ}
        assert set(got.variables) == set(want.variables)
        for name, var in want.variables.items():
            if np.issubdtype(var.dtype, np.number):
                scale = float(np.nanmax(np.abs(var.values))) if var.size else 0.0
                np.testing.assert_allclose(got[name].values, var.values, rtol=rtol, atol=rtol * scale, err_msg=name)
            else:
                assert (got[name].values == var.values).all(), name
