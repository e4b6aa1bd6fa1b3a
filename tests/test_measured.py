"""Measured spectra: real XDI/Athena files, their errors, normalisation, energy alignment,
augmentation, conformal intervals, class fractions and the `siox-xanes predict` command.

Model-dependent tests train on a SYNTHETIC TEST FIXTURE (tests/synthetic.py), never a result."""

import gzip
import json
import shutil

import numpy as np
import pytest
import xarray as xr

from conftest import ROOT
from synthetic import GRID, R, synthetic_fixture, write_xdi

from siox_xanes.cli import main as cli_main
from siox_xanes.learning.augment import lorentzian_broadened, shifted
from siox_xanes.learning.fractions import CLASS_NAMES, as_fractions, class_fractions, random_mixtures
from siox_xanes.learning.nets import net_config
from siox_xanes.learning.domain import domain_distances, fit_domain
from siox_xanes.learning.predictor import (PredictorSettings, augmented_net_config, load_predictor, save_predictor,
                                          train_predictor, valence_conformal, valence_halfwidth)
from siox_xanes.learning.predictor_cv import cell_bootstrap_interval, cell_folds, summary, valence_cross_validation
from siox_xanes.learning.uncertainty import cell_split, conformal_halfwidth, coverage
from siox_xanes.measured.align import fit_shift, larch_window_args
from siox_xanes.measured.normalise import Normalisation, normalise
from siox_xanes.measured.readers import SpectrumFileError, read_spectra

# one xdist worker: the session-scoped fixtures (trained models) are made once (module scope
# would remake them whenever another module's test runs in between on that worker)
pytestmark = pytest.mark.xdist_group("measured")

XAS = ROOT / "tests/data/xas"


def athena_project(path, groups: dict):
    """A real Athena project written by xraylarch: name -> (energy, mu, element)."""
    from larch import Group
    from larch.io import create_athena

    project = create_athena(str(path))
    for name, (energy, mu, element) in groups.items():
        project.add_group(Group(energy=np.asarray(energy), mu=np.asarray(mu), filename=name, atsym=element, edge="K"))
    project.save()
    return path


def si_edge(energy, e0=1843.0):
    return 1 / (1 + np.exp(-(energy - e0) / 0.8)) + 1.5 * np.exp(-0.5 * ((energy - e0 - 3) / 1.2) ** 2)


# ---------------------------------------------------------------- reading files

def test_real_xdi_files_of_other_edges_are_refused_by_name():
    for name, element in (("CaSO4_rt_01.xdi", "S"), ("bad_00.xdi", "Cu")):
        with pytest.raises(SpectrumFileError, match=rf"{name}: element '{element}' \(edge 'K'\): expected Si K"):
            read_spectra(XAS / name)


@pytest.mark.parametrize("name, message", [
    ("bad_13.xdi", r"line 31: 3 values, the header declares 4 columns"),
    ("bad_15.xdi", r"line 29: NaN or infinite value 'nan'"),
    ("bad_16.xdi", r"line 30: 'STRING' is not a number"),
    ("bad_01.xdi", r"4 values, expected two columns"),  # no XDI line: read as text, which must be 2 columns
])
def test_bad_xdi_examples_give_clear_errors(name, message):
    with pytest.raises(SpectrumFileError, match=rf"{name}: .*{message}"):
        read_spectra(XAS / name)


def test_a_si_k_xdi_file_reads_with_its_columns(tmp_path):
    e = np.arange(1800.0, 1900.0, 0.2)
    s = read_spectra(write_xdi(tmp_path / "si.xdi", e, si_edge(e)))
    assert len(s) == 1 and s[0].element == "Si" and np.allclose(s[0].energy, e) and np.allclose(s[0].mu, si_edge(e), rtol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("kev_unit", "energies are in keV"),
    ("kev_values", "look like keV"),
    ("duplicate", "duplicate energy 1850.0000 eV"),
    ("decreasing", "energies not increasing"),
    ("truncated", "expected at least 10"),
    ("other_edge", "edge 'L3' of Si: expected the Si K edge"),
])
def test_array_problems_are_named(tmp_path, case, message):
    e = np.arange(1800.0, 1900.0, 0.5)
    mu = si_edge(e)
    kw = {}
    if case == "kev_unit":
        kw["unit"] = "keV"
    elif case == "kev_values":
        e = e / 1000
    elif case == "duplicate":
        e = e.copy()
        e[101] = e[100]
    elif case == "decreasing":
        e = e.copy()
        e[50], e[51] = e[51], e[50]
    elif case == "truncated":
        e, mu = e[:5], mu[:5]
    elif case == "other_edge":
        kw["edge"] = "L3"
    path = write_xdi(tmp_path / f"{case}.xdi", e, mu, **kw)
    with pytest.raises(SpectrumFileError, match=rf"{case}.xdi.*{message}"):
        read_spectra(path)


def test_empty_and_text_files(tmp_path):
    (tmp_path / "empty.dat").write_text("")
    with pytest.raises(SpectrumFileError, match="empty.dat: empty file"):
        read_spectra(tmp_path / "empty.dat")
    e = np.arange(1800.0, 1900.0, 0.5)
    (tmp_path / "ok.csv").write_text("energy_eV,mu\n" + "".join(f"{a},{b}\n" for a, b in zip(e, si_edge(e))))
    assert np.allclose(read_spectra(tmp_path / "ok.csv")[0].mu, si_edge(e))
    (tmp_path / "kev.csv").write_text("energy_keV,mu\n" + "".join(f"{a / 1000},{b}\n" for a, b in zip(e, si_edge(e))))
    with pytest.raises(SpectrumFileError, match="kev.csv: energies are in keV"):
        read_spectra(tmp_path / "kev.csv")


