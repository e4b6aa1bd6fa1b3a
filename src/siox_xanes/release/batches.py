"""Finished results of the expensive stages, kept as compressed batches in the repository.

A long run (hundreds of DFT sites over several sessions, possibly on fresh
machines) keeps what it has finished by packing it into ``batch_NNN.tar.xz``
files under a release folder and committing them; a fresh checkout restores
them before Snakemake builds its DAG and resumes from there.

What makes Snakemake accept a restored file as done, and nothing more:

* the file itself and Snakemake's metadata record of the job that wrote it
  (params, input list, software environment), so that a changed setting still
  reruns exactly the jobs it affects;
* one modification time for everything restored, later than the checkout, so
  that no repository file (a rule script, a PAW generation input) looks newer
  than the results made from it.

A result file is packed only when Snakemake recorded it as finished (its
metadata record exists and it is not marked incomplete); logs and benchmark
tables are packed as they are and packed again when they change. A record is
packed again when it changes while its file does not (a job rerun with new
params that wrote the same bytes): a fresh checkout must compare the config
with the latest record, not the first. The index records the SHA-256 of every
file and record, the batch holding each one's latest version, and each batch's
own SHA-256: a damaged batch is refused by name, and a local file that differs
from the release is never overwritten.

Temporary outputs that a pending job still needs (a ground state's density
cubes before its Bader analysis ran) are packed while they exist: without them
a fresh checkout would have to redo the ground state, and with it every
finished site of the cell. Once consumed they leave the index's files and stay
as records only, so that a restore does not bring them back.

Standard library only: the Snakefile restores batches before the DAG is built.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path

from .. import layout

INDEX = "index.json"
METADATA = ".snakemake/metadata"
INCOMPLETE = ".snakemake/incomplete"
# Results of the stages a rerun is expensive for (MD, dataset generation, DFT, Bader, PDOS).
RESULT_GLOBS = (
    f"{layout.PSEUDO_DIR}/*",
    f"{layout.ULTRASOFT_PSEUDO_DIR}/*",
    *map(layout.as_glob, (layout.REFERENCE_STRUCTURE, f"{layout.GLASS_DIR}/*", layout.GROUND_STATE_SUMMARY,
                          layout.BADER_CHARGES, layout.SITE_SPECTRUM, layout.SITE_SUMMARY, layout.CELL_PDOS)),
)
# Their logs (QE's own outputs included) and benchmark tables: provenance and cost.
RECORD_GLOBS = tuple(
    f"{folder}/{rule}/*"
    for folder, rules in (
        ("logs", ("random_network", "melt_quench", "validate_cell", "pseudopotentials", "reference_structure",
                  "ground_state", "bader_charges", "core_hole_xanes", "cell_pdos")),
        ("benchmarks", ("melt_quench", "ground_state", "bader_charges", "core_hole_xanes", "cell_pdos")),
    )
    for rule in rules
)
# Temporary results (Snakemake deletes them once their consumers ran): packed only while present.
TEMPORARY_GLOBS = tuple(map(layout.as_glob, (layout.RHO_VALENCE, layout.RHO_ALL_ELECTRON)))


class ReleaseError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def metadata_key(path: str) -> str:
    """Where Snakemake's file persistence keeps the record of output ``path`` (relative to the
    working directory): urlsafe base64 of the path, in pieces that fit a file name."""
    b64 = base64.urlsafe_b64encode(path.encode()).decode()
    max_len = 255
    pieces = [b64[i:i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    return "/".join(["@" + p for p in pieces[:-1]] + [pieces[-1]])


def read_index(batches: Path) -> dict:
    """The batch index: {"batches": {name: sha256}, "files": {path: {"batch", "sha256",
    "record", "record_batch"}}, "records": {path of an output that exists only as Snakemake's
    record: {"batch", "sha256"}}}. "record" is the SHA-256 of the file's metadata record and
    "record_batch" the batch holding it, when that is not the file's own batch; indexes
    written before records were tracked lack both, and name a records-only entry's batch alone."""
    path = Path(batches) / INDEX
    if not path.exists():
        return {"batches": {}, "files": {}, "records": {}}
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError:
        index = None
    if not (isinstance(index, dict) and isinstance(index.get("batches"), dict) and isinstance(index.get("files"), dict)):
        raise ReleaseError(f"{path}: not a batch index (expected JSON with 'batches' and 'files' objects)")
    index["records"] = {rel: entry if isinstance(entry, dict) else {"batch": entry}
                        for rel, entry in index.get("records", {}).items()}
    return index


