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
tables are packed as they are and packed again when they change. The index
records every file's SHA-256 and the batch holding its latest version, and
each batch's own SHA-256: a damaged batch is refused by name, and a local file
that differs from the release is never overwritten.

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

INDEX = "index.json"
METADATA = ".snakemake/metadata"
INCOMPLETE = ".snakemake/incomplete"
# Results of the stages a rerun is expensive for (MD, PAW generation, DFT, Bader).
RESULT_GLOBS = (
    "results/pseudo/*",
    "results/references/*.extxyz",
    "results/structures/x*/seed*/*",
    "results/xanes/*/ground_state.json",
    "results/xanes/*/bader.csv",
    "results/xanes/*/site*/spectrum.csv",
    "results/xanes/*/site*/site.json",
)
# Their logs (QE's own outputs included) and benchmark tables: provenance and cost.
RECORD_GLOBS = tuple(
    f"{folder}/{rule}/*"
    for folder, rules in (
        ("logs", ("random_network", "melt_quench", "validate_cell", "pseudopotentials", "reference_structure",
                  "ground_state", "bader_charges", "core_hole_xanes")),
        ("benchmarks", ("melt_quench", "ground_state", "bader_charges", "core_hole_xanes")),
    )
    for rule in rules
)


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
    """The batch index: {"batches": {name: sha256}, "files": {path: {"batch", "sha256"}},
    "records": {path of an output that exists only as Snakemake's record: batch}}."""
    path = Path(batches) / INDEX
    if not path.exists():
        return {"batches": {}, "files": {}}
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError:
        index = None
    if not (isinstance(index, dict) and isinstance(index.get("batches"), dict) and isinstance(index.get("files"), dict)):
        raise ReleaseError(f"{path}: not a batch index (expected JSON with 'batches' and 'files' objects)")
    return index


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
    """Result files Snakemake recorded as finished, and every log and benchmark table, relative to ``workdir``."""
    workdir = Path(workdir)
    found = []
    for pattern in RESULT_GLOBS:
        for p in sorted(workdir.glob(pattern)):
            rel = p.relative_to(workdir).as_posix()
            if p.is_file() and (workdir / METADATA / metadata_key(rel)).is_file() \
                    and not (workdir / INCOMPLETE / metadata_key(rel)).exists():
                found.append(rel)
    for pattern in RECORD_GLOBS:
        found += [p.relative_to(workdir).as_posix() for p in sorted(workdir.glob(pattern)) if p.is_file()]
    return found


def pack(workdir: Path, batches: Path, only: list[str] | None = None) -> str | None:
    """Pack every finished file of ``workdir`` that the index lacks or holds in another version
    into the next batch; returns the batch's name, or None when there is nothing new.

    ``only``: fnmatch patterns restricting the files considered (e.g. one composition)."""
    workdir, batches = Path(workdir), Path(batches)
    batches.mkdir(parents=True, exist_ok=True)
    index = read_index(batches)
    new = {}
    for rel in finished_files(workdir):
        if only and not any(fnmatch.fnmatch(rel, pat) for pat in only):
            continue
        digest = sha256_of(workdir / rel)
        if index["files"].get(rel, {}).get("sha256") != digest:
            new[rel] = digest
    if not new:
        return None
    name = f"batch_{len(index['batches']) + 1:03d}.tar.xz"
    absent = absent_outputs(workdir)
    records = set()
    for rel in new:
        record = workdir / METADATA / metadata_key(rel)
        if record.is_file():
            records.add(rel)
            records.update(absent.get((str(Path(rel).parent), _read_rule(record)), []))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for rel in sorted(new):
            tar.add(workdir / rel, arcname=rel, recursive=False)
        for rel in sorted(records):
            tar.add(workdir / METADATA / metadata_key(rel), arcname=f"{METADATA}/{metadata_key(rel)}", recursive=False)
    data = buf.getvalue()
    _write_atomic(batches / name, data)  # the batch first: an index never names a missing batch
    index["batches"][name] = hashlib.sha256(data).hexdigest()
    for rel, digest in new.items():
        index["files"][rel] = {"batch": name, "sha256": digest}
    for rel in records - set(new):
        index.setdefault("records", {})[rel] = name
    _write_atomic(batches / INDEX, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())
    return name


def restore(batches: Path, workdir: Path) -> dict:
    """Bring every file of the index that ``workdir`` lacks back from its batch.

    Returns counts: restored, present (same content), kept (a local file that differs
    from the release is left as it is). Restored files share one modification time."""
    batches, workdir = Path(batches), Path(workdir)
    index = read_index(batches)
    counts = {"restored": 0, "present": 0, "kept": 0}
    wanted: dict[str, list[str]] = {}
    for rel, entry in index["files"].items():
        local = workdir / rel
        if not local.exists():
            wanted.setdefault(entry["batch"], []).append(rel)
        elif sha256_of(local) == entry["sha256"]:
            counts["present"] += 1
        else:
            counts["kept"] += 1
    for rel, name in index.get("records", {}).items():  # outputs that exist only as a record
        if not (workdir / rel).exists() and not (workdir / METADATA / metadata_key(rel)).exists():
            wanted.setdefault(name, []).append(rel)
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
        members = set(wanted[name])
        with tarfile.open(path, mode="r:xz") as tar:
            for member in tar.getmembers():
                rel = member.name
                is_record = rel.startswith(METADATA + "/")
                owner = owner_of(rel[len(METADATA) + 1:]) if is_record else rel
                if owner not in members or not member.isfile():
                    continue
                dest = workdir / rel
                if is_record and dest.exists():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member).read()
                if not is_record and hashlib.sha256(data).hexdigest() != index["files"][rel]["sha256"]:
                    raise ReleaseError(f"{path}: '{rel}' differs from its SHA-256 in the index")
                _write_atomic(dest, data)
                restored.append(dest)
                counts["restored"] += not is_record
    for dest in restored:
        os.utime(dest, (now, now))
    return counts
