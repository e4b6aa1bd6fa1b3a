"""Structure -> spectrum: descriptors of Si sites and the choice of the sites to compute."""

import numpy as np
import pytest
from ase.build import bulk

from conftest import ROOT
from synthetic import synthetic_forward_problem

from siox_xanes.forward.descriptors import (
    Compressor,
    DescriptorError,
    DescriptorSettings,
    describe,
    n_bispectrum,
    n_features,
)
from siox_xanes.forward.selection import (
    SelectionError,
    farthest_point,
    how_many,
    order_sites,
    random_order,
    uncertainty_reduction,
)


def siox_cell():
    """A 2x2x2 diamond Si supercell (64 atoms) with 12 Si turned into O: Si sites with 0-4 O
    neighbours (not a glass; enough for descriptor invariances)."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    rng = np.random.default_rng(3)
    atoms.symbols[rng.choice(len(atoms), 12, replace=False)] = "O"
    return atoms


@pytest.mark.parametrize("kind", ["soap", "acsf"])
def test_dscribe_descriptors_are_per_site_and_invariant(kind):
    atoms = siox_cell()
    settings = DescriptorSettings(kind=kind, r_cut_A=5.0)
    rows = describe(atoms, settings)
    si = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Si"]
    assert rows.shape == (len(si), n_features(settings)) and np.isfinite(rows).all()
    # a translated (and wrapped) copy and a permuted copy describe each site the same
    moved = atoms.copy()
    moved.translate([1.1, -2.3, 0.7])
    moved.wrap()
    np.testing.assert_allclose(describe(moved, settings), rows, atol=1e-8)
    perm = np.random.default_rng(0).permutation(len(atoms))
    shuffled = atoms[perm]
    new_index = {int(old): k for k, old in enumerate(perm)}
    np.testing.assert_allclose(describe(shuffled, settings, sites=[new_index[i] for i in si]), rows, atol=1e-8)
    # different environments give different rows
    assert np.linalg.matrix_rank(rows, tol=1e-6) > 3


@pytest.mark.slow  # LAMMPS
def test_snap_bispectrum_from_lammps_and_its_quadratic_form():
    atoms = siox_cell()
    linear = describe(atoms, DescriptorSettings(kind="snap", r_cut_A=4.5, twojmax=6))
    quadratic = describe(atoms, DescriptorSettings(kind="qsnap", r_cut_A=4.5, twojmax=6))
    assert n_bispectrum(6) == 30 and n_bispectrum(8) == 55
    assert linear.shape[1] == 30 and quadratic.shape[1] == 30 + 30 * 31 // 2
    np.testing.assert_allclose(quadratic[:, :30], linear)
    # the quadratic block holds the products B_i B_j (i < j) and B_i^2 / 2, in LAMMPS's order
    iu = np.triu_indices(30)
    products = (linear[:, :, None] * linear[:, None, :])[:, iu[0], iu[1]]
    products[:, iu[0] == iu[1]] *= 0.5
    np.testing.assert_allclose(quadratic[:, 30:], products, rtol=1e-10)
    moved = atoms.copy()
    moved.translate([0.9, 0.4, -1.7])
    moved.wrap()
    np.testing.assert_allclose(describe(moved, DescriptorSettings(kind="snap", r_cut_A=4.5)), linear, rtol=1e-9)


def test_structures_the_descriptors_do_not_know_are_refused_by_name():
    settings = DescriptorSettings(kind="acsf")
    alumina = siox_cell()
    alumina.symbols[0] = "Al"
    with pytest.raises(DescriptorError, match=r"user.xyz: elements \['Al'\]"):
        describe(alumina, settings, source="user.xyz")
    molecule = siox_cell()
    molecule.pbc = False
    with pytest.raises(DescriptorError, match="periodic cell"):
        describe(molecule, settings)
    with pytest.raises(DescriptorError, match="no Si"):
        describe(bulk("O", "sc", a=3.0), settings)
    with pytest.raises(DescriptorError, match="expected one of soap, acsf, snap, qsnap"):
        DescriptorSettings(kind="mbtr")
    with pytest.raises(DescriptorError, match="unknown keys"):
        DescriptorSettings.from_config("soap", {"rcut": 5})


def test_compression_keeps_the_variance_asked_for():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 40)) + 5.0  # rank 4 in 40 columns
    rows[:, 7] = 3.0  # a constant column is not divided by zero
    comp = Compressor(0.999).fit(rows)
    assert comp.n_components == 4
    z = comp.transform(rows)
    assert z.shape == (200, 4) and np.allclose(z.mean(axis=0), 0.0, atol=1e-9)


def clusters():
    """One big cluster and three small, distinct ones (in 3 dimensions)."""
    rng = np.random.default_rng(2)
    big = rng.normal(0.0, 0.1, size=(300, 3))
    small = [rng.normal(0.0, 0.05, size=(5, 3)) + 3.0 * np.eye(3)[k] for k in range(3)]
    return np.vstack([big, *small])


def test_uncertainty_reduction_and_farthest_point_reach_the_rare_environments_first():
    x = clusters()
    rare = set(range(300, 315))
    for order in (uncertainty_reduction(x, n=6), farthest_point(x, n=6)):
        # each of the three rare clusters is chosen among the first six sites
        assert {min(2, (int(i) - 300) // 5) for i in order if int(i) in rare} == {0, 1, 2}, order
    # random selection reaches them only by chance: on average 15/315 of its picks
    hits = [len(rare & set(random_order(len(x), seed)[:6].tolist())) for seed in range(50)]
    assert np.mean(hits) < 1.0


def test_selections_are_nested_deterministic_and_keep_the_sites_already_computed():
    x = np.random.default_rng(5).normal(size=(80, 6))
    for method in ("uncertainty_reduction", "farthest_point", "random"):
        order = order_sites(x, method, seed=4)
        assert sorted(order.tolist()) == list(range(80))  # an ordering of every site
        assert np.array_equal(order, order_sites(x, method, seed=4))
        head = order_sites(x, method, seed=4, first=[17, 3])
        assert head[:2].tolist() == [17, 3] and sorted(head.tolist()) == list(range(80))
    # a fraction takes a prefix of the order, so 50 % holds every site of 30 %
    assert how_many(0.3, 80) == 24 and how_many(0.5, 80) == 40 and how_many("all", 80) == 80 and how_many(7, 80) == 7
    with pytest.raises(SelectionError, match="expected 'all', a fraction"):
        how_many(1.5, 80)
    with pytest.raises(SelectionError, match="expected one of"):
        order_sites(x, "greedy")


RELEASE = ROOT / "data/siox-medium-v2"


@pytest.fixture(scope="module")
def release_sites():
    """Raw SOAP rows, spectra, cells and first shells of 20 cells of the shipped medium release."""
    import xarray as xr

    from siox_xanes import layout
    from siox_xanes.release.publish import read_structures

    structures = read_structures(RELEASE / layout.RELEASE_FILES["structures"])
    with xr.open_dataset(RELEASE / layout.RELEASE_FILES["sites"]) as cube:
        cube = cube.load()
    cells = cube["cell"].values.astype(str)
    keep = np.isin(cells, sorted(set(cells))[::2][:20])
    settings = DescriptorSettings(kind="soap")
    order = [c for c in dict.fromkeys(cells[keep])]
    rows = np.vstack([describe(structures[c], settings, sites=cube["atom_index"].values[cells == c]) for c in order])
    idx = np.concatenate([np.flatnonzero(cells == c) for c in order])
    shells = np.column_stack([cube["n_o_neighbours"].values, cube["n_si_neighbours"].values])[idx]
    return rows, cube["mu_norm"].values[idx], cells[idx], shells, cube["energy"].values, settings, structures


def test_the_forward_model_measures_itself_by_cell_and_flags_what_it_never_saw(release_sites):
    from ase.spacegroup import crystal

    from siox_xanes.forward.spectrum import cell_folds, predict_structure, train_forward

    rows, spectra, cells, shells, energy, settings, structures = release_sites
    folds = cell_folds(cells, 5, seed=0)
    # whole cells held out, every site once
    assert sorted(np.concatenate(folds)) == list(range(len(cells)))
    assert all(not set(cells[f]) & set(cells[np.setdiff1d(np.arange(len(cells)), f)]) for f in folds)
    bundle = train_forward(rows, spectra, cells, shells, energy, settings, {"Si-Si": 2.75, "Si-O": 2.2, "O-O": 1.8})
    m = bundle.metrics
    assert m["n_cells"] == 20 and m["by_cell_rmse"] > 0 and m["class_mean_baseline_rmse"] > 0
    assert bundle.site_band.shape == energy.shape and (bundle.average_band <= bundle.site_band + 1e-9).mean() > 0.9
    # a training cell is inside the domain; stishovite (sixfold Si, never in a SiOx glass) is flagged
    inside = predict_structure(bundle, structures[cells[0]])
    assert inside["flags"] == [] and inside["flagged_fraction"] == 0.0
    assert np.allclose(inside["average_high"] - inside["average"], bundle.average_band)
    stishovite = crystal(["Si", "O"], basis=[(0, 0, 0), (0.3062, 0.3062, 0)], spacegroup=136,
                         cellpar=[4.177, 4.177, 2.665, 90, 90, 90]).repeat((2, 2, 3))
    outside = predict_structure(bundle, stishovite, source="stishovite")
    assert outside["flags"] == ["outside_training_domain"] and (6, 2) in outside["unseen_shells"]


def test_spectrum_command_writes_averages_with_bands_and_refuses_by_name(tmp_path, capsys):
    """The shipped forward model on a shipped structure, on a 6912-atom cell, and on files it
    must refuse: each refusal names the file, exit 2, the good ones still written."""
    import json

    import pandas as pd
    import xarray as xr
    from ase import Atoms
    from ase.io import write

    from siox_xanes import layout
    from siox_xanes.cli import main
    from siox_xanes.release.publish import read_structures

    cell = read_structures(RELEASE / layout.RELEASE_FILES["structures"])["x1.00_seed2"]
    write(tmp_path / "x1.00_seed2.extxyz", cell)
    write(tmp_path / "big.cif", cell.repeat((6, 6, 6)))
    write(tmp_path / "water.extxyz", Atoms("H2O", positions=[(0, 0, 0), (1, 0, 0), (0, 1, 0)], cell=[5] * 3, pbc=True))
    files = [tmp_path / "x1.00_seed2.extxyz", tmp_path / "big.cif", tmp_path / "water.extxyz", tmp_path / "none.cif"]
    rc = main(["spectrum", *map(str, files), "-o", str(tmp_path / "out"), "--plots"])
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert rc == 2 and "water.extxyz: elements ['H']" in out.err and "none.cif: no such file" in out.err
    assert [r["n_atoms"] for r in summary["results"]] == [32, 6912] and len(summary["errors"]) == 2
    for stem in ("x1.00_seed2", "big"):
        averaged = pd.read_csv(tmp_path / "out" / f"{stem}_averaged.csv", comment="#")
        assert list(averaged.columns) == ["energy_eV", "mu_norm", "mu_norm_low", "mu_norm_high"]
        assert (averaged["mu_norm_low"] <= averaged["mu_norm"]).all() and (averaged["mu_norm"] <= averaged["mu_norm_high"]).all()
        assert (averaged["mu_norm_high"] - averaged["mu_norm_low"] > 0).mean() > 0.95
        assert (tmp_path / "out" / f"{stem}.png").stat().st_size > 5000
    # the replicated cell has the same sites: the same averaged spectrum
    small, big = (pd.read_csv(tmp_path / "out" / f"{s}_averaged.csv", comment="#")["mu_norm"] for s in ("x1.00_seed2", "big"))
    assert np.allclose(small, big, atol=1e-6)
    assert main(["spectrum", str(files[0]), "-o", str(tmp_path / "nc"), "--format", "netcdf"]) == 0
    with xr.open_dataset(tmp_path / "nc/x1.00_seed2.nc") as ds:
        assert ds["site_mu_norm"].shape == (16, ds.sizes["energy"]) and ds.attrs["flags"] == ""


def test_forward_models_are_judged_on_unseen_cells_beside_the_class_mean():
    from siox_xanes.forward.evaluation import evaluate_models, split_folds
    from siox_xanes.forward.models import SpectrumEnsemble

    rows, spectra, classes, cells, x, energy = synthetic_forward_problem()
    loco = split_folds("leave_one_composition_out", cells, x, 5, 0)
    by_cell = split_folds("by_cell", cells, x, 5, 0)
    assert len(loco) == 9 and len(by_cell) == 5
    for folds in (loco, by_cell):  # every site held out once, no cell on both sides of a fold
        assert sorted(np.concatenate(folds)) == list(range(len(cells)))
        assert all(not set(cells[f]) & set(np.delete(cells, f)) for f in folds)
    table, best = evaluate_models({"toy": rows, "class_only": rows[:, :5]}, spectra, classes, cells, x, energy,
                                  ["ridge_raw", "ridge_pca"], SpectrumEnsemble(), 5, 0, "toy")
    assert set(table) == {"by_cell", "leave_one_composition_out"}
    ridge = table["by_cell"]["toy/ridge_raw"]
    # the second peak follows a descriptor column the class mean cannot see: ridge beats it ...
    assert ridge["ratio_to_baseline"] < 0.5
    # ... and a descriptor that holds the class alone learns the class mean, nothing more
    assert 0.9 < table["by_cell"]["class_only/ridge_raw"]["ratio_to_baseline"] < 1.1
    assert set(ridge["by_composition"]) == {f"{v:.2f}" for v in np.unique(x)}
    assert sum(r["n"] for r in ridge["by_class"].values()) == len(cells)
    assert best["model"].startswith("toy/") and best["prediction"].shape == spectra.shape
    assert np.isnan(best["spread"]).all()  # ridge: no spread


def test_the_network_ensemble_learns_beyond_the_class_mean_and_gives_a_spread():
    from siox_xanes.forward.models import SpectrumEnsemble, class_mean_baseline, spectral_rmse

    rows, spectra, classes, cells, x, energy = synthetic_forward_problem()
    test = np.isin(cells, np.unique(cells)[::4])
    ensemble = SpectrumEnsemble(members=2, hidden=(32,), learning_rate=1e-2, max_epochs=100, patience=20)
    mean, spread = ensemble.fit(rows[~test], spectra[~test]).predict_with_spread(rows[test])
    baseline = class_mean_baseline(classes[~test], spectra[~test], classes[test])
    assert spectral_rmse(spectra[test], mean).mean() < 0.5 * spectral_rmse(spectra[test], baseline).mean()
    assert spread.shape == mean.shape and np.isfinite(spread).all() and spread.mean() > 0  # members differ
    with pytest.raises(ValueError, match="at least 2 members"):
        SpectrumEnsemble(members=1).fit(rows, spectra)


def test_selection_curves_are_nested_and_committee_asks_the_ensemble():
    from siox_xanes.forward.evaluation import selection_curves, selection_orders
    from siox_xanes.forward.models import SpectrumEnsemble

    rows, spectra, classes, cells, x, energy = synthetic_forward_problem()
    features = Compressor(0.999).fit(rows).transform(rows)
    fractions = [0.2, 0.4, 0.6]
    counts = [int(np.ceil(f * len(cells))) for f in fractions]
    ensemble = SpectrumEnsemble(members=2, hidden=(16,), max_epochs=30, patience=10)
    orders = selection_orders(features, spectra, cells, counts, ["uncertainty_reduction", "committee", "random"], 3, 0,
                              ensemble)
    assert len(orders["random"]) == 3 and len(orders["committee"]) == 1
    n_cells = len(set(cells))
    for method, method_orders in orders.items():
        for order in method_orders:
            assert len(set(order.tolist())) == len(order) >= counts[-1]
            assert len(set(cells[order[:n_cells]])) == n_cells, method  # every cell's first site at the head
    # a linear read-out stands in for the valence network: averaged spectrum -> mean valence
    weights = np.linalg.lstsq(spectra, classes.astype(float), rcond=None)[0]
    curves = selection_curves(features, spectra, classes, cells, fractions, orders,
                              valence=(lambda averaged: averaged @ weights, classes.astype(float)))
    names = sorted(set(cells))
    all_dft = np.array([spectra[cells == c].mean(axis=0) @ weights - classes[cells == c].mean() for c in names])
    for method, curve in curves.items():
        assert [curve[f"{f:g}"]["computed"] for f in fractions] == counts
        assert curve["0.6"]["rmse_not_computed"] < curve["0.2"]["rmse_not_computed"] * 1.05, method
        for row in curve.values():
            assert row["valence_rmse_all_dft"] == pytest.approx(np.sqrt(np.mean(all_dft**2)))
            assert row["valence_rmse_ratio"] == pytest.approx(row["valence_rmse_averaged"] / row["valence_rmse_all_dft"])
            assert row["valence_rmse_averaged"] > 0
    assert curves["random"]["0.2"]["rmse_spread"] > 0  # three orders, three answers
    with pytest.raises(ValueError, match="expected some of"):
        selection_orders(features, spectra, cells, counts, ["clairvoyant"], 1, 0, ensemble)


def test_completed_cells_keep_the_computed_spectra_and_predict_the_rest(release_sites):
    import xarray as xr

    from siox_xanes import layout
    from siox_xanes.forward.completion import COMPUTED, PREDICTED, complete_cells
    from siox_xanes.forward.spectrum import ForwardModelError, train_forward

    rows, spectra, cells, shells, energy, settings, structures = release_sites
    bundle = train_forward(rows, spectra, cells, shells, energy, settings, {"Si-Si": 2.75, "Si-O": 2.2, "O-O": 1.8})
    with xr.open_dataset(RELEASE / layout.RELEASE_FILES["sites"]) as cube:
        cube = cube[["mu_norm"]].load()
    ordered = list(dict.fromkeys(cube["cell"].values.astype(str)))
    chosen = [next(c for c in ordered if c.startswith(x)) for x in ("x0.00", "x1.00", "x2.00")]
    # the first cell keeps every computed site, the others only their first: DFT-free sites to predict
    keep = np.zeros(cube.sizes["site"], bool)
    for k, cell in enumerate(chosen):
        mine = np.flatnonzero(cube["cell"].values == cell)
        keep[mine if k == 0 else mine[:1]] = True
    computed = cube.isel(site=keep)
    done = complete_cells(bundle, {c: structures[c] for c in chosen}, computed)

    n_si = [structures[c].get_chemical_symbols().count("Si") for c in chosen]
    assert done.sizes["site"] == sum(n_si) and list(done["system_cell"].values) == chosen
    assert list(done["n_si_in_cell"].values) == n_si
    assert list(done["n_sites_computed"].values) == [int((computed["cell"] == c).sum()) for c in chosen]
    for k in range(computed.sizes["site"]):  # computed sites carry their DFT spectrum, no band
        row = np.flatnonzero((done["cell"].values == computed["cell"].values[k])
                             & (done["atom_index"].values == computed["atom_index"].values[k]))
        assert len(row) == 1 and done["spectrum_source"].values[row[0]] == COMPUTED
        assert np.array_equal(done["mu_norm"].values[row[0]], computed["mu_norm"].values[k])
        assert not done["mu_norm_band"].values[row[0]].any()
    predicted = done["spectrum_source"].values == PREDICTED
    assert predicted.sum() == sum(n_si) - computed.sizes["site"] > 0
    assert np.allclose(done["mu_norm_band"].values[predicted], bundle.site_band)
    for k, cell in enumerate(chosen):  # the average covers every Si; its band grows with the predicted share
        mine = done["cell"].values == cell
        assert np.allclose(done["system_mu_norm"].values[k], done["mu_norm"].values[mine].mean(axis=0))
        share = predicted[mine].mean()
        assert np.allclose(done["system_mu_norm_high"].values[k] - done["system_mu_norm"].values[k],
                           share * bundle.average_band)

    # a cube site that is an O atom of its cell
    last = computed.sizes["site"] - 1
    o_atom = structures[chosen[-1]].get_chemical_symbols().index("O")
    wrong = computed.assign_coords(atom_index=("site", [*computed["atom_index"].values[:last], o_atom]))
    with pytest.raises(ForwardModelError, match=rf"atoms \[{o_atom}\] of cell {chosen[-1]} are not Si"):
        complete_cells(bundle, {c: structures[c] for c in chosen}, wrong)
    with pytest.raises(ForwardModelError, match="energy grid"):
        complete_cells(bundle, {c: structures[c] for c in chosen}, computed.isel(energy=slice(1, None)))


def test_cells_without_any_dft_are_predicted_whole():
    from siox_xanes.forward.completion import PREDICTED, predict_cells
    from siox_xanes.forward.spectrum import load_bundle
    from siox_xanes.release.publish import read_structures

    from siox_xanes import layout

    structures = read_structures(RELEASE / layout.RELEASE_FILES["structures"])
    cells = {c: structures[c] for c in ("x0.50_seed1", "x1.75_seed2")}
    done = predict_cells(load_bundle(ROOT / layout.SHIPPED_FORWARD_MODEL), cells)
    assert (done["spectrum_source"].values == PREDICTED).all() and list(done["n_sites_computed"].values) == [0, 0]
    assert done.sizes["site"] == sum(a.get_chemical_symbols().count("Si") for a in cells.values())
    assert (done["system_mu_norm_high"] > done["system_mu_norm"]).mean() > 0.9