def _write_index(batches: Path, index: dict) -> None:
    _write_atomic(batches / INDEX, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())


def _record_batch(entry: dict) -> str:
    return entry.get("record_batch", entry["batch"])


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def owner_of(record_key: str) -> str:
    """The output path a metadata record (its path below the metadata folder) belongs to."""
    return base64.urlsafe_b64decode(record_key.replace("/", "").replace("@", "")).decode()


def _read_rule(record: Path) -> str | None:
    try:
        return json.loads(record.read_text()).get("rule")
    except (OSError, ValueError, AttributeError):
        return None


def absent_outputs(workdir: Path) -> dict[tuple[str, str], list[str]]:
    """(folder, rule) -> outputs that Snakemake recorded but that no longer exist (temporary
    files, such as a ground state's density cubes). A job is compared with the config
    (params, inputs) only when every one of its outputs has its record, so these records
    travel with the results of the same job."""
    meta = Path(workdir) / METADATA
    found: dict[tuple[str, str], list[str]] = {}
    if not meta.is_dir():
        return found
    for record in meta.rglob("*"):
        if not record.is_file() or record.name.startswith("@"):
            continue
        key = record.relative_to(meta).as_posix()
        owner = owner_of(key)
        if not (Path(workdir) / owner).exists():
            rule = _read_rule(record)
            if rule:
                found.setdefault((str(Path(owner).parent), rule), []).append(owner)
    return found


def finished_files(workdir: Path) -> list[str]:
    """Result files Snakemake recorded as finished (temporary ones while they exist), and every
    log and benchmark table, relative to ``workdir``."""
    workdir = Path(workdir)
    found = []
    for pattern in RESULT_GLOBS + TEMPORARY_GLOBS:
        for p in sorted(workdir.glob(pattern)):
            rel = p.relative_to(workdir).as_posix()
            if p.is_file() and (workdir / METADATA / metadata_key(rel)).is_file() \
                    and not (workdir / INCOMPLETE / metadata_key(rel)).exists():
                found.append(rel)
    for pattern in RECORD_GLOBS:
        found += [p.relative_to(workdir).as_posix() for p in sorted(workdir.glob(pattern)) if p.is_file()]
    return found


def _record_digest(workdir: Path, rel: str) -> str | None:
    record = workdir / METADATA / metadata_key(rel)
    return sha256_of(record) if record.is_file() else None


def _fill_legacy_record_digests(batches: Path, index: dict) -> None:
    """Index entries written before records were tracked get the SHA-256 of the record their
    batch holds (read once from the batches; an entry whose batch holds none gets None)."""
    legacy: dict[str, list[tuple[str, dict]]] = {}
    for rel, entry in index["files"].items():
        if "record" not in entry:
            legacy.setdefault(entry["batch"], []).append((rel, entry))
    for rel, entry in index["records"].items():
        if "sha256" not in entry:
            legacy.setdefault(entry["batch"], []).append((rel, entry))
    for name, entries in sorted(legacy.items()):
        digests = {}
        with tarfile.open(batches / name, mode="r:xz") as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(METADATA + "/"):
                    owner = owner_of(member.name[len(METADATA) + 1:])
                    digests[owner] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
        for rel, entry in entries:
            entry["record" if rel in index["files"] else "sha256"] = digests.get(rel)


