"""Training across fidelities: a lower-fidelity release's site spectra on the training side only.

With ``dataset.lower_fidelity`` (a release folder, e.g. v2's Γ-only spectra of the same cells)
the learning stage reads a pooled site cube: the run's own sites (``fidelity`` 0) and, for the
same structures, the release's sites (``fidelity`` 1), each of the latter with this run's targets.
Lower-fidelity rows train, never test, calibrate or validate: every split is drawn over the own
rows, and a lower-fidelity row joins a training side only where it cannot leak a held-out answer
(``SiteKeys.training``). Without the option every row is own, and each function behaves as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..layout import FIDELITY, MODEL_INPUT, PDOS_VARIABLES, TARGETS

OWN, LOWER = 0, 1  # values of the cube's fidelity variable
# How far a target of a site in both cubes may differ and still be the same site's. Bader charges
# are integrals of a grid density: two ground states of one structure gave charges up to 2.4e-4 e
# apart (v2 vs v3's recomputed ground states, 52 of 1465 atoms above 1e-9 e); another structure
# moves them by tenths. Everything else (RDFs, first shells) comes from the structure alone.
SAME_SITE_ATOL = {"bader_charge": 1e-3}
DEFAULT_SAME_SITE_ATOL = 1e-6


class FidelityError(ValueError):
    """The lower-fidelity release does not match the run's sites; the message says where."""


@dataclass(frozen=True)
class SiteKeys:
    """Who each row is: its cell, its atom and whether it is a lower-fidelity copy."""

    cell: np.ndarray
    atom: np.ndarray
    lower: np.ndarray  # bool

    @classmethod
    def of(cls, ds: xr.Dataset) -> "SiteKeys":
        n = ds.sizes["site"]
        if FIDELITY not in ds:  # a plain site cube: every row its own site
            cell = ds["cell"].values if "cell" in ds.coords else np.arange(n)
            return cls.own_only(cell)
        return cls(np.asarray(ds["cell"].values).astype(str), np.asarray(ds["atom_index"].values, int),
                   np.asarray(ds[FIDELITY].values) == LOWER)

    @classmethod
    def own_only(cls, cells) -> "SiteKeys":
        cells = np.asarray(cells).astype(str)
        return cls(cells, np.arange(len(cells)), np.zeros(len(cells), bool))

    def own(self) -> np.ndarray:
        return np.flatnonzero(~self.lower)

    def subset(self, rows) -> "SiteKeys":
        return SiteKeys(self.cell[rows], self.atom[rows], self.lower[rows])

    def training(self, train, held_out) -> np.ndarray:
        """``train`` (own rows) and the lower-fidelity rows that may train beside the held-out own
        rows: not a held-out site's copy, and of a cell with own rows in ``train`` (so a split by
        cell or composition keeps its held-out cells' copies out too)."""
        train = np.asarray(train, int)
        if not self.lower.any():
            return train
        held = set(zip(self.cell[held_out], self.atom[held_out]))
        cells = set(self.cell[train])
        extra = [i for i in np.flatnonzero(self.lower)
                 if self.cell[i] in cells and (self.cell[i], self.atom[i]) not in held]
        return np.sort(np.concatenate([train, np.asarray(extra, int)]))


def _target_variables(ds: xr.Dataset) -> list[str]:
    """The own cube's target variables that are not the PDOS block's (those come by site)."""
    names = [n for t in TARGETS.values() for n in (t if isinstance(t, tuple) else (t,))]
    return [n for n in names if n in ds and n not in PDOS_VARIABLES]


def _sites(ds: xr.Dataset) -> list[tuple[str, int]]:
    """(cell, atom) of each row."""
    return list(zip(ds["cell"].values.astype(str).tolist(), ds["atom_index"].values.astype(int).tolist()))


def _rows(ds: xr.Dataset, variables: list[str]) -> xr.Dataset:
    """``variables`` of ``ds`` with only the per-site coordinates the learning reads."""
    return ds[variables].reset_coords(drop=True).assign_coords(
        cell=("site", ds["cell"].values.astype(str)), atom_index=("site", ds["atom_index"].values.astype(int)),
        x=("site", ds["x"].values))


