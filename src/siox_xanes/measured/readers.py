"""Measured Si K-edge spectra from the files beamlines write: XDI, Athena projects, text/CSV.

XDI and Athena files are read with xraylarch (``larch.io.read_xdi``,
``read_athena``). xraylarch is lenient: a ragged XDI table or a NaN reads
without complaint and a truncated Athena project can raise a bare
IndexError, so every file is checked here before and after it: the error
names the file and what is wrong with it (:class:`SpectrumFileError`).
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ELEMENT, EDGE = "Si", "K"
SI_K_EDGE_EV = 1839.0
# Energies below this cannot be eV at the Si K edge: a file in keV has ~1.8.
MIN_PLAUSIBLE_EV = 100.0
MIN_POINTS = 10
# XDI column names that hold the sample's mu(E) directly, in order of preference.
MU_COLUMNS = ("mu", "mutrans", "mufluor", "norm", "normtrans", "normfluor")
# The reference channel measured with the sample (a foil or powder behind it): never the sample.
REFERENCE_COLUMNS = ("muref", "mu_ref", "mureference", "normref", "iref", "irefer", "i_ref", "i2")


class SpectrumFileError(ValueError):
    """A spectrum file that cannot be used; the message names the file and the problem."""


@dataclass
class Spectrum:
    """One measured spectrum: energy (eV, increasing) and mu(E) in the file's units."""

    energy: np.ndarray
    mu: np.ndarray
    source: str
    label: str
    element: str | None = None
    edge: str | None = None
    metadata: dict = field(default_factory=dict)


def _fail(path, problem: str):
    raise SpectrumFileError(f"{path}: {problem}")


def check_element_edge(path, element: str | None, edge: str | None) -> None:
    """Where a file names its element and edge, they must be Si and K."""
    if element and element.strip().capitalize() != ELEMENT:
        _fail(path, f"element '{element.strip()}' (edge '{(edge or '?').strip()}'): expected Si K-edge data")
    if edge and edge.strip().upper() != EDGE:
        _fail(path, f"edge '{edge.strip()}' of {element or 'an unnamed element'}: expected the Si K edge")