def pack(workdir: Path, batches: Path, only: list[str] | None = None) -> str | None:
    """Pack every finished file of ``workdir`` that the index lacks or holds in another version,
    and every changed record, into the next batch; returns the batch's name, or None when there
    is nothing new. A temporary file of the index that is gone (consumed) becomes a records-only
    entry.

    ``only``: fnmatch patterns restricting the files considered (e.g. one composition)."""
    workdir, batches = Path(workdir), Path(batches)
    batches.mkdir(parents=True, exist_ok=True)
    index = read_index(batches)
    _fill_legacy_record_digests(batches, index)

    def considered(rel):
        return not only or any(fnmatch.fnmatch(rel, pat) for pat in only)

    for rel in [r for r in index["files"] if considered(r)]:
        entry = index["files"][rel]
        if any(fnmatch.fnmatch(rel, pat) for pat in TEMPORARY_GLOBS) and not (workdir / rel).exists() \
                and entry.get("record"):
            index["records"][rel] = {"batch": _record_batch(entry), "sha256": entry["record"]}
            del index["files"][rel]
    new_files, new_records = {}, {}
    jobs = set()  # (folder, rule) of every packed result: their consumed outputs' records travel along
    for rel in finished_files(workdir):
        if not considered(rel):
            continue
        entry = index["files"].get(rel, {})
        digest = sha256_of(workdir / rel)
        if entry.get("sha256") != digest:
            new_files[rel] = digest
        record = _record_digest(workdir, rel)
        if record is not None:
            jobs.add((str(Path(rel).parent), _read_rule(workdir / METADATA / metadata_key(rel))))
            if rel in new_files or entry.get("record") != record:
                new_records[rel] = record
    for (folder, rule), owners in absent_outputs(workdir).items():
        for rel in owners:
            if (folder, rule) in jobs and considered(rel) and rel not in index["files"]:
                record = _record_digest(workdir, rel)
                if index["records"].get(rel, {}).get("sha256") != record:
                    new_records[rel] = record
    if not (new_files or new_records):
        _write_index(batches, index)
        return None
    name = f"batch_{len(index['batches']) + 1:03d}.tar.xz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for rel in sorted(new_files):
            tar.add(workdir / rel, arcname=rel, recursive=False)
        for rel in sorted(new_records):
            tar.add(workdir / METADATA / metadata_key(rel), arcname=f"{METADATA}/{metadata_key(rel)}", recursive=False)
    data = buf.getvalue()
    _write_atomic(batches / name, data)  # the batch first: an index never names a missing batch
    index["batches"][name] = hashlib.sha256(data).hexdigest()
    for rel, digest in new_files.items():
        index["files"][rel] = {"batch": name, "sha256": digest, "record": None}
    for rel, record in new_records.items():
        if rel in index["files"]:
            entry = index["files"][rel]
            entry["record"] = record
            if entry["batch"] == name:
                entry.pop("record_batch", None)
            else:
                entry["record_batch"] = name
        else:
            index["records"][rel] = {"batch": name, "sha256": record}
    _write_index(batches, index)
    return name


def restore(batches: Path, workdir: Path) -> dict:
    """Bring every file of the index that ``workdir`` lacks back from its batch, with the latest
    record of the job that wrote it, and the records of consumed temporary outputs.

    Returns counts: restored, present (same content), kept (a local file that differs
    from the release is left as it is). Restored files share one modification time."""
    batches, workdir = Path(batches), Path(workdir)
    index = read_index(batches)
    counts = {"restored": 0, "present": 0, "kept": 0}
    wanted: dict[str, dict[str, str | None]] = {}  # batch -> {member name: expected SHA-256}

    def want_record(rel, name, digest):
        if not (workdir / METADATA / metadata_key(rel)).exists():
            wanted.setdefault(name, {})[f"{METADATA}/{metadata_key(rel)}"] = digest

    for rel, entry in index["files"].items():
        local = workdir / rel
        if not local.exists():
            wanted.setdefault(entry["batch"], {})[rel] = entry["sha256"]
        elif sha256_of(local) == entry["sha256"]:
            counts["present"] += 1
        else:
            counts["kept"] += 1  # and its record stays the local one
            continue
        if entry.get("record", True) is not None:  # None: a file Snakemake keeps no record of (a log)
            want_record(rel, _record_batch(entry), entry.get("record"))
    for rel, entry in index["records"].items():  # outputs that exist only as a record
        if not (workdir / rel).exists():
            want_record(rel, entry["batch"], entry.get("sha256"))
    if not wanted:
        return counts
    now = time.time()
    restored = []
    for name in sorted(wanted):
        path = batches / name
        if not path.is_file():
            raise ReleaseError(f"{batches / INDEX}: names batch '{name}', which is missing from {batches}")
        digest = sha256_of(path)
        if digest != index["batches"].get(name):
            raise ReleaseError(f"{path}: SHA-256 {digest} differs from the index's {index['batches'].get(name)} "
                               f"(a damaged or replaced batch; Git LFS pointer?)")
        members = wanted[name]
        with tarfile.open(path, mode="r:xz") as tar:
            for member in tar.getmembers():
                if member.name not in members or not member.isfile():
                    continue
                data = tar.extractfile(member).read()
                expected = members[member.name]
                if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                    raise ReleaseError(f"{path}: '{member.name}' differs from its SHA-256 in the index")
                dest = workdir / member.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                _write_atomic(dest, data)
                restored.append(dest)
                counts["restored"] += not member.name.startswith(METADATA + "/")
    for dest in restored:
        os.utime(dest, (now, now))
    return counts
