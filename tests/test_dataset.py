"""Cube assembly on small hand-made inputs: round trips and every bad input named."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from siox_xanes.dataset.cubes import DatasetError, assemble, summary, train_test_split
from siox_xanes.dataset.rdf import neighbour_summary, site_rdfs
from siox_xanes.spectra.references import reference_crystal

CELLS = {"x2.00_seed1": ("alpha_quartz", [0, 2]), "x0.00_seed1": ("diamond_si", [1])}
GRID = np.linspace(1830, 1880, 256)


def write_cell(tmp_path, cell, name, sites, bader_cell=None):
    atoms = reference_crystal(name)
    g = site_rdfs(atoms, sites)
    nb = neighbour_summary(atoms, sites, {"Si-O": 2.2, "Si-Si": 2.75})
    rdf = xr.Dataset(
        {"g_total": (("rdf_site", "r"), g["total"]), "g_si": (("rdf_site", "r"), g["Si"]), "g_o": (("rdf_site", "r"), g["O"]),
         "position": (("rdf_site", "xyz"), atoms.positions[sites]), **{k: ("rdf_site", v) for k, v in nb.items()}},
        coords={"r": g["r"], "atom_index": ("rdf_site", sites)}, attrs={"cell": cell},
    )
    rdf.to_netcdf(tmp_path / f"{cell}_rdf.nc")
    symbols = atoms.get_chemical_symbols()
    charge = [3.2 if s == "Si" else -1.6 for s in symbols] if name == "alpha_quartz" else [0.01 * i for i in range(len(symbols))]
    pd.DataFrame({"cell": bader_cell or cell, "atom_index": range(len(symbols)), "symbol": symbols, "bader_charge": charge}).to_csv(tmp_path / f"{cell}_bader.csv", index=False)
    return {"bader": tmp_path / f"{cell}_bader.csv", "rdf": tmp_path / f"{cell}_rdf.nc", "symbols": symbols, "n_si": symbols.count("Si"),
            "xspectra_kpoints": [2, 2, 2] if name == "alpha_quartz" else [4, 4, 4],
            "structure_method": f"made as {name}"}


def spectra_for(entries, mu=None):
    n = len(entries)
    mu = np.abs(np.sin(np.outer(np.arange(1, n + 1), GRID / 10.0))) if mu is None else mu
    return xr.Dataset(
        {"mu": (("spectrum", "energy"), mu), "onset": ("spectrum", np.full(n, 1840.0)), "delta_scf": ("spectrum", np.full(n, 45.0))},
        coords={"energy": GRID, "cell": ("spectrum", [c for c, _ in entries]), "site": ("spectrum", [s for _, s in entries])},
        attrs={"global_shift_eV": -12.5, "alignment": "alpha-quartz main peak at 1846 eV", "lorentzian_gamma_eV": 0.8},
    )


@pytest.fixture
def inputs(tmp_path):
    cell_inputs = {c: write_cell(tmp_path, c, name, sites) for c, (name, sites) in CELLS.items()}
    entries = [(c, s) for c, (_, sites) in CELLS.items() for s in sites] + [("ref_alpha_quartz", 0)]
    expected = {c: sites for c, (_, sites) in CELLS.items()}
    return spectra_for(entries), expected, cell_inputs


def build(inputs, **kw):
    spectra, expected, cell_inputs = inputs
    return assemble(spectra, expected, cell_inputs, {"config_sha256": "abc", "qe_version": "PWSCF v.6.7"}, 0.34, 0, **kw)


def test_cubes_have_everything_with_units_and_round_trip(inputs, tmp_path):
    sites, systems = build(inputs)
    assert sites.sizes == {"site": 3, "energy": 256, "r": 256, "xyz": 3, "axis": 3}
    assert list(sites["cell"].values) == ["x2.00_seed1", "x2.00_seed1", "x0.00_seed1"]  # references left out
    # each site says which k mesh made its spectrum (cells may differ)
    assert sites["xspectra_kpoints"].values.tolist() == [[2, 2, 2], [2, 2, 2], [4, 4, 4]]
    # ... and how its cell was made; so does the system cube
    assert list(sites["structure_method"].values) == ["made as alpha_quartz"] * 2 + ["made as diamond_si"]
    assert list(sites["bader_charge"].values) == pytest.approx([3.2, 3.2, 0.01])
    assert list(sites["n_o_neighbours"].values) == [4, 4, 0]
    for name, var in sites.data_vars.items():
        assert "units" in var.attrs or "flag_values" in var.attrs, name
    assert sites.energy.attrs["units"] == "eV" and sites.r.attrs["units"] == "angstrom"
    assert sites.attrs["Conventions"] == "CF-1.8" and sites.attrs["config_sha256"] == "abc"
    assert sorted(sites.split.values.tolist()) == [0, 0, 1]
    # system cube: mean over the computed sites, and whether that is every Si of the cell
    assert systems.sizes["system"] == 2
    assert np.allclose(systems.mu.values[0], sites.mu.values[:2].mean(axis=0))
    assert list(systems.n_sites_used.values) == [2, 1] and list(systems.all_sites_computed.values) == [0, 0]
    assert systems.mean_bader_charge_all_si.values[1] == pytest.approx(np.mean([0.01 * i for i in range(8)]))
    for ds, name in ((sites, "s.nc"), (systems, "y.nc")):
        ds.to_netcdf(tmp_path / name)
        with xr.open_dataset(tmp_path / name) as back:
            xr.testing.assert_identical(back.load(), ds)
    text = summary(sites)
    assert "sites: 3" in text and "Si4+ 2" in text and "config_sha256: abc" in text


def test_missing_and_extra_sites_are_named(inputs):
    spectra, expected, cell_inputs = inputs
    with pytest.raises(DatasetError, match=r"missing \['x0.00_seed1 site 5'\]"):
        assemble(spectra, {**expected, "x0.00_seed1": [1, 5]}, cell_inputs, {}, 0.2, 0)
    with pytest.raises(DatasetError, match=r"unexpected \['x2.00_seed1 site 2'\]"):
        assemble(spectra, {**expected, "x2.00_seed1": [0]}, cell_inputs, {}, 0.2, 0)


@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_nan_or_negative_spectra_are_named(inputs, bad):
    spectra, expected, cell_inputs = inputs
    spectra["mu"][2, 10] = bad
    with pytest.raises(DatasetError, match="x0.00_seed1 site 1"):
        assemble(spectra, expected, cell_inputs, {}, 0.2, 0)


def test_bader_file_of_another_cell(inputs, tmp_path):
    spectra, expected, cell_inputs = inputs
    cell_inputs["x2.00_seed1"] = write_cell(tmp_path, "x2.00_seed1", "alpha_quartz", [0, 2], bader_cell="x1.00_seed3")
    with pytest.raises(DatasetError, match="x2.00_seed1_bader.csv: Bader charges of cell"):
        assemble(spectra, expected, cell_inputs, {}, 0.2, 0)
    # without a cell column, the atoms themselves must match
    table = pd.read_csv(cell_inputs["x0.00_seed1"]["bader"]).drop(columns="cell")
    table.to_csv(tmp_path / "anonymous.csv", index=False)
    cell_inputs["x2.00_seed1"]["bader"] = tmp_path / "anonymous.csv"
    with pytest.raises(DatasetError, match="do not match cell x2.00_seed1"):
        assemble(spectra, expected, cell_inputs, {}, 0.2, 0)


def test_rdf_on_other_bins_or_of_another_cell(inputs, tmp_path):
    spectra, expected, cell_inputs = inputs
    path = cell_inputs["x0.00_seed1"]["rdf"]
    with xr.open_dataset(path) as ds:
        other = ds.load().assign_coords(r=ds.r.values * 1.1)
    other.to_netcdf(path)
    with pytest.raises(DatasetError, match="RDF bins differ"):
        assemble(spectra, expected, cell_inputs, {}, 0.2, 0)
    other.assign_attrs(cell="x1.00_seed1").to_netcdf(path)
    with pytest.raises(DatasetError, match="RDFs of cell x1.00_seed1"):
        assemble(spectra, expected, cell_inputs, {}, 0.2, 0)


def test_rdf_smoothing_is_recorded_and_must_be_the_same_in_every_cell(inputs):
    spectra, expected, cell_inputs = inputs
    sites, systems = build(inputs)
    assert sites["rdf_total"].attrs["gaussian_sigma_angstrom"] == 0.0  # files without the attribute: histograms
    assert "no smoothing" in systems["rdf_o"].attrs["comment"]
    for cell in cell_inputs:
        with xr.open_dataset(cell_inputs[cell]["rdf"]) as ds:
            ds = ds.load()
        ds.assign_attrs(rdf_sigma_angstrom=0.1).to_netcdf(cell_inputs[cell]["rdf"])
    sites, _ = build(inputs)
    assert sites["rdf_si"].attrs["gaussian_sigma_angstrom"] == 0.1 and "sigma 0.1 A" in sites["rdf_total"].attrs["comment"]
    path = cell_inputs["x0.00_seed1"]["rdf"]
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.assign_attrs(rdf_sigma_angstrom=0.05).to_netcdf(path)
    with pytest.raises(DatasetError, match="x0.00_seed1_rdf.nc: RDF Gaussian sigma 0.05 A, the other cells' 0.1 A"):
        build(inputs)


def test_split_is_seeded():
    a = train_test_split(5290, 0.2, 0)
    assert a.sum() == 1058 and np.array_equal(a, train_test_split(5290, 0.2, 0))
    assert not np.array_equal(a, train_test_split(5290, 0.2, 1))


def write_pdos(tmp_path, cell, cell_input):
    """A cell's PDOS file as rule cell_pdos writes it (spectra.pdos.pdos_dataset), every Si a
    Gaussian band edge of its own."""
    from siox_xanes.spectra.pdos import PdosSettings, pdos_dataset

    settings = PdosSettings(nscf_kpoints=(2, 2, 2))
    grid = settings.grid
    si = [i for i, s in enumerate(cell_input["symbols"]) if s == "Si"]
    p = np.array([np.where((grid < -1.0 - 0.1 * k) | (grid > 4.0), 1.0, 0.0) for k in range(len(si))])
    result = {"si_atoms": si, "energy_eV": grid, "pdos_s": 0.5 * p, "pdos_p": p,
              "local_gap_eV": np.array([5.0 + 0.1 * k for k in range(len(si))]),
              "valence_edge_eV": np.array([-1.0 - 0.1 * k for k in range(len(si))]),
              "conduction_edge_eV": np.full(len(si), 4.0), "highest_occupied_eV": 3.2,
              "lowest_unoccupied_eV": None, "nbnd": 60, "bands_reach_eV": 19.0, "nscf_kpoints": [2, 2, 2], "nscf_cpu_s": 10.0}
    path = tmp_path / f"{cell}_pdos.nc"
    pdos_dataset(result, cell, settings).to_netcdf(path)
    return path


def test_pdos_goes_into_both_cubes_per_site_and_per_cell(inputs, tmp_path):
    spectra, expected, cell_inputs = inputs
    for cell, inp in cell_inputs.items():
        inp["pdos"] = write_pdos(tmp_path, cell, inp)
    sites, systems = assemble(spectra, expected, cell_inputs, {}, 0.34, 0)
    assert sites["pdos_p"].dims == ("site", "pdos_energy") and sites.sizes["pdos_energy"] == 301
    assert sites["pdos_energy"].attrs["units"] == "eV" and sites["pdos_p"].attrs["units"] == "states/eV"
    # each site gets its own atom's row: quartz sites 0 and 2 are its first and third Si, diamond's 1 its second
    assert list(sites["local_gap"].values) == pytest.approx([5.0, 5.2, 5.1])
    assert list(sites["valence_edge"].values) == pytest.approx([-1.0, -1.2, -1.1])
    # per cell: every Si, not only the computed ones (quartz has 3 Si, diamond 8)
    assert systems["local_gap"].values[0] == pytest.approx(5.1)
    assert systems["pdos_p"].dims == ("system", "pdos_energy")
    for name, var in sites.data_vars.items():
        assert "units" in var.attrs or "flag_values" in var.attrs, name
    sites.to_netcdf(tmp_path / "s.nc")

    # all cells or none; a file of another cell or another grid is named
    del cell_inputs["x0.00_seed1"]["pdos"]
    with pytest.raises(DatasetError, match="PDOS files for 1 of 2 cells"):
        assemble(spectra, expected, cell_inputs, {}, 0.34, 0)
    cell_inputs["x0.00_seed1"]["pdos"] = cell_inputs["x2.00_seed1"]["pdos"]
    with pytest.raises(DatasetError, match="x2.00_seed1_pdos.nc: PDOS of cell x2.00_seed1, expected x0.00_seed1"):
        assemble(spectra, expected, cell_inputs, {}, 0.34, 0)


def test_every_si_gets_its_pdos_in_a_cube_of_all_sites(inputs, tmp_path):
    """The completed cube (every Si, computed or predicted) takes each site's PDOS row by atom."""
    from siox_xanes.dataset.site_pdos import with_site_pdos

    _, _, cell_inputs = inputs
    files = {cell: write_pdos(tmp_path, cell, inp) for cell, inp in cell_inputs.items()}
    symbols = {cell: inp["symbols"] for cell, inp in cell_inputs.items()}
    si = {cell: [i for i, s in enumerate(sym) if s == "Si"] for cell, sym in symbols.items()}
    cells = [c for c in cell_inputs for _ in si[c]]
    atoms = [a for c in cell_inputs for a in si[c]]
    every = xr.Dataset(coords={"cell": ("site", cells), "atom_index": ("site", atoms)})
    out = with_site_pdos(every, files, symbols)
    assert out.sizes["site"] == 3 + 8 and out["pdos_p"].dims == ("site", "pdos_energy")
    assert list(out["local_gap"].values[:3]) == pytest.approx([5.0, 5.1, 5.2])  # quartz's three Si in order
    assert out["local_gap"].values[3 + 7] == pytest.approx(5.7)  # diamond's eighth Si
    # sites of a cell must be together; every cell needs its file
    with pytest.raises(DatasetError, match="contiguous"):
        with_site_pdos(every.isel(site=[0, 3, 1]), files, symbols)
    with pytest.raises(DatasetError, match="no PDOS file for cells"):
        with_site_pdos(every, {c: f for c, f in files.items() if c.startswith("x0")}, symbols)