def check_arrays(path, energy, mu, unit: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Finite, strictly increasing energies in eV near the Si K edge; finite mu."""
    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    if energy.ndim != 1 or energy.shape != mu.shape:
        _fail(path, f"energy and mu have shapes {energy.shape} and {mu.shape}")
    if len(energy) < MIN_POINTS:
        _fail(path, f"{len(energy)} data points: expected at least {MIN_POINTS} (empty or truncated file?)")
    if unit and unit.strip().lower() == "kev":
        _fail(path, "energies are in keV: expected eV (multiply the energy column by 1000)")
    bad = np.flatnonzero(~np.isfinite(energy) | ~np.isfinite(mu))
    if len(bad):
        _fail(path, f"NaN or infinite value in data row {bad[0] + 1} (energy {energy[bad[0]]}, mu {mu[bad[0]]})")
    if energy.max() < MIN_PLAUSIBLE_EV:
        _fail(path, f"energies {energy.min():g}-{energy.max():g}: these look like keV, expected eV "
                    f"(the Si K edge is at {SI_K_EDGE_EV:.0f} eV)")
    step = np.diff(energy)
    if (step == 0).any():
        i = int(np.flatnonzero(step == 0)[0])
        _fail(path, f"duplicate energy {energy[i]:.4f} eV at data rows {i + 1} and {i + 2}")
    if (step < 0).any():
        i = int(np.flatnonzero(step < 0)[0])
        _fail(path, f"energies not increasing: {energy[i]:.4f} then {energy[i + 1]:.4f} eV at data rows {i + 1}-{i + 2}")
    return energy, mu


def _is_gzip(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _first_line(path) -> str:
    with open(path, "rb") as fh:
        return fh.readline(200).decode("latin-1").strip()


def file_format(path) -> str:
    """'xdi', 'athena' or 'text' from the file's content (not its name)."""
    path = Path(path)
    if path.is_dir():
        _fail(path, "is a directory: expected a spectrum file (XDI, Athena project or two-column text)")
    if not path.is_file():
        _fail(path, "no such file")
    if path.stat().st_size == 0:
        _fail(path, "empty file")
    if _is_gzip(path):
        return "athena"
    first = _first_line(path).lstrip("#").strip()
    if first.upper().startswith("XDI/"):
        return "xdi"
    if first.lower().startswith(("athena project", "larix project", "{")):
        return "athena"
    return "text"


def _xdi_table_check(path) -> None:
    """What read_xdi lets through: a data row with the wrong number of fields or a non-number."""
    columns, rows = 0, 0
    with open(path, encoding="latin-1") as fh:
        for n, line in enumerate(fh, start=1):
            s = line.strip()
            if not s:
                continue
            if s.startswith("#"):
                key = s.lstrip("#").strip().split(":", 1)[0].strip().lower()
                if key.startswith("column.") and key[7:].isdigit():
                    columns = max(columns, int(key[7:]))
                continue
            fields = s.split()
            if columns and len(fields) != columns:
                _fail(path, f"line {n}: {len(fields)} values, the header declares {columns} columns")
            for v in fields:
                try:
                    x = float(v)
                except ValueError:
                    _fail(path, f"line {n}: '{v}' is not a number")
                if not math.isfinite(x):
                    _fail(path, f"line {n}: NaN or infinite value '{v}'")
            rows += 1
    if rows < MIN_POINTS:
        _fail(path, f"{rows} data rows: expected at least {MIN_POINTS} (empty or truncated XDI file?)")


def _xdi_mu(path, group) -> np.ndarray:
    labels = [str(a).lower() for a in group.array_labels]
    cols = {lab: np.asarray(getattr(group, lab), float) for lab in labels if hasattr(group, lab)}
    for name in MU_COLUMNS:
        if name in cols:
            return cols[name]
    # a sample channel is required; the reference channel alone is refused below by name
    if "i0" in cols and "itrans" in cols:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(cols["i0"] / cols["itrans"])
    if "i0" in cols and ("ifluor" in cols or "if" in cols):
        with np.errstate(divide="ignore", invalid="ignore"):
            return cols.get("ifluor", cols.get("if")) / cols["i0"]
    reference = [lab for lab in labels if lab in REFERENCE_COLUMNS]
    hint = f" ({', '.join(reference)}: the reference channel, never read as the sample)" if reference else ""
    _fail(path, f"no mu(E) column of the sample: found {labels}{hint}, expected one of {list(MU_COLUMNS)} "
                "or i0 with itrans/ifluor")


def read_xdi_file(path) -> list[Spectrum]:
    from .larch_import import load

    load()
    from larch.io import read_xdi

    _xdi_table_check(path)
    try:
        group = read_xdi(str(path))
    except Exception as exc:  # xraylarch raises ValueError, IndexError, ... for broken files
        _fail(path, f"not a readable XDI file ({type(exc).__name__}: {str(exc).strip().splitlines()[-1]})")
    element, edge = getattr(group, "element", None), getattr(group, "edge", None)
    check_element_edge(path, element, edge)
    labels = [str(a).lower() for a in group.array_labels]
    if "energy" not in labels:
        _fail(path, f"no 'energy' column: found {labels}")
    units = dict(zip(labels, getattr(group, "array_units", [""] * len(labels))))
    energy, mu = check_arrays(path, group.energy, _xdi_mu(path, group), unit=units.get("energy"))
    sample = getattr(getattr(group, "attrs", None), "sample", None)
    return [Spectrum(energy, mu, str(path), Path(path).stem, element, edge,
                     {"format": "xdi", "sample": dict(sample) if isinstance(sample, dict) else None})]


def read_athena_file(path) -> list[Spectrum]:
    from .larch_import import load

    load()
    from larch.io import read_athena

    if _is_gzip(path):
        try:
            with gzip.open(path, "rb") as fh:
                fh.read()
        except (EOFError, OSError) as exc:
            _fail(path, f"truncated or corrupt Athena project ({exc})")
    try:
        project = read_athena(str(path), do_preedge=False, do_bkg=False, do_fft=False)
    except Exception as exc:  # bare IndexError/KeyError on truncated projects
        _fail(path, f"not a readable Athena project ({type(exc).__name__}: {exc})")
    groups = getattr(project, "groups", None) or {}
    if not groups:
        _fail(path, "Athena project holds no spectra")
    out = []
    for name, group in groups.items():
        where = f"{path} [group '{name}']"
        if getattr(group, "datatype", "xas") not in ("xas", None):
            _fail(where, f"datatype '{group.datatype}', expected XAS data")
        check_element_edge(where, getattr(group, "atsym", None), getattr(group, "edge", None))
        energy, mu = check_arrays(where, group.energy, group.mu)
        out.append(Spectrum(energy, mu, str(path), str(name), getattr(group, "atsym", None),
                            getattr(group, "edge", None), {"format": "athena"}))
    return out


def read_text_file(path) -> list[Spectrum]:
    """Exactly two columns (energy in eV, mu), whitespace or comma separated; '#' comments and one
    header line allowed (a header naming keV is refused)."""
    rows, header = [], None
    with open(path, encoding="latin-1") as fh:
        for n, line in enumerate(fh, start=1):
            s = line.split("#", 1)[0].strip()
            if not s:
                continue
            fields = s.replace(",", " ").replace(";", " ").split()
            try:
                values = [float(v) for v in fields]
            except ValueError:
                if not rows and header is None:
                    header = fields
                    continue
                _fail(path, f"line {n}: '{s[:60]}' is not numeric")
            if len(values) != 2:
                _fail(path, f"line {n}: {len(values)} values, expected two columns (energy in eV, mu); "
                            "write other layouts as XDI, which names its columns")
            rows.append(values)
    if not rows:
        _fail(path, "no data rows")
    data = np.asarray(rows, float)
    unit = "keV" if header and "kev" in " ".join(header).lower() else None
    energy, mu = check_arrays(path, data[:, 0], data[:, 1], unit=unit)
    return [Spectrum(energy, mu, str(path), Path(path).stem, metadata={"format": "text"})]


READERS = {"xdi": read_xdi_file, "athena": read_athena_file, "text": read_text_file}


def read_spectra(path) -> list[Spectrum]:
    """Every spectrum in a file (an Athena project may hold several), checked."""
    return READERS[file_format(path)](Path(path))
