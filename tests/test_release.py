"""Finished MD/DFT results kept as committed batches, and a fresh checkout resuming from them."""

import json
import os
import shutil

import pytest

from siox_xanes.cli import main as cli
from siox_xanes.release.batches import INDEX, ReleaseError, finished_files, metadata_key, pack, restore

SITE = "results/xanes/x1.00_seed1/site3/site.json"
SPECTRUM = "results/xanes/x1.00_seed1/site3/spectrum.csv"
RUNNING = "results/xanes/x1.00_seed1/site4/site.json"  # its job has not finished
LOG = "logs/core_hole_xanes/x1.00_seed1_site3.log"
GROUND = "results/xanes/x1.00_seed1/ground_state.json"
CUBE = "results/xanes/x1.00_seed1/rho_valence.cube"  # a temporary output of the same job


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def finished(root, rel, text, incomplete=False, rule="core_hole_xanes"):
    """A result file with Snakemake's record of the job that wrote it (text None: a temporary
    output, deleted since, of which only the record is left)."""
    if text is not None:
        write(root, rel, text)
    write(root, f".snakemake/metadata/{metadata_key(rel)}", json.dumps({"rule": rule, "params": [rel]}))
    if incomplete:
        write(root, f".snakemake/incomplete/{metadata_key(rel)}", "")


@pytest.fixture
def run(tmp_path):
    root = tmp_path / "run"
    finished(root, SITE, '{"delta_scf_eV": 1.5}')
    finished(root, SPECTRUM, "energy,mu\n0,1\n")
    finished(root, RUNNING, "{}", incomplete=True)
    write(root, "results/xanes/x1.00_seed1/site5/site.json", "{}")  # no record: not made by Snakemake
    finished(root, GROUND, "{}", rule="ground_state")
    finished(root, CUBE, None, rule="ground_state")
    write(root, LOG, "attempt 1\n")
    write(root, "results/dataset/spectra_sites.nc", "cheap to remake, never packed")
    return root


def test_metadata_key_is_where_snakemake_keeps_the_record():
    from snakemake.persistence.file import FilePersistence

    # Snakemake's own path rule (its method needs no instance state beyond the length limit)
    persistence = FilePersistence.__new__(FilePersistence)
    persistence._max_len = 255
    for rel in (SITE, "results/" + "x" * 400 + "/a.json"):
        assert persistence._record_path(".snakemake/metadata", rel) == f".snakemake/metadata/{metadata_key(rel)}"


def test_only_finished_results_logs_and_benchmarks_are_packed(run):
    assert sorted(finished_files(run)) == sorted([SITE, SPECTRUM, GROUND, LOG])


def test_pack_restore_round_trip(run, tmp_path):
    batches = tmp_path / "release/batches"
    assert pack(run, batches) == "batch_001.tar.xz"
    assert pack(run, batches) is None  # nothing new
    write(run, LOG, "attempt 1\nattempt 2\n")  # a changed log goes into the next batch, alone
    finished(run, RUNNING, '{"delta_scf_eV": 2.0}')  # its job ends: Snakemake drops the incomplete mark
    (run / f".snakemake/incomplete/{metadata_key(RUNNING)}").unlink()
    assert pack(run, batches) == "batch_002.tar.xz"
    index = json.loads((batches / INDEX).read_text())
    assert {rel: e["batch"] for rel, e in index["files"].items()} == {
        SITE: "batch_001.tar.xz", SPECTRUM: "batch_001.tar.xz", GROUND: "batch_001.tar.xz", LOG: "batch_002.tar.xz",
        RUNNING: "batch_002.tar.xz"}
    # without it the ground state's params go unchecked
    assert {rel: e["batch"] for rel, e in index["records"].items()} == {CUBE: "batch_001.tar.xz"}

    fresh = tmp_path / "fresh"
    write(fresh, SPECTRUM, "energy,mu\n0,2\n")  # local work that differs from the release is kept
    counts = restore(batches, fresh)
    assert counts == {"restored": 4, "present": 0, "kept": 1}
    assert (fresh / f".snakemake/metadata/{metadata_key(CUBE)}").is_file() and not (fresh / CUBE).exists()
    assert (fresh / SPECTRUM).read_text() == "energy,mu\n0,2\n"
    assert (fresh / LOG).read_text() == "attempt 1\nattempt 2\n"  # the latest version
    assert json.loads((fresh / f".snakemake/metadata/{metadata_key(SITE)}").read_text())["params"] == [SITE]
    assert not (fresh / f".snakemake/metadata/{metadata_key(SPECTRUM)}").exists()  # belongs to the kept file
    # one modification time, later than anything checked out before the restore
    stamps = {(fresh / rel).stat().st_mtime for rel in (SITE, RUNNING, LOG)}
    assert len(stamps) == 1 and stamps.pop() > (run / SITE).stat().st_mtime
    assert restore(batches, fresh) == {"restored": 0, "present": 4, "kept": 1}
    assert not list(fresh.rglob("*.tmp")) and not list(batches.glob("*.tmp"))