def test_athena_projects_real_and_broken(tmp_path):
    with pytest.raises(SpectrumFileError, match=r"CaSO4_rt_01.prj \[group 'CaSO4_rt_01'\]: element 'S' \(edge 'K'\)"):
        read_spectra(XAS / "CaSO4_rt_01.prj")
    e = np.arange(1800.0, 1900.0, 0.25)
    si = athena_project(tmp_path / "si.prj", {"quartz": (e, si_edge(e, 1846), "Si"), "sample": (e, si_edge(e), "Si")})
    spectra = read_spectra(si)
    assert [s.label for s in spectra] == ["quartz", "sample"] and np.allclose(spectra[1].mu, si_edge(e))
    data = si.read_bytes()
    (tmp_path / "cut.prj").write_bytes(data[: len(data) // 2])
    with pytest.raises(SpectrumFileError, match="cut.prj: truncated or corrupt Athena project"):
        read_spectra(tmp_path / "cut.prj")
    (tmp_path / "junk.prj").write_bytes(gzip.compress(b"# Athena project file\n@args = ('x';\n"))
    with pytest.raises(SpectrumFileError, match="junk.prj: "):
        read_spectra(tmp_path / "junk.prj")


# ---------------------------------------------------------------- normalisation and alignment

def test_normalisation_gives_edge_step_one_in_any_units():
    e = np.arange(1800.0, 1885.0, 0.2)
    settings = Normalisation()
    norm, step = normalise(e, si_edge(e), settings, computed=False)
    norm2, step2 = normalise(e, 7.5 * si_edge(e) + 0.3 + 1e-4 * (e - 1800), settings, computed=False)
    post = (e >= settings.e0_eV + settings.norm_eV[0]) & (e <= settings.e0_eV + settings.norm_eV[1])
    assert abs(norm[post].mean() - 1.0) < 0.02 and abs(norm[e < 1825].mean()) < 1e-3
    assert np.allclose(norm, norm2, atol=2e-3) and step2 / step == pytest.approx(7.5, rel=0.01)


def test_larch_alignment_window_is_the_stated_absolute_one():
    """Larch fits on [e0 - emin, e0 + emax]: with our arguments that is exactly [lo, hi]. A strong
    feature of the measurement outside the window must not move the fitted shift."""
    assert larch_window_args(1847.0, (1838.0, 1856.0)) == {"emin": 9.0, "emax": 9.0}
    ref_e = np.linspace(1830, 1880, 256)
    ref = si_edge(ref_e, 1846)
    e = np.arange(1800.0, 1900.0, 0.2)
    measured = si_edge(e - 1.3, 1846) + 3.0 * np.exp(-0.5 * ((e - 1870) / 2.0) ** 2)  # bump outside the window
    assert fit_shift(e, measured, ref_e, ref, (1838.0, 1856.0)) == pytest.approx(-1.3, abs=0.02)
    with pytest.raises(ValueError, match="not inside the computed reference"):
        fit_shift(e, measured, ref_e, ref, (1820.0, 1856.0))


# ---------------------------------------------------------------- augmentation, conformal, fractions

def test_broadening_keeps_area_and_shift_moves_features():
    e = np.linspace(1830, 1880, 501)
    peak = np.exp(-0.5 * ((e - 1850) / 0.3) ** 2)
    wide = lorentzian_broadened(e, peak, 1.0)
    assert wide.sum() == pytest.approx(peak.sum(), rel=0.02) and wide.max() < 0.5 * peak.max()
    assert e[np.argmax(shifted(e, peak, 1.5))] == pytest.approx(1851.5, abs=0.05)


def test_conformal_quantile_and_cell_split():
    rng = np.random.default_rng(1)
    res = rng.normal(0, 1, 2000)
    q = conformal_halfwidth(res[:1000], 0.9)
    assert coverage(res[1000:], np.zeros(1000), q)["coverage"] == pytest.approx(0.9, abs=0.03)
    assert np.isinf(conformal_halfwidth(res[:5], 0.9)).all()  # ceil(6 * 0.9) = 6 > 5 samples
    split = cell_split([f"c{i}" for i in range(20)], 0.2, 0.2, 3)
    assert sorted(np.bincount(list(split.values()))) == [4, 4, 12] and split == cell_split(list(split)[::-1], 0.2, 0.2, 3)
    with pytest.raises(ValueError, match="at least 3"):
        cell_split(["a", "b"], 0.2, 0.2, 0)


def test_cell_folds_hold_each_cell_once_and_every_composition_in_each_fold():
    cells = [f"x{x:.2f}_seed{s}" for x in (0.0, 1.0, 2.0) for s in range(1, 6)]
    folds = cell_folds(cells, 5, 0.2, seed=0)
    tests = [c for t, _ in folds for c in t]
    assert sorted(tests) == sorted(cells)  # every cell is a test cell exactly once
    for test, cal in folds:
        assert {c[:5] for c in test} == {c[:5] for c in cal} == {"x0.00", "x1.00", "x2.00"}
        assert not set(test) & set(cal)
    assert folds == cell_folds(cells[::-1], 5, 0.2, seed=0) != cell_folds(cells, 5, 0.2, seed=1)
    with pytest.raises(ValueError, match=">= 3 cells per composition"):
        cell_folds(cells[:-3], 5, 0.2, seed=0)


def test_the_coverage_interval_resamples_cells_not_sites():
    """Five cells of 20 sites at 90 % overall: when whole cells are in or out the interval is wide,
    when every cell holds 18 of 20 it is a point; the summary reports it per composition."""
    cells = np.repeat([f"x1.00_seed{s}" for s in range(1, 6)], 20)
    mixed = np.tile(np.arange(20) < 18, 5)  # 18 of 20 inside in every cell
    lumped = np.repeat([True, True, True, True, False], 20) | (np.arange(100) % 20 < 10)  # 90 % too
    assert mixed.mean() == lumped.mean() == 0.9
    assert cell_bootstrap_interval(mixed, cells, seed=0) == [0.9, 0.9]
    lo, hi = cell_bootstrap_interval(lumped, cells, seed=0)
    assert lo <= 0.8 and hi == 1.0
    rows = [(c, 0.0, 0.0 if ok else 1.0, 0.5, 0.1) for c, ok in zip(cells, lumped)]  # truth, mean, half, residual
    s = summary({"site": rows}, seed=0)["site"]
    assert s["by_composition"]["1.00"]["coverage"] == 0.9
    assert s["by_composition"]["1.00"]["coverage_interval_95"] == [lo, hi]


class FixedEnsemble:
    """Stands in for an ensemble: its mean is the input's first column, its spread a constant."""

    def predict(self, x):
        return x[:, :1], np.full((len(x), 1), 0.1)


def test_mondrian_bins_hold_the_coverage_along_the_valence_where_one_scale_does_not():
    # errors five times larger at high valence (as at the silica end): one scale over-covers the low
    # valences and under-covers the high; a scale per bin of the predicted valence covers both
    rng = np.random.default_rng(0)

    def draw(n):
        mean = rng.uniform(0, 3, n)
        x = np.column_stack([mean, rng.normal(0, 1e-3, (n, 3))])
        return x, mean + rng.normal(0, 1, n) * np.where(mean > 1.5, 0.5, 0.1)

    x_cal, y_cal = draw(4000)
    x_test, y_test = draw(4000)
    domain = fit_domain(x_cal, x_cal)
    high = x_test[:, 0] > 1.5
    for bins, low_ok, high_ok in ((1, lambda c: c > 0.97, lambda c: c < 0.85), (4, lambda c: abs(c - 0.9) < 0.03,
                                                                                  lambda c: abs(c - 0.9) < 0.03)):
        cal = valence_conformal(FixedEnsemble(), domain, x_cal, y_cal, 0.9, bins)
        assert len(cal["valence_bin_scales"]) == bins
        half = valence_halfwidth(cal, x_test[:, 0], np.full(len(x_test), 0.1), domain_distances(domain, x_test)[1])
        inside = np.abs(y_test - x_test[:, 0]) <= half
        assert low_ok(inside[~high].mean()) and high_ok(inside[high].mean()), (bins, inside[~high].mean(), inside[high].mean())


class SpreadEnsemble:
    """Its mean is the input's first column, its spread the second: a spread that tracks the error."""

    def predict(self, x):
        return x[:, :1], x[:, 1:2]


def test_a_lower_floor_narrows_the_intervals_of_easy_inputs():
    # 40 % of sites easy (spread 0.05, as pure silica), 60 % hard (0.5). The median spread as the
    # floor makes every interval at least 0.5 wide: the easy sites are all covered, the hard ones
    # too rarely. The lowest spread as the floor narrows the easy sites' intervals (the floor is
    # added to the spread, so it still doubles their width: an input's width is never the spread alone).
    rng = np.random.default_rng(1)

    def draw(n):
        sigma = np.where(rng.uniform(size=n) < 0.4, 0.05, 0.5)
        x = np.column_stack([rng.uniform(0, 3, n), sigma, rng.normal(0, 1e-3, (n, 2))])
        return x, x[:, 0] + rng.normal(0, 1, n) * sigma

    x_cal, y_cal = draw(4000)
    x_test, y_test = draw(4000)
    domain = fit_domain(x_cal, x_cal)
    easy = x_test[:, 1] < 0.1
    coverage = {}
    for q, floor in ((0.5, 0.5), (0.0, 0.05)):
        cal = valence_conformal(SpreadEnsemble(), domain, x_cal, y_cal, 0.9, 1, floor_quantile=q)
        assert cal["difficulty"]["spread_floor"] == pytest.approx(floor)
        half = valence_halfwidth(cal, x_test[:, 0], x_test[:, 1], domain_distances(domain, x_test)[1])
        inside = np.abs(y_test - x_test[:, 0]) <= half
        coverage[q] = (inside[easy].mean(), inside[~easy].mean())
    assert coverage[0.5][0] > 0.99 and coverage[0.5][1] < 0.86, coverage
    assert coverage[0.0][0] < coverage[0.5][0], coverage


def test_random_mixtures_are_averages_with_their_class_fractions():
    x = np.eye(5)[[0, 1, 2, 3, 4, 4]]
    n_o = np.array([0, 1, 2, 3, 4, 4])
    spectra, targets = random_mixtures(x, n_o, 50, 10, seed=0)
    assert np.allclose(targets.sum(axis=1), 1) and np.allclose(spectra, targets)  # one-hot spectra: average = fractions
    # with values per site, each mixture's mean value: here the O count, so sum_k k f_k
    again, _, means = random_mixtures(x, n_o, 50, 10, seed=0, values=n_o)
    assert np.array_equal(again, spectra) and np.allclose(means, targets @ np.arange(5))
    assert np.allclose(class_fractions([0, 4, 4, 7]), [0.25, 0, 0, 0, 0.75])
    assert np.allclose(as_fractions(np.array([[-0.1, 0.3, 0.1, 0.0, 0.0]])), [[0, 0.75, 0.25, 0, 0]])


# ---------------------------------------------------------------- the predictor end to end

LEARNING = {"candidates": {"valence": [{"hidden": [64, 64], "activation": "leaky_relu", "learning_rate": 1e-3}],
                           "rdf": [{"hidden": [64, 64], "activation": "relu", "learning_rate": 1e-3}]},
            "training": {"batch_size": 128, "max_epochs": 150, "patience": 15, "validation_fraction": 0.1}}
SETTINGS = {"seed": 0, "ensemble_members": 3, "confidence": 0.9, "calibration_fraction": 0.2, "test_fraction": 0.2,
            "augmentation": {"copies": 3, "shift_eV": 1.0, "broadening_eV": [0.5, 1.5], "noise": 0.02, "norm_range_eV": 3.0},
            "fractions": {"mixtures": 1500, "max_sites": 32},
            "robustness": {"shift_eV": [0.0, 1.0], "broadening_eV": [0.0, 1.0], "noise": [0.0, 0.05],
                           "norm_jitter_eV": [0.0, 4.0]},
            "alignment": {"reference": "alpha_quartz", "window_eV": {"alpha_quartz": [1838.0, 1856.0],
                                                                     "diamond_si": [1835.0, 1850.0]}, "array": "norm"}}


def test_augmented_members_get_their_own_early_stopping_bounds_never_looser_than_the_cv():
    cv = net_config({"hidden": [8], "patience": 200}, LEARNING["training"])
    assert augmented_net_config(cv, None) is cv
    bounded = augmented_net_config(cv, {"max_epochs": 300, "patience": 25})
    assert (bounded.max_epochs, bounded.patience, bounded.hidden) == (150, 25, [8])  # max_epochs 150 is the CV's
    with pytest.raises(ValueError, match="augmented_training.*dropout"):
        augmented_net_config(cv, {"dropout": 0.5})
    assert PredictorSettings.from_config(SETTINGS).augmented_training is None  # absent: the CV's bounds
    bounded = PredictorSettings.from_config({**SETTINGS, "augmented_training": {"max_epochs": 120, "patience": 10}})
    assert bounded.augmented_training == {"max_epochs": 120, "patience": 10}


def synthetic_cubes(n=500, n_cells=25, seed=0):
    mu, q, rdf, n_o = synthetic_fixture(n=n, seed=seed)
    cells = np.array([f"x{(k % 9) * 0.25:.2f}_seed{k // 9 + 1}" for k in range(n_cells)])[np.arange(n) % n_cells]
    sites = xr.Dataset({"mu": (("site", "energy"), mu), "bader_charge": ("site", q), "rdf_total": (("site", "r"), rdf),
                        "n_o_neighbours": ("site", n_o)}, coords={"energy": GRID, "r": R, "cell": ("site", cells)})
    names = np.unique(cells)
    groups = [np.flatnonzero(cells == c) for c in names]
    systems = xr.Dataset({"mu": (("system", "energy"), np.array([mu[g].mean(0) for g in groups])),
                          "mean_bader_charge": ("system", [q[g].mean() for g in groups]),
                          "rdf_total": (("system", "r"), np.array([rdf[g].mean(0) for g in groups]))},
                         coords={"energy": GRID, "r": R, "cell": ("system", names)})
    return sites, systems


def silicon_reference(sites):
    """Stands in for the computed diamond Si: a site without O."""
    return sites["mu"].values[np.argmin(sites["n_o_neighbours"].values)]


@pytest.fixture(scope="session")
def predictor_file(tmp_path_factory):
    sites, systems = synthetic_cubes()
    quartz = sites["mu"].values[np.argmax(sites["n_o_neighbours"].values)]  # stands in for the computed alpha-quartz
    bundle, evaluation, robustness = train_predictor(
        sites, systems, {"alpha_quartz": (GRID, quartz), "diamond_si": (GRID, silicon_reference(sites))}, LEARNING,
        Normalisation(), PredictorSettings.from_config(SETTINGS), log=lambda *a: None)
    path = tmp_path_factory.mktemp("predictor") / "predictor.pt"
    save_predictor(path, bundle)
    return path, sites, quartz, evaluation, robustness


def test_predictor_coverage_and_robustness_rows(predictor_file):
    _, sites, _, ev, rob = predictor_file
    assert ev["n_sites"]["calibration"] == 100 and ev["n_sites"]["test"] == 100
    assert 0.8 <= ev["coverage"]["valence_sites"]["coverage"] <= 0.98
    assert 0.8 <= ev["coverage"]["rdf_sites"]["coverage"] <= 1.0
    assert ev["metrics"]["valence_sites"]["r2"] > 0.9
    assert all(0.7 <= c["coverage"] <= 1.0 for c in ev["valence_coverage_by_composition"].values())
    assert ev["fractions_systems"]["coverage"]["coverage"] >= 0.7
    assert len(ev["epochs"]["valence"]) == 3 and ev["fractions_systems"]["classes"] == list(CLASS_NAMES)
    kinds = {(r["perturbation"], r["model"]) for r in rob}
    assert len(kinds) == 8  # shift, broadening, noise, normalisation range x two models
    broad = {r["model"]: r["valence_rmse"] for r in rob if r["perturbation"] == "broadening_eV" and r["value"] == 1.0}
    assert broad["augmented"] < broad["without_augmentation"]  # what the augmentation is for
    # the RDF's curves (augmented ensemble) and the normalisation's: the error grows with the perturbation
    rdf = {(r["perturbation"], r["value"]): r["rdf_rmse"] for r in rob if r["model"] == "augmented"}
    assert all(np.isfinite(v) and v > 0 for v in rdf.values())
    assert rdf["noise", 0.05] > rdf["noise", 0.0]
    assert not any("rdf_rmse" in r for r in rob if r["model"] == "without_augmentation")
    jitter = {r["value"]: r["valence_rmse"] for r in rob if r["model"] == "without_augmentation"
              and r["perturbation"] == "norm_jitter_eV"}
    assert jitter[4.0] > jitter[0.0]


@pytest.mark.slow
def test_cross_validation_scores_every_cell_once_per_calibration():
    sites, systems = synthetic_cubes(n=270, n_cells=27)  # three cells per composition
    settings = PredictorSettings.from_config({**SETTINGS, "ensemble_members": 1, "valence_bins": 3})
    learning = {**LEARNING, "training": {**LEARNING["training"], "max_epochs": 30}}
    cv = valence_cross_validation(sites, systems, learning, Normalisation(), settings, folds=3, bins=(1, 3),
                                  log=lambda *a: None, known_composition=True)
    assert set(cv["calibrations"]) == {"bins_1", "bins_3", "bins_1_by_composition", "bins_3_by_composition"}
    # one scale per composition from the other folds' sites of that composition: same sites,
    # same errors, other widths
    one, known = cv["calibrations"]["bins_1"]["site"], cv["calibrations"]["bins_1_by_composition"]["site"]
    assert known["all"]["n"] == 270 and known["all"]["rmse"] == one["all"]["rmse"]
    assert [c["median_halfwidth"] for c in known["by_composition"].values()] != \
        [c["median_halfwidth"] for c in one["by_composition"].values()]
    for c in cv["calibrations"].values():
        assert c["site"]["all"]["n"] == 270 and c["system"]["all"]["n"] == 27  # each once, by models that never saw it
        assert set(c["site"]["by_composition"]) == {f"{0.25 * k:.2f}" for k in range(9)}
        assert 0.75 <= c["site"]["all"]["coverage"] <= 1.0
        assert c["site"]["median_halfwidth_farthest_quarter"] >= c["site"]["median_halfwidth_nearest_quarter"]


def test_computed_spectra_treated_as_measurements_land_in_their_intervals(predictor_file, tmp_path, capsys):
    """Done-when of the measured path: computed spectra of test cells, shifted by a known amount,
    scaled, resampled to 0.2 eV, noisy, written as XDI, go through the command in one call with the
    (equally treated) quartz reference; the shift is found, the answers are those of the computed
    spectra and land in their 90 % intervals as often as the calibration promises."""
    from siox_xanes.measured.normalise import normalise_many

    path, sites, quartz, _, _ = predictor_file
    predictor = load_predictor(path)
    rng = np.random.default_rng(5)
    applied = 2.7
    e = np.arange(1805.0, 1905.0, 0.2)

    def as_measured(mu):
        return 4.2 * np.interp(e - applied, GRID, mu) + 0.08 + rng.normal(0, 0.004, len(e))

    test = [i for i, c in enumerate(sites["cell"].values) if c in predictor.bundle["training"]["cells"]["test"]][:30]
    write_xdi(tmp_path / "quartz.xdi", e, as_measured(quartz))
    files = [str(write_xdi(tmp_path / f"sample{k:03d}.xdi", e, as_measured(sites["mu"].values[k]))) for k in test]
    shutil.copy(XAS / "CaSO4_rt_01.xdi", tmp_path)
    rc = cli_main(["predict", *files, str(tmp_path / "CaSO4_rt_01.xdi"), "--model", str(path),
                   "--reference", str(tmp_path / "quartz.xdi"), "--reference-kind", "alpha_quartz",
                   "--plots", str(tmp_path / "png")])
    out = capsys.readouterr()
    assert rc == 2 and "CaSO4_rt_01.xdi: element 'S'" in out.err  # the bad file is named, the good ones answered
    results = json.loads(out.out)["results"]
    assert len(results) == len(test) and results[0]["shift_eV"] == pytest.approx(-applied, abs=0.1)
    computed = predictor.predict(normalise_many(GRID, sites["mu"].values[test], predictor.norm, computed=True))["valence"]
    measured = np.array([r["valence"] for r in results])
    halfwidth = predictor.bundle["conformal"]["valence_halfwidth"]
    # the measurement path (other grid, scale, offset, noise, a fitted shift) moves answers by far less than the interval
    moved = np.abs(measured - computed)
    assert moved.mean() < 0.15 * halfwidth and moved.max() < 0.6 * halfwidth, moved / halfwidth
    truth = sites["bader_charge"].values[test]
    inside = [r["valence_interval"][0] <= t <= r["valence_interval"][1] for r, t in zip(results, truth)]
    # 90 % intervals calibrated on computed spectra: >= 70 % of 30 sites (2.7 eV off would leave few inside)
    assert sum(inside) >= 21, list(zip(truth, measured))
    assert all(sum(r["fractions"].values()) == pytest.approx(1.0) and len(r["rdf"]) == len(R) for r in results)
    assert len(list((tmp_path / "png").glob("*.png"))) == len(test)
    rc = cli_main(["predict", files[0], "--model", str(path), "--shift", f"{-applied}", "--format", "csv",
                   "-o", str(tmp_path / "out.csv")])
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rc == 0 and rows[0].startswith("file,spectrum,status,shift_eV,valence_e,valence_low_e,valence_high_e")
    assert len(rows) == 2


MEASURED_E = np.arange(1805.0, 1905.0, 0.2)


def as_measured(mu, rng, energy=MEASURED_E, shift=0.0, noise=0.004, slope=0.0):
    """A computed spectrum as a beamline writes it: other grid, scale, offset, background slope, noise."""
    return (4.2 * np.interp(energy - shift, GRID, mu) + 0.08 + slope * (energy - 1840.0)
            + rng.normal(0, noise, len(energy)))


def predict_one(args, model, capsys):
    rc = cli_main(["predict", *map(str, args), "--model", str(model)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_inputs_no_model_can_answer_for_are_refused_by_name(predictor_file, tmp_path, capsys):
    """The cases of issue 36's table: each gives a clear error naming the file or argument (exit 2),
    never a number."""
    path, sites, quartz, _, _ = predictor_file
    rng = np.random.default_rng(11)
    sample = sites["mu"].values[0]
    cases = {
        "random.xdi": (MEASURED_E, rng.uniform(0, 1e6, len(MEASURED_E)), "no Si K edge"),
        "inverted.xdi": (MEASURED_E, -as_measured(sample, rng), "inverted spectrum"),
        "flat.xdi": (MEASURED_E, 1.0 + rng.normal(0, 0.01, len(MEASURED_E)), "no Si K edge"),
    }
    for start in (1829.5, 1829.0, 1825.0):  # scans that start at the model window: the pre-edge fit has no data
        e = np.arange(start, 1905.0, 0.2)
        cases[f"late_{start}.xdi"] = (e, as_measured(sample, rng, e, slope=0.01), "pre-edge range 1810-1830 eV")
    for name, (e, mu, message) in cases.items():
        rc, out, err = predict_one([write_xdi(tmp_path / name, e, mu), "--shift", "0"], path, capsys)
        assert rc == 2 and f"{name[:-4]}.xdi" in err and message in err and json.loads(out)["results"] == [], (name, err)
    # the same edge 15 eV off (a wrong --shift) is refused, not read as another valence
    good = write_xdi(tmp_path / "good.xdi", MEASURED_E, as_measured(sample, rng))
    rc, _, err = predict_one([good, "--shift", "15"], path, capsys)
    assert rc == 2 and "is the energy shift right" in err
    rc, _, err = predict_one([good, "--shift", "nan"], path, capsys)
    assert rc == 2 and "--shift nan: expected a finite number" in err
    rc, _, err = predict_one([tmp_path, "--shift", "0"], path, capsys)
    assert rc == 2 and "is a directory" in err
    (tmp_path / "plots.png").write_text("")
    rc, _, err = predict_one([good, "--shift", "0", "--plots", tmp_path / "plots.png"], path, capsys)
    assert rc == 2 and "--plots" in err and "not a folder" in err
    # references: noise, another element, another kind, a shift beyond the bound
    noise = write_xdi(tmp_path / "noise_ref.xdi", MEASURED_E, rng.normal(1, 0.05, len(MEASURED_E)))
    rc, _, err = predict_one([good, "--reference", noise], path, capsys)
    assert rc == 2 and "--reference" in err and "noise_ref.xdi" in err and "no Si K edge" in err
    iron = write_xdi(tmp_path / "fe_ref.xdi", np.arange(7000.0, 7300.0, 1.0), np.linspace(0, 1, 300), element="Fe")
    rc, _, err = predict_one([good, "--reference", iron], path, capsys)
    assert rc == 2 and "--reference" in err and "fe_ref.xdi" in err and "element 'Fe'" in err
    silicon = write_xdi(tmp_path / "si_ref.xdi", MEASURED_E, as_measured(silicon_reference(sites), rng, shift=0.8))
    rc, _, err = predict_one([good, "--reference", silicon, "--reference-kind", "alpha_quartz"], path, capsys)
    assert rc == 2 and "given as alpha_quartz but it matches diamond_si" in err
    far = write_xdi(tmp_path / "quartz_far.xdi", MEASURED_E, as_measured(quartz, rng, shift=4.5))
    rc, _, err = predict_one([good, "--reference", far], path, capsys)
    assert rc == 2 and "exceeds the bound of 3 eV" in err


def test_reference_kind_is_recognised_and_reference_channels_never_read_as_the_sample(predictor_file, tmp_path, capsys):
    path, sites, quartz, _, _ = predictor_file
    rng = np.random.default_rng(12)
    sample = sites["mu"].values[3]
    silicon = write_xdi(tmp_path / "si_ref.xdi", MEASURED_E, as_measured(silicon_reference(sites), rng, shift=0.8))
    good = write_xdi(tmp_path / "sample.xdi", MEASURED_E, as_measured(sample, rng, shift=0.8))
    rc, out, err = predict_one([good, "--reference", silicon], path, capsys)
    answer = json.loads(out)
    assert rc == 0 and answer["alignment"]["kind"] == "diamond_si" and not answer["alignment"]["kind_given"]
    assert answer["shift_eV"] == pytest.approx(-0.8, abs=0.1) and "recognised" in err
    # transmission columns with a reference channel: the sample is ln(i0/itrans), never muref
    i0 = 1e5 * (1 + 0.01 * np.sin(MEASURED_E))
    mu = as_measured(sample, rng, noise=0.0) / 4.2
    lines = ["# XDI/1.0 test/1", "# Column.1: energy eV", "# Column.2: i0", "# Column.3: itrans", "# Column.4: muref",
             "# Element.symbol: Si", "# Element.edge: K", "#----", "# energy i0 itrans muref"]
    lines += [f"{e:.4f} {a:.6g} {a * np.exp(-m):.6g} {-m:.6g}" for e, a, m in zip(MEASURED_E, i0, mu)]
    (tmp_path / "channels.xdi").write_text("\n".join(lines) + "\n")
    plain = write_xdi(tmp_path / "plain.xdi", MEASURED_E, mu)
    rc, out, _ = predict_one([tmp_path / "channels.xdi", plain, "--shift", "0"], path, capsys)
    first, second = json.loads(out)["results"]
    assert rc == 0 and first["valence"] == pytest.approx(second["valence"], abs=1e-3)
    only_ref = tmp_path / "only_ref.xdi"
    only_ref.write_text("\n".join(line.replace("Column.4: muref", "Column.2: muref") for line in
                                    ["# XDI/1.0 test/1", "# Column.1: energy eV", "# Column.4: muref",
                                     "# Element.symbol: Si", "# Element.edge: K", "#----", "# energy muref"]
                                    + [f"{e:.4f} {m:.6g}" for e, m in zip(MEASURED_E, mu)]) + "\n")
    rc, _, err = predict_one([only_ref, "--shift", "0"], path, capsys)
    assert rc == 2 and "muref: the reference channel, never read as the sample" in err


def test_answers_the_models_cannot_vouch_for_are_flagged(predictor_file, tmp_path, capsys):
    path, sites, _, _, _ = predictor_file
    rng = np.random.default_rng(13)
    inside = write_xdi(tmp_path / "site.xdi", MEASURED_E, as_measured(sites["mu"].values[5], rng))
    # a Si K edge, but a shape no training spectrum has: a bare step with a broad bump 25 eV up
    odd = 1 / (1 + np.exp(-(MEASURED_E - 1842.0) / 0.5)) + 2.0 * np.exp(-0.5 * ((MEASURED_E - 1867.0) / 2.0) ** 2)
    outside = write_xdi(tmp_path / "odd.xdi", MEASURED_E, odd + rng.normal(0, 0.003, len(MEASURED_E)))
    rc, out, _ = predict_one([inside, outside, "--shift", "0", "--plots", tmp_path / "png"], path, capsys)
    answer = json.loads(out)
    near, far = answer["results"]
    assert rc == 0 and near["status"] == "ok" and near["quality"]["flags"] == []
    assert far["status"] == "flagged" and "outside_training_domain" in far["quality"]["flags"]
    # the interval widens where the input is far from what the networks saw
    width = {k: r["valence_interval"][1] - r["valence_interval"][0] for k, r in (("near", near), ("far", far))}
    assert width["far"] > 1.5 * width["near"] > 0, width
    assert all(lo <= near["fractions"][c] <= hi for c, (lo, hi) in near["fractions_interval"].items())
    assert far["quality"]["pca_residual"] > far["quality"]["pca_residual_threshold"] > near["quality"]["pca_residual"]
    assert answer["units"]["valence"].startswith("e ") and answer["units"]["rdf_r"] == "angstrom"
    assert "normalised split-conformal" in answer["interval"]["valence"] and answer["interval"]["confidence"] == 0.9
    assert min(min(r["rdf"]) for r in (near, far)) >= 0 and min(near["rdf_band"][0]) >= 0
    assert len(list((tmp_path / "png").glob("*.png"))) == 2
    rc = cli_main(["predict", str(inside), str(tmp_path / "missing.xdi"), "--model", str(path), "--shift", "0",
                   "--format", "csv", "-o", str(tmp_path / "out.csv")])
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rc == 2 and len(rows) == 3 and rows[2].startswith(f"{tmp_path / 'missing.xdi'},,error,")


@pytest.mark.slow
def test_a_predictor_with_the_pdos_gives_it_with_a_band_and_the_local_gap_with_an_interval(tmp_path, capsys):
    """Seed 004 in `predict`: where the cube holds the PDOS the predictor trains its ensemble, calibrates
    a band per energy and the local gap's interval on held-out cells, and answers with both in JSON,
    CSV and the plot."""
    from synthetic import PDOS_GRID, synthetic_pdos

    sites, systems = synthetic_cubes(n=300, n_cells=15, seed=2)
    s, p, gap = synthetic_pdos(sites["n_o_neighbours"].values, seed=2)
    sites = sites.assign_coords(pdos_energy=PDOS_GRID).assign(
        pdos_s=(("site", "pdos_energy"), s), pdos_p=(("site", "pdos_energy"), p),
        local_gap=("site", gap, {"threshold_states_per_eV": 0.05}))
    cnn = {"kind": "cnn", "channels": [8], "kernel_size": 5, "pool": 4, "hidden": [64], "activation": "relu",
           "learning_rate": 1e-3}
    # small: its shape and its calibration, not its skill
    learning = {"candidates": {**LEARNING["candidates"], "pdos": [cnn]},
                "training": {**LEARNING["training"], "max_epochs": 60, "patience": 10}}
    settings = {**SETTINGS, "ensemble_members": 2, "fractions": {"mixtures": 300, "max_sites": 16}, "robustness": {},
                "augmentation": {**SETTINGS["augmentation"], "copies": 1}}
    quartz = sites["mu"].values[np.argmax(sites["n_o_neighbours"].values)]
    bundle, ev, _ = train_predictor(sites, systems, {"alpha_quartz": (GRID, quartz), "diamond_si": (GRID, silicon_reference(sites))},
                                    learning, Normalisation(), PredictorSettings.from_config(settings), log=lambda *a: None)
    # the local gap from the nearest training spectra: each synthetic class has one PDOS, so its
    # neighbours carry the gap (the gap read off the mean PDOS is reported beside it)
    g = ev["pdos"]
    assert g["local_gap_n"] == g["n_test"] > 0 and g["local_gap_halfwidth_median_eV"] > 0
    assert g["local_gap_mae_eV"] < 0.3 < np.std(gap) and g["local_gap_from_mean_pdos_scored"] > 0
    assert 0.6 <= ev["coverage"]["pdos_sites"]["coverage"] <= 1.0 and len(ev["epochs"]["pdos"]) == 2
    path = tmp_path / "predictor.pt"
    save_predictor(path, bundle)
    test = [i for i, c in enumerate(sites["cell"].values) if c in bundle["training"]["cells"]["test"]][:3]
    rng = np.random.default_rng(3)
    files = [write_xdi(tmp_path / f"s{k}.xdi", MEASURED_E, as_measured(sites["mu"].values[k], rng)) for k in test]
    rc, out, _ = predict_one([*files, "--shift", "0", "--plots", tmp_path / "png"], path, capsys)
    answer = json.loads(out)
    assert rc == 0 and "local_gap" in answer["interval"] and answer["units"]["pdos"].startswith("states/eV")
    for r, k in zip(answer["results"], test):
        assert len(r["pdos_s"]) == len(r["pdos_energy"]) == len(PDOS_GRID)
        lo, hi = (np.array(b) for b in r["pdos_p_band"])
        assert (lo >= 0).all() and (lo <= np.array(r["pdos_p"]) + 1e-12).all() and (np.array(r["pdos_p"]) <= hi + 1e-12).all()
        if r["local_gap"] is not None:
            assert r["local_gap_interval"][0] < r["local_gap"] < r["local_gap_interval"][1]
    inside = [r["local_gap_interval"][0] <= g <= r["local_gap_interval"][1]
              for r, g in zip(answer["results"], gap[test]) if r["local_gap"] is not None]
    assert inside and np.mean(inside) >= 2 / 3
    assert len(list((tmp_path / "png").glob("*.png"))) == 3
    assert cli_main(["predict", str(files[0]), "--model", str(path), "--shift", "0", "--format", "csv",
                     "-o", str(tmp_path / "out.csv")]) == 0
    header, row = (tmp_path / "out.csv").read_text().splitlines()
    assert header.endswith("local_gap_eV,local_gap_low_eV,local_gap_high_eV") and len(row.split(",")) == len(header.split(","))


def test_a_stated_composition_takes_its_own_interval_scale(predictor_file, tmp_path, capsys):
    """--composition: the valence interval scaled by that composition's cross-validated scale (the
    mean and the difficulty unchanged); a composition outside the calibrated ones, or a predictor
    without per-composition scales, is refused by name."""
    import torch

    path, sites = predictor_file[:2]
    bundle = torch.load(path, weights_only=False)
    scales = {f"{0.25 * k:.2f}": 0.5 + 0.25 * k for k in range(9)}
    bundle["conformal"]["valence_scale_by_composition"] = scales
    scaled = tmp_path / "scaled.pt"
    save_predictor(scaled, bundle)
    write_xdi(tmp_path / "s.xdi", MEASURED_E, as_measured(sites["mu"].values[3], np.random.default_rng(2)))

    def answer(*extra, model=scaled):
        rc, out, err = predict_one([tmp_path / "s.xdi", "--shift", "0", *extra], model, capsys)
        return rc, (json.loads(out) if rc == 0 else None), err

    _, plain, _ = answer()
    _, known, _ = answer("--composition", "1.8")  # the nearest calibrated composition: 1.75
    half = lambda r: (r["valence_interval"][1] - r["valence_interval"][0]) / 2  # noqa: E731
    [p], [k] = plain["results"], known["results"]
    assert k["valence"] == p["valence"] and p["valence_interval_composition"] is None
    assert k["valence_interval_composition"] == "1.75" and "x = 1.75" in known["interval"]["valence"]
    assert half(k) / half(p) == pytest.approx(scales["1.75"] / bundle["conformal"]["valence_scale"], rel=1e-6)
    rc, _, err = answer("--composition", "2.6")
    assert rc == 2 and "--composition: composition x = 2.6 of SiOx: expected 0.00 <= x <= 2.00" in err
    rc, _, err = answer("--composition", "1", model=path)
    assert rc == 2 and "--composition: this predictor has no per-composition interval scales" in err


def test_predict_names_what_is_wrong(predictor_file, tmp_path, capsys):
    path = predictor_file[0]
    e = np.arange(1835.0, 1870.0, 0.2)  # misses the model window 1830-1880
    write_xdi(tmp_path / "short.xdi", e, si_edge(e))
    assert cli_main(["predict", str(tmp_path / "short.xdi"), "--model", str(path), "--shift", "0"]) == 2
    assert "short.xdi [short]: covers 1835.00-1869.80 eV" in capsys.readouterr().err
    assert cli_main(["predict", str(tmp_path / "short.xdi"), "--model", str(tmp_path / "short.xdi"), "--shift", "0"]) == 2
    assert "not a predictor file" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the energy scale must be stated
        cli_main(["predict", str(tmp_path / "short.xdi"), "--model", str(path)])


def test_importing_larch_keeps_the_job_log(tmp_path):
    """larch sets the root logger to WARNING on import; a rule's INFO lines must survive."""
    import subprocess
    import sys

    code = ("import logging, sys\n"
            "logging.basicConfig(level=logging.INFO, stream=sys.stdout, force=True)\n"
            "from siox_xanes.measured.normalise import normalise, Normalisation\n"
            "import numpy as np\n"
            "e = np.linspace(1830, 1880, 100)\n"
            "normalise(e, 1 / (1 + np.exp(-(e - 1843))), Normalisation(), computed=True)\n"
            "logging.getLogger('job').info('still logged')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "still logged" in out
