"""A data release's files beside the cubes: every site's raw spectrum, every structure,
every Bader charge, and the provenance a reader needs to trust and regenerate them.

The cubes hold spectra interpolated onto the workflow's grid after the global shift;
the raw-spectra file keeps what xspectra wrote (its own grid, relative to each site's
onset) with the Delta-SCF energies that place it, so that a user can redo the
alignment or the broadening without DFT.
"""

from __future__ import annotations

import json
import lzma
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import layout

# Columns of a site's spectrum.csv (xspectra's output, written by the core_hole_xanes rule).
SPECTRUM_COLUMNS = ("energy_rel_eV", "mu_x", "mu_y", "mu_z", "mu_mean")
# Scalars of a site's site.json carried per site, with their units.
SITE_SCALARS = {
    "delta_scf_eV": ("eV", "E_tot(core hole) - E_tot(ground state) of the cell"),
    "onset_unshifted_eV": ("eV", "absolute onset: Delta-SCF + atomic correction, before the global shift"),
    "core_hole_total_energy_eV": ("eV", "total energy of the core-hole SCF"),
    "ground_state_total_energy_eV": ("eV", "total energy of the cell's ground state"),
    "fermi_energy_eV": ("eV", "highest occupied level of the core-hole SCF"),
    "scf_iterations": ("1", "SCF iterations of the core-hole run"),
    "scf_wall_time_s": ("s", "pw.x wall time of the core-hole SCF"),
}
# xspectra writes its grid with a few significant digits: equal grids agree to this.
GRID_TOLERANCE_EV = 1e-4
NETCDF_COMPRESSION = {"zlib": True, "complevel": 6}


class ReleaseInputError(ValueError):
    pass


def read_site(spectrum_csv: str | Path, site_json: str | Path) -> tuple[dict, pd.DataFrame]:
    """One site's record and spectrum; a clear error names the file and what it lacks."""
    info = json.loads(Path(site_json).read_text())
    missing = [k for k in ("cell", "site", *SITE_SCALARS) if k not in info]
    if missing:
        raise ReleaseInputError(f"{site_json}: fields {missing} missing (a site record of rule core_hole_xanes expected)")
    table = pd.read_csv(spectrum_csv)
    absent = [c for c in SPECTRUM_COLUMNS if c not in table.columns]
    if absent:
        raise ReleaseInputError(f"{spectrum_csv}: columns {absent} missing (expected {list(SPECTRUM_COLUMNS)})")
    return info, table


def raw_spectra(sites: list[tuple[str | Path, str | Path]], atomic_correction_eV: float, global_shift_eV: float,
                attrs: dict | None = None) -> xr.Dataset:
    """Every site's spectrum on xspectra's own grid: dims (site, energy_rel).

    ``sites``: (spectrum.csv, site.json) per site. All sites must share one grid
    (the config's emin/emax/points); absolute energies of a site are
    ``energy_rel + onset_unshifted_eV + global_shift_eV``.
    """
    if not sites:
        raise ReleaseInputError("no site spectra to publish")
    grid, records, mu = None, [], {c: [] for c in SPECTRUM_COLUMNS[1:]}
    for spectrum_csv, site_json in sites:
        info, table = read_site(spectrum_csv, site_json)
        e = table["energy_rel_eV"].to_numpy(float)
        if grid is None:
            grid, first = e, spectrum_csv
        elif e.shape != grid.shape or np.abs(e - grid).max() > GRID_TOLERANCE_EV:
            raise ReleaseInputError(f"{spectrum_csv}: energy_rel_eV grid differs from that of {first} "
                                    f"({len(e)} vs {len(grid)} points): one release has one xspectra grid")
        records.append(info)
        for c in mu:
            mu[c].append(table[c].to_numpy(np.float32))
    cells = [str(r["cell"]) for r in records]
    composition = [float(layout.parse_glass_cell(c)[0]) if not layout.is_reference(c) else np.nan for c in cells]
    data = {
        name: (("site", "energy_rel"), np.asarray(values),
               {"long_name": f"xspectra absorption, {'mean of x, y, z' if name == 'mu_mean' else name[-1] + ' polarisation'}",
                "units": "1"})
        for name, values in mu.items()
    }
    for key, (units, long_name) in SITE_SCALARS.items():
        data[key] = ("site", np.asarray([r[key] for r in records], float), {"units": units, "long_name": long_name})
    ds = xr.Dataset(
        data,
        coords={
            "energy_rel": ("energy_rel", grid, {"units": "eV", "long_name": "energy relative to the site's onset (xspectra grid)"}),
            "cell": ("site", np.asarray(cells), {"long_name": "cell id: x{x}_seed{seed} or ref_{crystal}"}),
            "atom_index": ("site", np.asarray([int(r["site"]) for r in records]), {"long_name": "index of the absorbing Si in its cell"}),
            "x": ("site", np.asarray(composition), {"long_name": "composition x of SiOx (NaN: reference crystal)", "units": "1"}),
        },
        attrs={
            "title": "SiOx Si K-edge XANES per Si site on xspectra's grid, before alignment",
            "atomic_correction_eV": atomic_correction_eV,
            "global_shift_eV": global_shift_eV,
            "absolute_energy": "energy_rel + onset_unshifted_eV + global_shift_eV",
            # the pw.x versions the sites were computed with, as their records say
            "qe_version": "; ".join(sorted({str(r.get("qe_version", "unknown")) for r in records})),
            **(attrs or {}),
        },
    )
    return ds


