"""Training across fidelities (learning.fidelity) on a SYNTHETIC TEST FIXTURE (never a result):
a lower-fidelity copy of every site trains beside the own sites and never tests, validates or
calibrates, and never leaks a held-out site's answer."""

import numpy as np
import pytest
import xarray as xr

from siox_xanes.learning.evaluation import learning_curve, split_folds
from siox_xanes.learning.fidelity import FidelityError, SiteKeys, pooled_cube
from siox_xanes.learning.nets import NetConfig, cross_validate
from synthetic import GRID, R, synthetic_fixture

N_CELLS, PER_CELL = 12, 10


def cube(mu, q, rdf, n_o, cells, atoms, split=None):
    n = len(q)
    data = {"mu": (("site", "energy"), mu), "mu_norm": (("site", "energy"), mu / mu.max(1, keepdims=True),
                                                        {"normalisation": "{}"}),
            "bader_charge": ("site", q), "rdf_total": (("site", "r"), rdf), "n_o_neighbours": ("site", n_o)}
    if split is not None:
        data["split"] = ("site", split.astype(np.int8))
    return xr.Dataset(data, coords={"energy": GRID, "r": R, "cell": ("site", cells), "atom_index": ("site", atoms),
                                    "x": ("site", np.array([float(c[1:5]) for c in cells]))},
                      attrs={"energy_reference": "alpha-quartz main peak at 1846.0 eV"})


@pytest.fixture(scope="module")
def pair():
    """Every site at the lower fidelity (noisy spectra), every third site at the own one."""
    mu, q, rdf, n_o = synthetic_fixture(N_CELLS * PER_CELL, seed=3)
    cells = np.repeat([f"x{k % 4 * 0.5:.2f}_seed{k // 4 + 1}" for k in range(N_CELLS)], PER_CELL)
    atoms = np.tile(np.arange(PER_CELL), N_CELLS)
    noisy = mu + np.random.default_rng(0).normal(0, 0.01, mu.shape)
    lower = cube(noisy, q, rdf, n_o, cells, atoms)
    pick = np.arange(0, len(q), 3)
    split = (np.arange(len(pick)) % 5 == 0)
    own = cube(mu[pick], q[pick], rdf[pick], n_o[pick], cells[pick], atoms[pick], split)
    return own, lower


def pooled(own, lower):
    return pooled_cube(own, lower, lambda e, m: m / m.max(1, keepdims=True), source="v2")


def test_pooled_cube_appends_training_only_rows_and_leaves_out_stored_test_copies(pair):
    own, lower = pair
    p = pooled(own, lower)
    n_own = own.sizes["site"]
    assert p.sizes["site"] == n_own + lower.sizes["site"] and p.attrs["n_sites_own"] == n_own
    keys = SiteKeys.of(p)
    assert not keys.lower[:n_own].any() and keys.lower[n_own:].all()
    split = p["split"].values
    assert set(split[keys.lower]) == {0, -1} and not (split[keys.lower] == 1).any()
    is_test = own.split.values == 1
    test_sites = set(zip(own.cell.values[is_test], own.atom_index.values[is_test].astype(int)))
    left_out = set(zip(p.cell.values[split == -1], p.atom_index.values[split == -1].astype(int)))
    assert left_out == test_sites  # exactly the stored test sites' copies
    # own rows unchanged, appended rows the lower release's spectra renormalised
    assert np.array_equal(p.mu_norm.values[:n_own], own.mu_norm.values)
    assert np.allclose(p.mu_norm.values[n_own:], lower.mu.values / lower.mu.values.max(1, keepdims=True))


def test_pooled_cube_refuses_a_release_of_other_structures_or_grid(pair):
    own, lower = pair
    other = lower.copy(deep=True)
    other["bader_charge"].values[3] += 2.4e-4  # two ground states of one structure: the same site
    assert pooled(own, other).sizes["site"] == pooled(own, lower).sizes["site"]
    other["bader_charge"].values[3] += 0.5  # atom 3 of the first cell is an own site
    with pytest.raises(FidelityError, match="v2: bader_charge of x0.00_seed1 atom 3 differs"):
        pooled(own, other)
    with pytest.raises(FidelityError, match="energy grid"):
        pooled(own, lower.isel(energy=slice(0, 200)))
    with pytest.raises(FidelityError, match="PDOS"):
        pooled(own.assign(local_gap=("site", np.ones(own.sizes["site"]))), lower)


