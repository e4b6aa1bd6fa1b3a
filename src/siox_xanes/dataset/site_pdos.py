"""Each Si's PDOS variables from its cell's PDOS file (rule cell_pdos), gathered into a cube:
the site cube's computed sites (dataset.cubes) or every Si of the completed cube. Only numpy and
xarray: the forward stage's environment reads it too."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..layout import PDOS_VARIABLES
from . import DatasetError


class PdosRows:
    """The PDOS variables of the cubes, gathered cell by cell: each computed site's s and p PDOS
    and local gap, and per cell the means over every Si (the PDOS covers all of them)."""

    VARIABLES = PDOS_VARIABLES

    def __init__(self):
        self.site = {v: [] for v in self.VARIABLES}
        self.system = {v: [] for v in self.VARIABLES}
        self.energy = self.attrs = self.cell_file = None

    def open(self, path, cell: str, symbols: list[str]) -> None:
        with xr.open_dataset(path) as ds:
            ds = ds.load()
        if ds.attrs.get("cell") != cell:
            raise DatasetError(f"{path}: PDOS of cell {ds.attrs.get('cell')}, expected {cell}")
        si = [i for i, s in enumerate(symbols) if s == "Si"]
        if list(ds["atom_index"].values) != si:
            raise DatasetError(f"{path}: PDOS of atoms {list(ds['atom_index'].values)[:5]}..., expected the {len(si)} Si of {cell}")
        if self.energy is None:
            self.energy, self.attrs = ds["pdos_energy"], {v: dict(ds[v].attrs) for v in self.VARIABLES}
        elif not np.allclose(ds["pdos_energy"].values, self.energy.values):
            raise DatasetError(f"{path}: PDOS energy grid differs from the other cells'")
        self.cell_file, self.row_of = ds, {int(a): k for k, a in enumerate(ds["atom_index"].values)}
        for v in self.VARIABLES:
            values = ds[v].values
            self.system[v].append(np.nanmean(values, axis=0) if values.ndim == 2 else float(np.nanmedian(values)))

    def add_site(self, site: int) -> None:
        row = self.row_of[site]
        for v in self.VARIABLES:
            self.site[v].append(self.cell_file[v].values[row])

    def _coord(self) -> dict:
        return {"pdos_energy": ("pdos_energy", self.energy.values, dict(self.energy.attrs))}

    @staticmethod
    def _dims(dim, v):
        return (dim, "pdos_energy") if v.startswith("pdos_") else (dim,)

    def into_sites(self, sites: xr.Dataset) -> xr.Dataset:
        """``sites`` with the added sites' variables, in the order they were added."""
        n = len(self.site["local_gap"])
        if n != sites.sizes["site"]:
            raise DatasetError(f"PDOS of {n} sites for a cube of {sites.sizes['site']}")
        return sites.assign_coords(self._coord()).assign(
            {v: (self._dims("site", v), np.asarray(self.site[v]), self.attrs[v]) for v in self.VARIABLES})

    def into(self, sites: xr.Dataset, system: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
        sites = self.into_sites(sites)
        system = system.assign_coords(self._coord()).assign(
            {v: (self._dims("system", v), np.asarray(self.system[v]),
                 {**self.attrs[v], "long_name": ("mean" if v.startswith("pdos_") else "median") + " over every Si of the cell: "
                  + self.attrs[v].get("long_name", v)}) for v in self.VARIABLES})
        return sites, system


def with_site_pdos(ds: xr.Dataset, files: dict, symbols: dict) -> xr.Dataset:
    """``ds`` (dimension ``site`` with coordinates ``cell`` and ``atom_index``, each cell's sites
    together) with every site's PDOS variables from its cell's PDOS file (``files``: cell -> path;
    ``symbols``: cell -> chemical symbols, to check the file covers the cell's Si)."""
    cells, atoms = ds["cell"].values.astype(str), ds["atom_index"].values
    order = list(dict.fromkeys(cells))
    if any(np.any(np.diff(np.flatnonzero(cells == c)) != 1) for c in order):
        raise DatasetError("with_site_pdos: the sites of each cell must be contiguous")
    missing = sorted(set(order) - set(files))
    if missing:
        raise DatasetError(f"no PDOS file for cells {missing[:5]}")
    rows = PdosRows()
    for cell in order:
        rows.open(files[cell], cell, symbols[cell])
        for atom in atoms[cells == cell]:
            rows.add_site(int(atom))
    return rows.into_sites(ds)