def record_of(root, rel):
    return json.loads((root / f".snakemake/metadata/{metadata_key(rel)}").read_text())


def test_a_record_that_changes_alone_is_packed_again(run, tmp_path):
    """A job rerun with new params that wrote the same bytes: a fresh checkout must see the new
    params, or it reruns the job (and everything after it) for a change it already has."""
    batches = tmp_path / "batches"
    pack(run, batches)
    finished(run, GROUND, "{}", rule="ground_state")  # same file...
    record = run / f".snakemake/metadata/{metadata_key(GROUND)}"
    record.write_text(json.dumps({"rule": "ground_state", "params": ["new settings"]}))  # ...new record
    assert pack(run, batches) == "batch_002.tar.xz"
    entry = json.loads((batches / INDEX).read_text())["files"][GROUND]
    assert entry["batch"] == "batch_001.tar.xz" and entry["record_batch"] == "batch_002.tar.xz"
    assert pack(run, batches) is None
    fresh = tmp_path / "fresh"
    restore(batches, fresh)
    assert record_of(fresh, GROUND)["params"] == ["new settings"]
    assert record_of(fresh, SITE)["params"] == [SITE]


def test_pending_temporary_outputs_travel_until_consumed(run, tmp_path):
    """Cubes whose Bader job has not run yet are packed; once Bader consumed them they become a
    record only, and a later restore does not bring them back."""
    batches = tmp_path / "batches"
    finished(run, CUBE, "density", rule="ground_state")
    pack(run, batches)
    fresh = tmp_path / "fresh"
    restore(batches, fresh)
    assert (fresh / CUBE).read_text() == "density"
    (run / CUBE).unlink()  # the Bader job ran; Snakemake deleted the temporary file, kept its record
    assert pack(run, batches) is None  # nothing new to store, only the index changes
    index = json.loads((batches / INDEX).read_text())
    assert CUBE not in index["files"] and index["records"][CUBE]["batch"] == "batch_001.tar.xz"
    later = tmp_path / "later"
    restore(batches, later)
    assert not (later / CUBE).exists() and record_of(later, CUBE)["rule"] == "ground_state"


def test_an_index_written_before_records_were_tracked(run, tmp_path):
    batches = tmp_path / "batches"
    pack(run, batches)
    index = json.loads((batches / INDEX).read_text())  # rewrite it the way the first batches were indexed
    for entry in index["files"].values():
        entry.pop("record")
    index["records"] = {rel: e["batch"] for rel, e in index["records"].items()}
    (batches / INDEX).write_text(json.dumps(index))
    assert pack(run, batches) is None  # the records' digests come from the batch: nothing changed
    upgraded = json.loads((batches / INDEX).read_text())
    assert upgraded["files"][SITE]["record"] and upgraded["files"][LOG]["record"] is None
    assert upgraded["records"][CUBE]["sha256"]
    (run / f".snakemake/metadata/{metadata_key(CUBE)}").write_text('{"rule": "ground_state", "params": [2]}')
    assert pack(run, batches) == "batch_002.tar.xz"
    restore(batches, tmp_path / "fresh")
    assert record_of(tmp_path / "fresh", CUBE)["params"] == [2]