def write_netcdf(ds: xr.Dataset, path: str | Path) -> None:
    """``ds`` with every data variable compressed (zlib)."""
    ds.to_netcdf(path, encoding={v: dict(NETCDF_COMPRESSION) for v in ds.data_vars})


def bader_table(paths: list[str | Path]) -> pd.DataFrame:
    """Every cell's Bader charges in one table (cell, atom_index, symbol, bader_charge)."""
    columns = ["cell", "atom_index", "symbol", "bader_charge"]
    frames = []
    for path in paths:
        table = pd.read_csv(path)
        absent = [c for c in columns if c not in table.columns]
        if absent:
            raise ReleaseInputError(f"{path}: columns {absent} missing (expected {columns})")
        frames.append(table[columns])
    return pd.concat(frames, ignore_index=True)


def write_structures(path: str | Path, structures: dict) -> None:
    """Every cell (name -> ase.Atoms) into one xz-compressed extended XYZ, each frame
    carrying its cell name in ``info['cell']``."""
    from ase.io import write

    with lzma.open(path, "wt") as fh:
        for cell, atoms in structures.items():
            atoms = atoms.copy()
            atoms.info["cell"] = cell
            write(fh, atoms, format="extxyz")


def read_structures(path: str | Path) -> dict:
    """The cells of a release's structures file, by name."""
    from ase.io import read

    with lzma.open(path, "rt") as fh:
        frames = read(fh, index=":", format="extxyz")
    return {str(a.info["cell"]): a for a in frames}


def read_structures_of(paths: list[str], cells: list[str]) -> dict:
    """The glass cells a rule reads, by name: a release's structures file (one path ending in .xz)
    or a run's files, one per cell in the order of ``cells``."""
    from ..io import read_structure

    if len(paths) == 1 and str(paths[0]).endswith(".xz"):
        return read_structures(paths[0])
    if len(paths) != len(cells):
        raise ValueError(f"{len(paths)} structure files for {len(cells)} cells")
    return {cell: read_structure(p) for cell, p in zip(cells, paths)}


def git_state(repository: str | Path, exclude=()) -> dict:
    """Commit of the workflow that made the release, and whether its files differed from it.

    ``exclude``: paths left out of that check, the release's own files, which
    the job itself rewrites (Snakemake removes them first).
    """
    repository = Path(repository).resolve()

    def git(*args):
        return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout.strip()

    skip = [f":(exclude){Path(p).resolve().relative_to(repository)}" for p in exclude
            if Path(p).resolve().is_relative_to(repository)]
    try:
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", *skip)
        return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown (not a git checkout)", "uncommitted_changes": None}


def provenance(config: dict, git: dict, versions: dict, pseudo_manifest: dict, counts: dict) -> dict:
    """What a reader of the release needs to trust it and to make it again."""
    paw = {name: {"file": entry["file"], "sha256": entry["sha256"], "ld1_input_sha256": entry.get("ld1_input_sha256")}
           for name, entry in pseudo_manifest.items() if isinstance(entry, dict) and "sha256" in entry}
    return {
        "workflow": git,
        "versions": versions,
        "pseudopotentials": paw,
        "atomic_correction_eV": pseudo_manifest.get("atomic_correction_eV"),
        "counts": counts,
        "files": dict(layout.RELEASE_FILES),
        "config": config,
    }
