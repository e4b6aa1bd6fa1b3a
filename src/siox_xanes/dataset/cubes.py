"""Self-describing NetCDF cubes of the spectrum-target dataset.

``spectra_sites.nc`` holds one entry per computed Si site (dimension ``site``):
its aligned spectrum on the energy grid, Bader charge, per-site RDFs, first
shell, Delta-SCF energies and where it comes from; ``spectra_systems.nc`` one
entry per cell (dimension ``system``): the mean spectrum, charge and RDF over
the cell's computed sites. Both follow CF conventions where they apply
(units, long_name, flag_values/flag_meanings) and carry their provenance.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..layout import is_reference, parse_glass_cell
from . import DatasetError
from .site_pdos import PdosRows

def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def train_test_split(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """Seeded random split: 1 = test, 0 = train/validation; round(n * fraction) test entries."""
    flags = np.zeros(n, dtype=np.int8)
    rng = np.random.default_rng(seed)
    flags[rng.permutation(n)[: int(round(n * test_fraction))]] = 1
    return flags


def _parse_cell(cell: str) -> tuple[float, int]:
    x, seed = parse_glass_cell(cell)
    return float(x), seed


def read_bader(path, cell: str, symbols: list[str]) -> np.ndarray:
    table = pd.read_csv(path)
    if "cell" in table and set(table["cell"]) != {cell}:
        raise DatasetError(f"{path}: Bader charges of cell {sorted(set(table['cell']))}, expected {cell}")
    if list(table["symbol"]) != list(symbols):
        raise DatasetError(f"{path}: {len(table)} atoms {table['symbol'].value_counts().to_dict()} do not match cell {cell}")
    return table["bader_charge"].to_numpy()


def assemble(spectra: xr.Dataset, expected_sites: dict[str, list[int]], cell_inputs: dict[str, dict], provenance: dict,
             test_fraction: float, split_seed: int) -> tuple[xr.Dataset, xr.Dataset]:
    """Build the site and system cubes.

    ``spectra``: aligned spectra (dims spectrum, energy; coords cell, site), as
    written by the XANES stage. ``expected_sites``: the sites the config
    selects per glass cell. ``cell_inputs[cell]``: ``bader`` (csv path),
    ``rdf`` (per-cell RDF NetCDF path), ``symbols``, ``n_si``, ``xspectra_kpoints``
    (the mesh its spectra were computed on, recorded per site) and ``structure_method``
    (how the cell was made, recorded per site and per cell). Cells are
    read one at a time; reference cells are not part of the dataset.
    """
    cells_in_spectra = pd.Index(spectra["cell"].values)
    glass = ~np.array([is_reference(c) for c in cells_in_spectra], dtype=bool)
    found = {}
    for cell, site in zip(cells_in_spectra[glass], spectra["site"].values[glass]):
        found.setdefault(str(cell), []).append(int(site))
    missing = [f"{c} site {s}" for c, sites in expected_sites.items() for s in sites if s not in found.get(c, [])]
    extra = [f"{c} site {s}" for c, sites in found.items() for s in sites if s not in expected_sites.get(c, [])]
    if missing or extra:
        raise DatasetError(f"spectra do not match the configured sites: missing {missing[:10]}, unexpected {extra[:10]}")
    mu_all = spectra["mu"].values
    site_ids = spectra["site"].values
    delta_scf, onset = spectra["delta_scf"].values, spectra["onset"].values
    if not np.isfinite(mu_all).all() or (mu_all < 0).any():
        bad = np.flatnonzero(~np.isfinite(mu_all).all(axis=1) | (mu_all < 0).any(axis=1))
        raise DatasetError("NaN or negative spectra: " + ", ".join(f"{cells_in_spectra[k]} site {int(site_ids[k])}" for k in bad[:10]))

    rows, rdf_total, rdf_si, rdf_o, mus = [], [], [], [], []
    r = sigma = None
    systems = []
    with_pdos = {cell for cell in expected_sites if cell_inputs[cell].get("pdos")}
    if with_pdos and with_pdos != set(expected_sites):
        raise DatasetError(f"PDOS files for {len(with_pdos)} of {len(expected_sites)} cells: all or none")
    pdos = PdosRows()
    for group, cell in enumerate(expected_sites):
        inp = cell_inputs[cell]
        charges = read_bader(inp["bader"], cell, inp["symbols"])
        if with_pdos:
            pdos.open(inp["pdos"], cell, inp["symbols"])
        with xr.open_dataset(inp["rdf"]) as rdf:
            rdf = rdf.load()
        if rdf.attrs.get("cell") != cell:
            raise DatasetError(f"{inp['rdf']}: RDFs of cell {rdf.attrs.get('cell')}, expected {cell}")
        cell_sigma = float(rdf.attrs.get("rdf_sigma_angstrom", 0.0))  # files without it are histograms
        if r is None:
            r, sigma = rdf["r"], cell_sigma
        elif not np.allclose(rdf["r"].values, r.values):
            raise DatasetError(f"{inp['rdf']}: RDF bins differ from the other cells'")
        elif cell_sigma != sigma:
            raise DatasetError(f"{inp['rdf']}: RDF Gaussian sigma {cell_sigma} A, the other cells' {sigma} A")
        row_of = {int(a): k for k, a in enumerate(rdf["atom_index"].values)}
        arrays = {v: rdf[v].values for v in ("g_total", "g_si", "g_o", "position", "n_o_neighbours",
                                              "n_si_neighbours", "nearest_o_distance", "nearest_si_distance")}
        x, seed = _parse_cell(cell)
        idx = np.flatnonzero(cells_in_spectra == cell)
        cell_mu = []
        for k in idx:
            site = int(site_ids[k])
            if site not in row_of:
                raise DatasetError(f"{inp['rdf']}: no RDF for site {site}")
            j = row_of[site]
            pos = arrays["position"][j]
            rows.append({
                "cell": cell, "group": group, "x": x, "seed": seed, "atom_index": site,
                "bader_charge": charges[site],
                "n_o_neighbours": int(arrays["n_o_neighbours"][j]), "n_si_neighbours": int(arrays["n_si_neighbours"][j]),
                "nearest_o_distance": float(arrays["nearest_o_distance"][j]), "nearest_si_distance": float(arrays["nearest_si_distance"][j]),
                "delta_scf": float(delta_scf[k]), "onset": float(onset[k]),
                "pos_x": float(pos[0]), "pos_y": float(pos[1]), "pos_z": float(pos[2]),
                "kmesh": list(inp["xspectra_kpoints"]), "structure_method": inp["structure_method"],
            })
            rdf_total.append(arrays["g_total"][j])
            rdf_si.append(arrays["g_si"][j])
            rdf_o.append(arrays["g_o"][j])
            mus.append(mu_all[k])
            cell_mu.append(mu_all[k])
            if with_pdos:
                pdos.add_site(site)
        n_sites = len(idx)
        sel = slice(len(rows) - n_sites, len(rows))
        si_charges = charges[np.asarray(inp["symbols"]) == "Si"]
        systems.append({
            "cell": cell, "x": x, "seed": seed, "n_sites_used": n_sites, "n_si_in_cell": inp["n_si"],
            "all_sites_computed": n_sites == inp["n_si"], "structure_method": inp["structure_method"],
            "mean_bader_charge": float(np.mean([row["bader_charge"] for row in rows[sel]])),
            "mean_bader_charge_all_si": float(si_charges.mean()),
            "mu": np.mean(cell_mu, axis=0), "g_total": np.mean(rdf_total[sel], axis=0),
            "g_si": np.mean(rdf_si[sel], axis=0), "g_o": np.mean(rdf_o[sel], axis=0),
        })

    table = pd.DataFrame(rows)
    energy = spectra["energy"]
    split = train_test_split(len(table), test_fraction, split_seed)
    attrs = _attrs(spectra.attrs, provenance)
    e_coord = ("energy", energy.values, {"units": "eV", "long_name": "photon energy", "standard_name": "photon_energy"})
    r_coord = ("r", r.values, {"units": "angstrom", "long_name": "distance from the absorbing Si (bin centre)"})
    # how g(R) was made, on every RDF variable of both cubes
    g_attrs = {"units": "1", "gaussian_sigma_angstrom": sigma,
               "comment": ("g(R) = N(R) / (4 pi R^2 dR rho), rho the cell's number density; "
                           + (f"each neighbour a Gaussian of sigma {sigma:g} A integrated over the bin"
                              if sigma else "N(R): neighbours counted per bin (no smoothing)"))}
    sites = xr.Dataset(
        {
            "mu": (("site", "energy"), np.asarray(mus), {"long_name": "Si K-edge XANES, mean of x, y, z polarisations", "units": "1"}),
            "bader_charge": ("site", table["bader_charge"].to_numpy(), {"long_name": "Bader charge of the absorbing Si", "units": "e"}),
            "rdf_total": (("site", "r"), np.asarray(rdf_total), {"long_name": "per-site RDF g(R) of Si and O around the absorber", **g_attrs}),
            "rdf_si": (("site", "r"), np.asarray(rdf_si), {"long_name": "Si part of the per-site RDF", **g_attrs}),
            "rdf_o": (("site", "r"), np.asarray(rdf_o), {"long_name": "O part of the per-site RDF", **g_attrs}),
            "n_o_neighbours": ("site", table["n_o_neighbours"].to_numpy(), {"long_name": "first-shell O neighbours = formal valence class (Si0 ... Si4+)", "units": "1"}),
            "n_si_neighbours": ("site", table["n_si_neighbours"].to_numpy(), {"long_name": "first-shell Si neighbours", "units": "1"}),
            "nearest_o_distance": ("site", table["nearest_o_distance"].to_numpy(), {"long_name": "distance to the nearest O (NaN: none within 3.5 A)", "units": "angstrom"}),
            "nearest_si_distance": ("site", table["nearest_si_distance"].to_numpy(), {"long_name": "distance to the nearest other Si", "units": "angstrom"}),
            "delta_scf": ("site", table["delta_scf"].to_numpy(), {"long_name": "E_tot(core hole) - E_tot(ground state)", "units": "eV"}),
            "onset": ("site", table["onset"].to_numpy(), {"long_name": "absolute onset energy after the global shift", "units": "eV"}),
            "position": (("site", "xyz"), table[["pos_x", "pos_y", "pos_z"]].to_numpy(), {"long_name": "Cartesian position of the absorber", "units": "angstrom"}),
            "xspectra_kpoints": (("site", "axis"), np.asarray(table["kmesh"].tolist(), dtype=np.int32),
                                 {"long_name": "xspectra.x k mesh the spectrum was computed on (points along a, b, c)",
                                  "units": "1"}),
            "split": ("site", split, {"long_name": "train/test split", "flag_values": np.array([0, 1], np.int8), "flag_meanings": "train test"}),
        },
        coords={
            "energy": e_coord,
            "r": r_coord,
            "xyz": ("xyz", ["x", "y", "z"]),
            "axis": ("axis", ["a", "b", "c"]),
            "cell": ("site", table["cell"].to_numpy().astype(str), {"long_name": "cell id x{x}_seed{seed}"}),
            "group": ("site", table["group"].to_numpy(), {"long_name": "integer id of the cell, for splits by cell"}),
            "x": ("site", table["x"].to_numpy(), {"long_name": "composition x of SiOx", "units": "1"}),
            "seed": ("site", table["seed"].to_numpy(), {"long_name": "structure seed"}),
            "atom_index": ("site", table["atom_index"].to_numpy(), {"long_name": "index of the absorbing Si in its cell"}),
            "structure_method": ("site", table["structure_method"].to_numpy().astype(str),
                                 {"long_name": "how the site's cell was made (MD stage)"}),
        },
        attrs=attrs | {"title": "SiOx Si K-edge XANES per Si site with Bader charges and RDFs",
                       "split_test_fraction": test_fraction, "split_seed": split_seed},
    )
    sys_table = pd.DataFrame([{k: v for k, v in s.items() if k not in ("mu", "g_total", "g_si", "g_o")} for s in systems])
    system = xr.Dataset(
        {
            "mu": (("system", "energy"), np.asarray([s["mu"] for s in systems]), {"long_name": "mean Si K-edge XANES over the cell's computed sites", "units": "1"}),
            "mean_bader_charge": ("system", sys_table["mean_bader_charge"].to_numpy(), {"long_name": "mean Bader charge over the computed sites", "units": "e"}),
            "mean_bader_charge_all_si": ("system", sys_table["mean_bader_charge_all_si"].to_numpy(), {"long_name": "mean Bader charge over every Si of the cell", "units": "e"}),
            "rdf_total": (("system", "r"), np.asarray([s["g_total"] for s in systems]), {"long_name": "mean per-site RDF over the computed sites", **g_attrs}),
            "rdf_si": (("system", "r"), np.asarray([s["g_si"] for s in systems]), {"long_name": "mean Si part of the per-site RDF", **g_attrs}),
            "rdf_o": (("system", "r"), np.asarray([s["g_o"] for s in systems]), {"long_name": "mean O part of the per-site RDF", **g_attrs}),
            "n_sites_used": ("system", sys_table["n_sites_used"].to_numpy(), {"long_name": "Si sites averaged", "units": "1"}),
            "n_si_in_cell": ("system", sys_table["n_si_in_cell"].to_numpy(), {"long_name": "Si atoms in the cell", "units": "1"}),
            "all_sites_computed": ("system", sys_table["all_sites_computed"].to_numpy().astype(np.int8),
                                   {"long_name": "1 if every Si of the cell was averaged, 0 for an average over a subset",
                                    "flag_values": np.array([0, 1], np.int8), "flag_meanings": "subset all_sites"}),
        },
        coords={
            "energy": e_coord, "r": r_coord,
            "cell": ("system", sys_table["cell"].to_numpy().astype(str)),
            "x": ("system", sys_table["x"].to_numpy(), {"long_name": "composition x of SiOx", "units": "1"}),
            "seed": ("system", sys_table["seed"].to_numpy()),
            "structure_method": ("system", sys_table["structure_method"].to_numpy().astype(str),
                                 {"long_name": "how the cell was made (MD stage)"}),
        },
        attrs=attrs | {"title": "SiOx Si K-edge XANES averaged per cell"},
    )
    if with_pdos:
        sites, system = pdos.into(sites, system)
    return sites, system


def add_normalised(ds: xr.Dataset, settings) -> xr.Dataset:
    """The cube with ``mu_norm``: every spectrum through the one normalisation (Larch pre_edge, computed-spectrum mode)."""
    from ..measured.normalise import normalise_many

    dim = "site" if "site" in ds.dims else "system"
    norm = normalise_many(ds["energy"].values, ds["mu"].values, settings, computed=True)
    attrs = {"long_name": "Si K-edge XANES normalised to edge step 1 (Larch pre_edge, iscalc=True)", "units": "1",
             "normalisation": json.dumps(settings.as_dict(), sort_keys=True)}
    return ds.assign(mu_norm=((dim, "energy"), norm, attrs))


def _attrs(spectra_attrs: dict, provenance: dict) -> dict:
    out = {
        "Conventions": "CF-1.8",
        "institution": "siox_xanes workflow",
        "source": ("LAMMPS with the Tersoff SiO potential (Munetoh 2007): each cell melt-quenched or grown from a-Si, "
                   "as its structure_method says; Quantum ESPRESSO pw.x + xspectra.x; baderkit"),
        "references": "Fujikata, Sugisawa, Mizoguchi, PCCP 2026 (reproduced workflow)",
        "siox_xanes_version": __version__,
        "energy_reference": spectra_attrs.get("alignment", ""),
        "global_shift_eV": spectra_attrs.get("global_shift_eV", np.nan),
        "lorentzian_gamma_eV": spectra_attrs.get("lorentzian_gamma_eV", np.nan),
    }
    for key, value in provenance.items():
        out[key] = value if isinstance(value, (str, int, float)) else json.dumps(value, sort_keys=True)
    return out


def summary(ds: xr.Dataset) -> str:
    """Human-readable summary of a site or system cube."""
    dim = "site" if "site" in ds.dims else "system"
    lines = [f"{ds.attrs.get('title', 'dataset')}", f"  {dim}s: {ds.sizes[dim]}, energy points: {ds.sizes.get('energy')}, r bins: {ds.sizes.get('r')}"]
    if "energy" in ds:
        lines.append(f"  energy grid: {float(ds.energy[0]):.2f} .. {float(ds.energy[-1]):.2f} eV")
    comps = pd.Series(ds["x"].values).value_counts().sort_index()
    lines.append("  compositions x: " + ", ".join(f"{x:.2f} ({n})" for x, n in comps.items()))
    if "n_o_neighbours" in ds:
        cls = pd.Series(ds["n_o_neighbours"].values).value_counts().sort_index()
        lines.append("  valence classes (first-shell O): " + ", ".join(f"Si{k}+ {v}" for k, v in cls.items()))
    if "split" in ds:
        lines.append(f"  split: {int((ds.split == 0).sum())} train/validation, {int((ds.split == 1).sum())} test")
    if "all_sites_computed" in ds:
        lines.append(f"  cells averaged over all their Si: {int(ds.all_sites_computed.sum())} of {ds.sizes['system']}")
    for var in ("mu", "mu_norm", "bader_charge", "mean_bader_charge", "rdf_total", "onset"):
        if var in ds:
            v = ds[var].values
            lines.append(f"  {var}: {np.nanmin(v):.4g} .. {np.nanmax(v):.4g} {ds[var].attrs.get('units', '')}")
    lines.append("  provenance:")
    for key in ("config_sha256", "siox_xanes_version", "global_shift_eV", "qe_version", "lammps_version", "pseudopotentials"):
        if key in ds.attrs:
            text = str(ds.attrs[key])
            lines.append(f"    {key}: {text[:100]}{'...' if len(text) > 100 else ''}")
    return "\n".join(lines)