def test_a_damaged_batch_is_refused_by_name(run, tmp_path):
    batches = tmp_path / "batches"
    pack(run, batches)
    data = bytearray((batches / "batch_001.tar.xz").read_bytes())
    data[-20] ^= 0xFF
    (batches / "batch_001.tar.xz").write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match=r"batch_001\.tar\.xz: SHA-256 .* differs"):
        restore(batches, tmp_path / "fresh")
    assert not (tmp_path / "fresh" / SITE).exists()
    (batches / "batch_001.tar.xz").unlink()
    with pytest.raises(ReleaseError, match="names batch 'batch_001.tar.xz', which is missing"):
        restore(batches, tmp_path / "fresh")
    (batches / INDEX).write_text("[1, 2]")
    with pytest.raises(ReleaseError, match="index.json: not a batch index"):
        restore(batches, tmp_path / "fresh")


def test_the_command_line(run, tmp_path, capsys):
    batches = tmp_path / "batches"
    assert cli(["release", "pack", str(batches), "--workdir", str(run), "--only", "logs/*"]) == 0
    assert list(json.loads((batches / INDEX).read_text())["files"]) == [LOG]
    assert cli(["release", "restore", str(batches), "--workdir", str(tmp_path / "fresh")]) == 0
    assert "1 restored" in capsys.readouterr().out
    shutil.rmtree(batches)
    os.makedirs(batches)
    (batches / INDEX).write_text("{")
    assert cli(["release", "restore", str(batches)]) == 2
    assert "index.json: not a batch index" in capsys.readouterr().err


# --- the published release's files (siox_xanes.release.publish) ---

def site_files(root, cell, site, energies, delta=42.0, drop=None):
    """A site's spectrum.csv and site.json as rule core_hole_xanes writes them."""
    import numpy as np
    import pandas as pd

    from siox_xanes.release.publish import SITE_SCALARS

    folder = root / cell / f"site{site}"
    folder.mkdir(parents=True)
    mu = np.linspace(0.0, 1.0, len(energies))
    pd.DataFrame({"energy_rel_eV": energies, "energy_abs_unshifted_eV": energies + 1850.0,
                  "mu_x": mu, "mu_y": mu, "mu_z": mu, "mu_mean": mu}).to_csv(folder / "spectrum.csv", index=False)
    info = {"cell": cell, "site": site, **{k: 1.0 for k in SITE_SCALARS}, "delta_scf_eV": delta}
    info.pop(drop, None)
    (folder / "site.json").write_text(json.dumps(info))
    return folder / "spectrum.csv", folder / "site.json"


def test_raw_spectra_keep_each_site_on_xspectras_grid(tmp_path):
    import numpy as np
    import xarray as xr

    from siox_xanes.release.publish import raw_spectra, write_netcdf

    grid = np.linspace(-10, 50, 7)
    sites = [site_files(tmp_path, "x1.00_seed1", 3, grid, delta=41.5), site_files(tmp_path, "ref_alpha_quartz", 0, grid)]
    ds = raw_spectra(sites, atomic_correction_eV=1809.5, global_shift_eV=-13.2)
    assert ds.sizes == {"site": 2, "energy_rel": 7}
    assert list(ds["cell"].values) == ["x1.00_seed1", "ref_alpha_quartz"] and list(ds["atom_index"].values) == [3, 0]
    assert ds["x"].values[0] == 1.0 and np.isnan(ds["x"].values[1])
    assert float(ds["delta_scf_eV"][0]) == 41.5 and ds.attrs["global_shift_eV"] == -13.2
    assert ds.attrs["qe_version"] == "unknown"  # the fixture's records name none
    write_netcdf(ds, tmp_path / "raw.nc")
    with xr.open_dataset(tmp_path / "raw.nc") as back:
        assert back["mu_mean"].encoding["zlib"] and np.allclose(back["mu_mean"].values, ds["mu_mean"].values)


