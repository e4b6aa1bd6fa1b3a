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
    assert index["records"] == {CUBE: "batch_001.tar.xz"}  # without it the ground state's params go unchecked

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