def test_every_split_draws_its_test_part_from_own_rows_and_keeps_held_out_answers_out(pair):
    own, lower = pair
    p = pooled(own, lower)
    keys = SiteKeys.of(p)
    cells, comps = p.cell.values.astype(str), p.x.values
    for scheme in ("random_sites", "by_cell", "leave_one_composition_out"):
        for name, train, test in split_folds(scheme, cells, comps, 0.25, 0, keys):
            assert not keys.lower[test].any() and keys.lower[train].any()
            held = set(zip(cells[test], keys.atom[test]))
            assert not held & set(zip(cells[train], keys.atom[train]))  # no copy of a test site trains
            if scheme != "random_sites":  # nothing of a held-out cell trains, at either fidelity
                assert not set(cells[test]) & set(cells[train])
    # without lower-fidelity rows the folds are those of the plain cube
    plain = split_folds("by_cell", cells[~keys.lower], comps[~keys.lower], 0.25, 0)
    pooled_folds = split_folds("by_cell", cells, comps, 0.25, 0, keys)
    assert np.array_equal(plain[0][2], pooled_folds[0][2])


def test_cross_validation_and_learning_curve_validate_and_test_on_own_rows_only(pair):
    own, lower = pair
    p = pooled(own, lower)
    keys = SiteKeys.of(p)
    x, y = p.mu_norm.values, p.bader_charge.values[:, None]
    tiny = NetConfig(hidden=[16], max_epochs=5, patience=2)
    _, table = cross_validate(x, y, [tiny, tiny], 2, 0, keys)
    assert len(table) == 2 and all(np.isfinite(row["mean_rmse"]) for row in table)
    rows = learning_curve(x, y, p.cell.values, tiny, [0.5, 1.0], 0.25, 0, keys=keys)
    n_own_test = rows[0]["n_test"]
    assert rows[0]["n_train_lower_fidelity"] == rows[1]["n_train_lower_fidelity"] > 0
    assert n_own_test < own.sizes["site"]  # the test part counts own sites only


def test_the_windows_network_trains_on_both_fidelities_and_reports_own_rows(pair):
    from siox_xanes.learning.training import train_and_evaluate

    own, lower = pair
    p = pooled(own, lower)
    learning = {"seed": 0, "cv_folds": 2, "training": {"max_epochs": 5, "patience": 2},
                "candidates": {"valence": [{"hidden": [16]}]}}
    res = train_and_evaluate(p, "valence", (1830.0, 1880.0), learning)
    m = res["metrics"]
    n_own = own.sizes["site"]
    assert res["prediction"].shape[0] == n_own and m["n_test"] == int((own.split == 1).sum())
    assert m["n_train"] == n_own - m["n_test"]
    assert m["n_train_lower_fidelity"] == int(((p.fidelity == 1) & (p.split == 0)).sum()) > 0
    assert m["lower_fidelity_source"] == "v2"


@pytest.mark.slow
def test_the_predictors_cross_validation_scores_own_sites_once_and_trains_on_their_cells_copies():
    from siox_xanes.learning.predictor import PredictorSettings
    from siox_xanes.learning.predictor_cv import valence_cross_validation
    from siox_xanes.measured.normalise import Normalisation
    from test_measured import LEARNING, SETTINGS, synthetic_cubes

    sites, systems = synthetic_cubes(n=270, n_cells=27)  # three cells per composition
    sites = sites.assign_coords(atom_index=("site", np.arange(270)))
    copies = sites.copy(deep=True)
    copies["mu"].values += np.random.default_rng(1).normal(0, 0.01, copies["mu"].shape)
    both = xr.concat([sites.assign(fidelity=("site", np.zeros(270, np.int8))),
                      copies.assign(fidelity=("site", np.ones(270, np.int8)))], dim="site")
    settings = PredictorSettings.from_config({**SETTINGS, "ensemble_members": 1})
    learning = {**LEARNING, "training": {**LEARNING["training"], "max_epochs": 10}}
    logged = []
    cv = valence_cross_validation(both, systems, learning, Normalisation(), settings, folds=3, bins=(1,), log=logged.append)
    scored = cv["calibrations"]["bins_1"]
    assert scored["site"]["all"]["n"] == 270 and scored["system"]["all"]["n"] == 27  # own sites, each once
    # each fold trains on its training cells' own sites and their copies, and on no other copy
    for line in (line for line in logged if line.startswith("fold")):
        n_test, n_cal, n_train = (int(part.split()[-3 if k == 0 else 0]) for k, part in enumerate(line.split(", ")[:3]))
        assert n_train == 2 * 10 * (27 - n_test - n_cal)


def test_the_splits_count_own_and_lower_fidelity_training_sites_apart(pair):
    from siox_xanes.learning.evaluation import evaluate_splits

    own, lower = pair
    p = pooled(own, lower)
    keys = SiteKeys.of(p)
    tiny = NetConfig(hidden=[16], max_epochs=3, patience=2)
    res = evaluate_splits(p.mu_norm.values, p.bader_charge.values, p.cell.values.astype(str), p.x.values, tiny,
                          ["by_cell"], 0.25, 0, keys=keys)
    fold = res["by_cell"]["folds"]["cells"]
    assert fold["n_train"] + res["by_cell"]["n_test"] == own.sizes["site"]
    assert 0 < fold["n_train_lower_fidelity"] < lower.sizes["site"]