def test_raw_spectra_name_the_site_that_breaks_the_release(tmp_path):
    import numpy as np

    from siox_xanes.release.publish import ReleaseInputError, raw_spectra

    good = site_files(tmp_path, "x1.00_seed1", 3, np.linspace(-10, 50, 7))
    other_grid = site_files(tmp_path, "x1.00_seed1", 4, np.linspace(-10, 40, 7))
    with pytest.raises(ReleaseInputError, match=r"site4/spectrum.csv: energy_rel_eV grid differs"):
        raw_spectra([good, other_grid], 1809.5, 0.0)
    no_delta = site_files(tmp_path, "x1.00_seed1", 5, np.linspace(-10, 50, 7), drop="delta_scf_eV")
    with pytest.raises(ReleaseInputError, match=r"site5/site.json: fields \['delta_scf_eV'\] missing"):
        raw_spectra([good, no_delta], 1809.5, 0.0)


def test_bader_table_and_structures_of_a_release(tmp_path):
    from ase.build import bulk

    from siox_xanes.release.publish import ReleaseInputError, bader_table, read_structures, write_structures

    (tmp_path / "a.csv").write_text("cell,atom_index,symbol,bader_charge\nx0.00_seed1,0,Si,0.01\n")
    (tmp_path / "b.csv").write_text("cell,atom_index,symbol,bader_charge\nx2.00_seed1,0,Si,3.2\nx2.00_seed1,1,O,-1.6\n")
    table = bader_table([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert list(table["cell"]) == ["x0.00_seed1", "x2.00_seed1", "x2.00_seed1"]
    (tmp_path / "c.csv").write_text("cell,atom_index,charge\nx1.00_seed1,0,1.0\n")
    with pytest.raises(ReleaseInputError, match=r"c.csv: columns \['symbol', 'bader_charge'\] missing"):
        bader_table([tmp_path / "c.csv"])
    si = bulk("Si", "diamond", a=5.431, cubic=True)
    write_structures(tmp_path / "s.extxyz.xz", {"ref_diamond_si": si, "x0.00_seed1": si * (1, 1, 2)})
    back = read_structures(tmp_path / "s.extxyz.xz")
    assert list(back) == ["ref_diamond_si", "x0.00_seed1"] and len(back["x0.00_seed1"]) == 16
    assert abs(back["ref_diamond_si"].cell[0, 0] - 5.431) < 1e-9


def test_git_state_outside_a_checkout(tmp_path):
    from siox_xanes.release.publish import git_state

    assert git_state(tmp_path)["commit"].startswith("unknown")


def test_git_state_leaves_the_release_files_out_of_the_dirty_check(tmp_path):
    import subprocess

    from siox_xanes.release.publish import git_state

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "cube.nc").write_text("v1")
    (tmp_path / "code.py").write_text("a = 1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (tmp_path / "rel" / "cube.nc").unlink()  # the job rewrites its own outputs (Snakemake removes them first)
    state = git_state(tmp_path, exclude=[tmp_path / "rel" / "cube.nc"])
    assert len(state["commit"]) == 40 and state["uncommitted_changes"] is False
    assert git_state(tmp_path)["uncommitted_changes"] is True
    (tmp_path / "code.py").write_text("a = 2")  # a workflow file changed: the release says so
    assert git_state(tmp_path, exclude=[tmp_path / "rel" / "cube.nc"])["uncommitted_changes"] is True


def test_the_batches_keep_every_expensive_result_the_dag_makes():
    """A finished result missing from RESULT_GLOBS is lost with the machine (the cells' PDOS were,
    until a run packed them): every DFT, MD and Bader output path matches a glob."""
    from fnmatch import fnmatch

    from siox_xanes import layout
    from siox_xanes.release.batches import RECORD_GLOBS, RESULT_GLOBS

    expensive = [layout.CELL_PDOS.format(cell="x0.50_seed4"), layout.SITE_SUMMARY.format(cell="x1.00_seed1", site=3),
                 layout.SITE_SPECTRUM.format(cell="x1.00_seed1", site=3), layout.BADER_CHARGES.format(cell="x1.00_seed1"),
                 layout.GROUND_STATE_SUMMARY.format(cell="x1.00_seed1")]
    for path in expensive:
        assert any(fnmatch(path, g) for g in RESULT_GLOBS), path
    assert any(fnmatch("benchmarks/cell_pdos/x0.50_seed4.tsv", g) for g in RECORD_GLOBS)
