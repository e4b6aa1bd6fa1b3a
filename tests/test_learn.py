"""Learning code on a SYNTHETIC TEST FIXTURE (never a result): spectra whose white
line moves and grows with a known valence, RDFs with known first shells."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from siox_xanes.learning.baseline import baseline_descriptors
from siox_xanes.learning.metrics import metrics, per_row_rmse
from siox_xanes.learning.nets import (NetConfig, cross_validate, fit, load_model, net_config, save_model,
                                     spectrum_on_model_grid, validation_split)
from siox_xanes.learning.predict import main as predict_main
from synthetic import GRID, R, synthetic_fixture

# one xdist worker: the session-scoped fixtures (trained models) are made once (module scope
# would remake them whenever another module's test runs in between on that worker)
pytestmark = pytest.mark.xdist_group("learn")

FAST = NetConfig(hidden=[256, 256, 256], activation="leaky_relu", max_epochs=300, patience=25)


@pytest.fixture(scope="session")
def data():
    return synthetic_fixture()


@pytest.fixture(scope="session")
def valence_model(data):
    mu, q, _, _ = data
    return fit(mu[:600], q[:600], FAST, seed=1)


def test_valence_network_beats_linear_baseline(data, valence_model):
    mu, q, _, _ = data
    pred = valence_model.predict(mu[600:]).ravel()
    nn = metrics(q[600:], pred)
    d = baseline_descriptors(GRID, mu)
    lin = LinearRegression().fit(d[:600], q[:600])
    base = metrics(q[600:], lin.predict(d[600:]))
    assert nn["r2"] > 0.9
    assert nn["rmse"] < base["rmse"]


@pytest.mark.slow
def test_rdf_network_learns_first_shells(data):
    mu, _, rdf, n_o = data
    model = fit(mu[:600], rdf[:600], NetConfig(hidden=[256, 256, 256], activation="relu", max_epochs=150, patience=20), seed=2)
    pred = model.predict(mu[600:])
    assert pred.shape == rdf[600:].shape
    assert np.median(per_row_rmse(rdf[600:], pred)) < 0.5 * np.median(per_row_rmse(rdf[600:], np.full_like(pred, rdf[:600].mean(0))))


def test_training_is_deterministic_on_cpu(data):
    mu, q, _, _ = data
    cfg = NetConfig(hidden=[32, 32], max_epochs=20, patience=5)
    a = fit(mu[:200], q[:200], cfg, seed=3).predict(mu[200:260])
    b = fit(mu[:200], q[:200], cfg, seed=3).predict(mu[200:260])
    assert np.array_equal(a, b)


def test_the_validation_fold_by_group_keeps_each_group_on_one_side(data):
    groups = np.repeat(np.arange(40), 9)  # 40 sites, each with its 8 augmented copies
    val, train = validation_split(len(groups), 0.1, seed=3, groups=groups)
    assert set(groups[val]).isdisjoint(groups[train]) and len(set(groups[val])) == 4
    assert sorted(np.concatenate([val, train])) == list(range(len(groups)))
    assert not np.array_equal(val, validation_split(len(groups), 0.1, seed=4, groups=groups)[0])
    plain_val, _ = validation_split(len(groups), 0.1, seed=3)  # without groups: rows, copies on both sides
    assert len(plain_val) == 36 and not set(groups[plain_val]).isdisjoint(groups[np.setdiff1d(np.arange(360), plain_val)])
    with pytest.raises(ValueError, match="two groups"):
        validation_split(5, 0.5, seed=0, groups=np.zeros(5))
    mu, q, _, _ = data
    model = fit(mu[:90], q[:90], NetConfig(hidden=[16], max_epochs=5, patience=2), seed=0, groups=np.arange(90) // 9)
    assert len(model.history["val_loss"]) <= 5


@pytest.mark.slow
def test_fine_tuning_goes_on_from_the_started_network_and_leaves_it_unchanged(data, valence_model):
    mu, q, _, _ = data
    before = valence_model.predict(mu[600:640])
    # learning rate 0: the started weights and standardisation are all there is
    frozen = fit(mu[:40], q[:40], NetConfig(hidden=[8], learning_rate=0.0, max_epochs=3, patience=1), seed=5,
                 start=valence_model)
    assert np.array_equal(frozen.predict(mu[600:640]), before)
    assert [m.out_features for m in frozen.net if hasattr(m, "out_features")] == [256, 256, 256, 1]  # its architecture
    tuned = fit(mu[:40], q[:40] + 0.5, NetConfig(learning_rate=1e-3, max_epochs=200, patience=20), seed=5, start=valence_model)
    assert np.array_equal(valence_model.predict(mu[600:640]), before)  # the started network is not touched
    # it learned the offset of the new data (a valence 0.5 e higher) from 40 sites
    assert np.mean(tuned.predict(mu[600:640]) - before) == pytest.approx(0.5, abs=0.2)
    with pytest.raises(ValueError, match="fine-tuning a network of 256 inputs and 1 outputs on data of 100 and 1"):
        fit(mu[:40, :100], q[:40], FAST, seed=5, start=valence_model)


def test_a_candidate_sets_its_own_regularisation_and_patience(data):
    mu, q, _, _ = data
    training = {"batch_size": 64, "max_epochs": 400, "patience": 3, "validation_fraction": 0.1}
    cfg = net_config({"hidden": [32, 32], "activation": "relu", "learning_rate": 1e-3, "weight_decay": 1e-4,
                      "dropout": 0.2, "patience": 30}, training)
    assert (cfg.patience, cfg.dropout, cfg.weight_decay, cfg.batch_size) == (30, 0.2, 1e-4, 64)
    model = fit(mu[:200], q[:200], cfg, seed=1)
    assert sum(type(m).__name__ == "Dropout" for m in model.net) == 2
    # patience 30: training runs at least 30 epochs past the best one (or to max_epochs)
    assert len(model.history["val_loss"]) >= min(model.epochs + 30, cfg.max_epochs)
    a, b = model.predict(mu[200:230]), model.predict(mu[200:230])
    assert np.array_equal(a, b)  # dropout is off when predicting
    with pytest.raises(ValueError, match="dropout 1.0"):
        fit(mu[:50], q[:50], net_config({"hidden": [4], "dropout": 1.0}, training), seed=0)


@pytest.mark.slow
def test_cross_validation_picks_lowest_rmse(data):
    mu, q, _, _ = data
    tiny = NetConfig(hidden=[2], max_epochs=5, patience=2)
    good = NetConfig(hidden=[64, 64], max_epochs=80, patience=10)
    best, table = cross_validate(mu[:300], q[:300], [tiny, good], k=5, seed=0)
    assert best is good and len(table[0]["fold_rmse"]) == 5
    assert table[1]["mean_rmse"] < table[0]["mean_rmse"]


def test_model_file_round_trip_and_predict_command(data, valence_model, tmp_path, capsys):
    mu, q, _, _ = data
    meta = {"target": "valence", "energy": GRID.tolist(), "window_eV": [1830.0, 1880.0], "config_sha256": "x"}
    save_model(tmp_path / "valence.pt", valence_model, meta)
    back, meta_back = load_model(tmp_path / "valence.pt")
    assert meta_back == meta
    assert np.allclose(back.predict(mu[:5]), valence_model.predict(mu[:5]))
    np.savetxt(tmp_path / "spec.dat", np.column_stack([GRID, mu[0]]), header="energy intensity")
    assert predict_main([str(tmp_path / "spec.dat"), "--valence", str(tmp_path / "valence.pt")]) == 0
    assert '"valence"' in capsys.readouterr().out
    # a spectrum that stops short of the model's window is rejected, naming both ranges
    np.savetxt(tmp_path / "short.dat", np.column_stack([GRID[:200], mu[0, :200]]))
    assert predict_main([str(tmp_path / "short.dat"), "--valence", str(tmp_path / "valence.pt")]) == 2
    assert "the model needs 1830.00-1880.00 eV" in capsys.readouterr().err


def test_spectrum_checks():
    with pytest.raises(ValueError, match="NaN"):
        spectrum_on_model_grid(GRID, np.full(256, np.nan), GRID)
    with pytest.raises(ValueError, match="model needs"):
        spectrum_on_model_grid(GRID + 5, np.ones(256), GRID)
    out = spectrum_on_model_grid(GRID[::-1], GRID[::-1] - 1830, GRID)  # unsorted input is fine
    assert np.allclose(out, GRID - 1830)


def test_baseline_descriptors_are_what_the_docs_say():
    mu = 1.0 / ((GRID - 1846.0) ** 2 + 1.0)
    wl, integral, edge = baseline_descriptors(GRID, mu)[0]
    assert wl == pytest.approx(mu.max())
    assert integral == pytest.approx(2 * np.arctan(2.0), rel=0.02)  # integral of the Lorentzian over +-2 eV
    assert edge == pytest.approx(1845.0, abs=0.05)  # half maximum of a gamma = 1 Lorentzian


def test_split_schemes_keep_their_promises():
    from siox_xanes.learning.evaluation import split_folds

    cells = np.array([f"x{k % 3 * 0.5:.2f}_seed{k % 4}" for k in range(60)])
    comps = np.array([k % 3 * 0.5 for k in range(60)])
    (_, tr, te), = split_folds("random_sites", cells, comps, 0.2, 0)
    assert len(te) == 12 and not set(tr) & set(te) and len(tr) + len(te) == 60
    (_, tr, te), = split_folds("by_cell", cells, comps, 0.25, 0)
    assert not set(cells[tr]) & set(cells[te]) and len(set(cells[te])) == 3  # 3 of the 12 cells
    folds = split_folds("leave_one_composition_out", cells, comps, 0.2, 0)
    assert [f[0] for f in folds] == ["x=0.00", "x=0.50", "x=1.00"]
    assert all(set(comps[te]) == {float(name[2:])} and float(name[2:]) not in set(comps[tr]) for name, tr, te in folds)
    with pytest.raises(ValueError, match="expected one of"):
        split_folds("by_site", cells, comps, 0.2, 0)


@pytest.mark.slow
def test_evaluation_under_splits_and_learning_curve(data):
    from siox_xanes.learning.evaluation import evaluate_splits, learning_curve

    mu, q, _, n_o = data
    mu, q, n_o = mu[:400], q[:400], n_o[:400]
    cells = np.array([f"x{k % 4 * 0.5:.2f}_seed{k % 5}" for k in range(400)])
    small = NetConfig(hidden=[64, 64], max_epochs=150, patience=15)
    res = evaluate_splits(mu, q, cells, [k % 4 * 0.5 for k in range(400)], small, ["random_sites", "by_cell",
                                                                                  "leave_one_composition_out"], 0.2, 0)
    assert res["random_sites"]["n_test"] == 80 and res["leave_one_composition_out"]["n_test"] == 400
    assert len(res["leave_one_composition_out"]["folds"]) == 4 and res["by_cell"]["test"]["r2"] > 0.8
    rows = learning_curve(mu, q, cells, small, [0.05, 1.0], 0.2, 0)
    assert [r["n_train"] for r in rows] == [16, 320] and rows[1]["rmse"] < rows[0]["rmse"]


def test_the_trained_candidate_is_the_one_the_metrics_name_else_the_cv_minimum():
    from siox_xanes.learning.training import selected_candidate

    cv = [{"candidate": 0, "mean_rmse": 0.3}, {"candidate": 1, "mean_rmse": 0.2}, {"candidate": 2, "mean_rmse": 0.4}]
    assert selected_candidate({"cv": cv}) == 1
    assert selected_candidate({"cv": []}) == 0  # one candidate, no CV
    # a sub-window trains the full window's choice and runs no CV of its own
    assert selected_candidate({"cv": [], "selected_candidate": 2}) == 2
    assert selected_candidate({"cv": cv, "selected_candidate": 0}) == 0


def test_pdos_target_cnn_and_template_matching_with_errors_per_region_and_gap(data):
    """The PDOS target (s then p) from a synthetic cube: a 1D CNN trains and predicts both halves,
    the errors come per orbital and seed 004's four regions, the local gap from the predicted p PDOS,
    and template matching is scored beside it on the same test sites."""
    import xarray as xr

    from siox_xanes.learning.nets import build_net
    from siox_xanes.learning.pdos import REGIONS_EV, orbitals, pdos_errors, template_matching
    from siox_xanes.learning.training import target_values, train_and_evaluate
    from synthetic import PDOS_GRID, synthetic_pdos

    mu, _, _, n_o = data
    mu, n_o = mu[:400], n_o[:400]
    s, p, gap = synthetic_pdos(n_o)
    ds = xr.Dataset({"mu_norm": (("site", "energy"), mu), "pdos_s": (("site", "pdos_energy"), s),
                     "pdos_p": (("site", "pdos_energy"), p), "n_o_neighbours": ("site", n_o),
                     "local_gap": ("site", gap, {"threshold_states_per_eV": 0.05}),
                     "split": ("site", (np.arange(400) % 5 == 0).astype(np.int8))},
                    coords={"energy": GRID, "pdos_energy": PDOS_GRID, "x": ("site", n_o / 2.0)})
    y = target_values(ds, "pdos")
    assert y.shape == (400, 602) and np.array_equal(orbitals(y, 301)["p"], p)
    with pytest.raises(ValueError, match=r"no \['pdos_s', 'pdos_p'\]"):
        target_values(ds.drop_vars(["pdos_s", "pdos_p"]), "pdos")

    cnn = {"kind": "cnn", "channels": [8, 16], "kernel_size": 5, "pool": 4, "hidden": [64], "activation": "relu",
           "learning_rate": 1e-3}
    assert build_net(256, 602, net_config(cnn, {})) is not None
    with pytest.raises(ValueError, match="pooling blocks leave nothing"):
        build_net(8, 602, net_config({**cnn, "channels": [4, 4, 4]}, {}))
    learning = {"seed": 0, "cv_folds": 2, "training": {"max_epochs": 60, "patience": 10, "batch_size": 64},
                "candidates": {"pdos": [cnn]}}
    res = train_and_evaluate(ds, "pdos", (1830.0, 1880.0), learning)
    m = res["metrics"]
    assert res["prediction"].shape == (400, 602)
    regions = m["test_described"]["regions"]
    assert len(regions) == 2 * len(REGIONS_EV) and "p 0 to 7.5 eV" in regions
    # the network reads the gap from the white line's position: far better than the mean PDOS
    mean_pdos = np.repeat(y[ds.split.values == 0].mean(0, keepdims=True), 80, axis=0)
    truth = y[ds.split.values == 1]
    assert m["test"]["rmse"] < 0.7 * metrics(truth, mean_pdos)["rmse"]
    assert m["test_described"]["local_gap"]["n_scored"] == 80
    # template matching on the same test sites: here each class has one PDOS, so its nearest
    # spectrum's PDOS carries the gap (a synthetic case that favours it)
    assert m["baseline"]["test_described"]["local_gap"]["mae_eV"] < 0.3 < np.std(gap)
    # template matching: a training spectrum's own PDOS comes back exactly
    assert np.array_equal(template_matching(mu[:50], y[:50], mu[10:12]), y[10:12])
    # with k neighbours: the mean of the k nearest targets (on a line, 4.2's three nearest are 4, 5, 3)
    line = np.arange(10.0)[:, None]
    assert template_matching(line, 2 * line, np.array([[4.2]]), k=3)[0, 0] == 8.0
    # seed 004's count: the share of sites whose PDOS one prediction gets closer than the other
    from siox_xanes.learning.metrics import better_share
    zero = np.zeros((3, 4))
    assert better_share(zero, zero + [[0.1], [0.3], [0.1]], zero + 0.2) == pytest.approx(2 / 3)
    exact = pdos_errors(y[:5], y[:5], PDOS_GRID, 0.05)
    assert exact["rmse"] == 0.0 and exact["local_gap"]["mae_eV"] == 0.0