def pooled_cube(own: xr.Dataset, lower: xr.Dataset, normalise, site_pdos: xr.Dataset | None = None,
                source: str = "lower-fidelity release") -> xr.Dataset:
    """The own site cube with ``lower``'s sites appended as training-only rows.

    ``lower``: a release's site cube of the same cells (its spectra ``mu`` on the same energy grid;
    its Bader charges, RDFs and first shells must equal the own cube's where a site is in both).
    ``normalise(energy, mu)``: the run's normalisation, applied to the appended spectra so that both
    fidelities enter the networks the same way. ``site_pdos``: every Si's PDOS variables by ``cell``
    and ``atom_index`` (the run's completed cube), for appended sites when the own cube has a PDOS.
    Appended rows get ``split`` 0 where they may train beside the stored test sites, else -1."""
    energy = own["energy"].values
    if lower.sizes.get("energy") != len(energy) or not np.allclose(lower["energy"].values, energy):
        raise FidelityError(f"{source}: its energy grid is not the run's ({len(energy)} points, {energy[0]:g}-{energy[-1]:g} eV)")
    if "r" in own.dims and not np.allclose(lower["r"].values, own["r"].values):
        raise FidelityError(f"{source}: its RDF bins are not the run's")
    if own.attrs.get("energy_reference") != lower.attrs.get("energy_reference"):
        raise FidelityError(f"{source}: attribute energy_reference is {lower.attrs.get('energy_reference')!r}, "
                            f"the run's {own.attrs.get('energy_reference')!r}")
    own_cells = set(own["cell"].values.astype(str))
    lower = lower.isel(site=np.flatnonzero(np.isin(lower["cell"].values.astype(str), sorted(own_cells))))
    targets = _target_variables(own)
    absent = [v for v in targets + ["n_o_neighbours"] if v not in lower]
    if absent:
        raise FidelityError(f"{source}: its site cube has no {absent}")
    lower_sites = _sites(lower)
    row_of = {site: k for k, site in enumerate(lower_sites)}
    for k, (c, a) in enumerate(_sites(own)):
        j = row_of.get((c, a))
        if j is None:
            continue
        for v in targets + ["n_o_neighbours"]:
            atol = SAME_SITE_ATOL.get(v, DEFAULT_SAME_SITE_ATOL)
            if not np.allclose(np.asarray(own[v].values[k], float), np.asarray(lower[v].values[j], float), atol=atol):
                raise FidelityError(f"{source}: {v} of {c} atom {a} differs from the run's (not the same structures?)")
    keep = ["mu", "n_o_neighbours", *targets]
    appended = _rows(lower, keep)
    appended[MODEL_INPUT] = (("site", "energy"), normalise(energy, lower["mu"].values), dict(own[MODEL_INPUT].attrs))
    pdos_vars = [v for v in PDOS_VARIABLES if v in own]
    if pdos_vars:
        if site_pdos is None:
            raise FidelityError(f"{source}: the run learns the PDOS but no cube of every Si's PDOS was given")
        pdos_row = {site: k for k, site in enumerate(_sites(site_pdos))}
        missing = [site for site in lower_sites if site not in pdos_row]
        if missing:
            raise FidelityError(f"{source}: no PDOS for {len(missing)} of its sites, e.g. {missing[0]}")
        rows = [pdos_row[site] for site in lower_sites]
        for v in pdos_vars:
            appended[v] = (own[v].dims, site_pdos[v].values[rows], dict(own[v].attrs))
    n_own = own.sizes["site"]
    own_rows = _rows(own, keep + [MODEL_INPUT, "split"] + pdos_vars)
    own_rows[FIDELITY] = ("site", np.full(n_own, OWN, np.int8))
    appended[FIDELITY] = ("site", np.full(appended.sizes["site"], LOWER, np.int8))
    appended["split"] = ("site", np.full(appended.sizes["site"], -1, np.int8))
    pooled = xr.concat([own_rows, appended], dim="site", data_vars="all", coords="minimal", compat="override",
                       combine_attrs="override")
    keys = SiteKeys.of(pooled)
    split = pooled["split"].values.astype(np.int8)
    stored_train, stored_test = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    allowed = np.setdiff1d(keys.training(stored_train, stored_test), stored_train)
    split[allowed] = 0
    pooled["split"] = ("site", split, {"long_name": "0 train, 1 test (own rows); lower-fidelity rows: 0 train, "
                                                  "-1 left out (a stored test site's copy, or of a cell without own training sites)"})
    pooled[FIDELITY].attrs = {"long_name": "where the row's spectrum comes from", "flag_values": np.array([OWN, LOWER], np.int8),
                              "flag_meanings": f"this_run {source.replace(' ', '_')}"}
    pooled.attrs = {**own.attrs, "lower_fidelity_source": source, "n_sites_own": int(n_own),
                    "n_sites_lower_fidelity": int(appended.sizes["site"])}
    return pooled
