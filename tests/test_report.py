"""Energy windows, the figure rule on a small fixture, and the report table."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from conftest import ROOT
from siox_xanes import layout
from siox_xanes.report.catalog import figure_inputs, input_path
from siox_xanes.report.figures import FIGURES
from siox_xanes.report.reproduction import (
    comparison_section, comparison_table, covered_keys, flatten, headline_numbers, read_report_numbers, reference_edges,
    render, report_numbers,
)
from siox_xanes.report.spectral import spectra_by_composition
from siox_xanes.learning.training import window_mask

GRID = np.linspace(1830, 1880, 256)
LEARNING = yaml.safe_load((ROOT / "config.yaml").read_text())["learning"]
WINDOWS, ABLATION = LEARNING["windows"], LEARNING["ablation"]
FIGURE_INPUTS = figure_inputs(ABLATION, forward_evaluation=True, pdos=True)


def test_every_catalogued_figure_has_a_drawing_function():
    assert set(FIGURE_INPUTS) == set(FIGURES)
    # without ablation groups the ablation figures are not made, without forward.evaluation the
    # forward models' figures
    assert set(figure_inputs({})) == set(FIGURES) - {"fig5_window_parity", "fig6_window_rdf_rmse",
                                                      "figS5_bands_valence", "figS6_bands_rdf",
                                                      "fig11_forward_spectra", "forward_models", "selection_curves",
                                                      "pdos_windows"}
    # windows come from the config, not from a fixed list
    assert figure_inputs({"sub_windows": ["u", "v"]})["fig5_window_parity"] == ["valence_u", "valence_v", "valence_full"]


def test_sub_windows_partition_the_grid_with_edges_included():
    masks = np.array([window_mask(GRID, WINDOWS[w]) for w in "abcdefgh"])
    assert (masks.sum(axis=1) == 32).all()
    assert (masks.sum(axis=0) == 1).all()  # every grid point in exactly one sub-window
    assert masks[0, 0] and masks[-1, -1]  # 1830 and 1880 themselves are included
    edge = np.array([1836.25, 1836.25 + 1e-12])
    assert window_mask(np.array([1830.0, 1836.25]), WINDOWS["a"]).all()  # a grid point on an edge is inside
    assert window_mask(np.array([1836.25, 1840.0]), WINDOWS["b"]).all() and edge.size == 2
    low, high = window_mask(GRID, WINDOWS["low"]), window_mask(GRID, WINDOWS["high"])
    assert low.sum() == high.sum() == 128 and not (low & high).any()
    with pytest.raises(ValueError, match="at least 2"):
        window_mask(GRID, [1900.0, 1910.0])


FORWARD_KEYS = ("forward_evaluation", "forward_predictions", "selection_curves")


def write_forward_fixture(root):
    """The forward models' outputs, made by the evaluation code itself on a SYNTHETIC TEST FIXTURE."""
    from synthetic import synthetic_forward_problem

    from siox_xanes.forward.descriptors import Compressor
    from siox_xanes.forward.evaluation import evaluate_models, selection_curves, selection_orders
    from siox_xanes.forward.models import SpectrumEnsemble

    if (root / input_path("selection_curves")).exists():
        return
    rows, spectra, classes, cells, x, energy = synthetic_forward_problem()
    ensemble = SpectrumEnsemble(members=2, hidden=(8,), max_epochs=5, patience=2)  # its shape, not its skill
    table, best = evaluate_models({"soap": rows}, spectra, classes, cells, x, energy, ["ridge_raw", "ensemble"],
                                  ensemble, 3, 0, "soap")
    for key in FORWARD_KEYS:
        (root / input_path(key)).parent.mkdir(parents=True, exist_ok=True)
    (root / input_path("forward_evaluation")).write_text(json.dumps(
        {"n_sites": len(cells), "n_cells": len(set(cells)), "splits": table, "best_by_cell": best["model"]}))
    xr.Dataset({"mu_norm": (("site", "energy"), spectra), "n_o_neighbours": ("site", classes),
                "prediction": (("site", "energy"), best["prediction"]), "spread": (("site", "energy"), best["spread"])},
               coords={"energy": energy}, attrs={"model": best["model"], "split": "by_cell"}
               ).to_netcdf(root / input_path("forward_predictions"))
    features = Compressor().fit(rows).transform(rows)
    orders = selection_orders(features, spectra, cells, [15, 44], ["uncertainty_reduction", "random"], 2, 0, ensemble)
    (root / input_path("selection_curves")).write_text(json.dumps(
        {"descriptor": {"kind": "soap"}, "random_repeats": 2,
         "curves": selection_curves(features, spectra, classes, cells, [0.1, 0.3], orders,
                                    valence=(lambda averaged: averaged.mean(axis=1), classes.astype(float)))}))


def write_fixture(root):
    """Small SYNTHETIC TEST FIXTURE of every input the figures read."""
    rng = np.random.default_rng(0)
    n, nr = 40, 32
    cls = rng.integers(0, 5, n)
    split = (np.arange(n) % 4 == 0).astype(np.int8)
    cells = np.array([f"x{(k % 9) * 0.25:.2f}_seed1" for k in range(n)])
    compositions = list(yaml.safe_load((ROOT / "config.yaml").read_text())["structures"]["compositions"])
    for key in {k for keys in FIGURE_INPUTS.values() for k in keys}:
        if key == "structures":  # the default config's first-seed cells: a small Si/O crystal for each
            from ase.build import bulk

            for x in compositions:
                atoms = bulk("Si", "diamond", a=5.43, cubic=True)
                atoms.symbols[: int(4 * float(x))] = "O"
                atoms.info["x"] = float(x)
                path = root / layout.structure_path(layout.glass_cell(x, 1))
                path.parent.mkdir(parents=True, exist_ok=True)
                atoms.write(path, format="extxyz")
            continue
        path = root / input_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if key == "sites":
            xr.Dataset({"mu": (("site", "energy"), rng.random((n, 256)))},
                       coords={"energy": GRID, "x": ("site", (np.arange(n) % 9) * 0.25)}).to_netcdf(path)
        elif key == "systems":
            xr.Dataset({"mu": (("system", "energy"), rng.random((9, 256)))},
                       coords={"energy": GRID, "x": ("system", np.arange(9) * 0.25)}).to_netcdf(path)
        elif key == "averaged":
            t = rng.random((9, nr))
            xr.Dataset({"mean_valence_pred": ("system", rng.random(9) * 3), "mean_valence_true": ("system", rng.random(9) * 3),
                        "mean_rdf_pred": (("system", "r"), t + 0.1 * rng.random((9, nr))), "mean_rdf_true": (("system", "r"), t)},
                       coords={"x": ("system", np.arange(9) * 0.25), "r": np.linspace(0, 5, nr)}).to_netcdf(path)
        elif key.startswith("curve_"):
            pd.DataFrame({"fraction": [0.1, 0.5, 1.0], "n_train": [10, 50, 100], "rmse": [0.5, 0.3, 0.2]}).to_csv(path, index=False)
        elif key == "robustness":
            rows = [{"perturbation": kind, "value": v, "model": m, "valence_rmse": 0.1 + v * (0.5 if m == "plain" else 0.1),
                     "rdf_rmse": float("nan") if m == "plain" else 0.2 + v}
                    for kind in ("shift_eV", "broadening_eV", "noise", "norm_jitter_eV") for v in (0.0, 0.5, 1.0)
                    for m in ("plain", "augmented")]
            pd.DataFrame(rows).replace("plain", "without_augmentation").to_csv(path, index=False)
        elif key in FORWARD_KEYS:
            write_forward_fixture(root)
        elif key.startswith("pdos_"):  # s then p on the PDOS grid
            from synthetic import PDOS_GRID, synthetic_pdos

            s, p, _ = synthetic_pdos(cls)
            truth = np.hstack([s, p])
            xr.Dataset({"prediction": (("site", "output"), truth + 0.05 * rng.random(truth.shape)),
                        "truth": (("site", "output"), truth), "split": ("site", split)},
                       coords={"cell": ("site", cells), "atom_index": ("site", np.arange(n)), "pdos_energy": PDOS_GRID}
                       ).to_netcdf(path)
        elif key == "baseline_full":
            q = rng.random(n) * 3
            path.write_text(json.dumps({"truth": q.tolist(), "prediction": (q + 0.3 * rng.random(n)).tolist(),
                                        "split": split.tolist(), "test": {"rmse": 0.3}}))
        else:
            width = 1 if key.startswith("valence") else nr
            truth = rng.random((n, width)) * 3
            xr.Dataset({"prediction": (("site", "output"), truth + 0.2 * rng.random((n, width))), "truth": (("site", "output"), truth),
                        "split": ("site", split)},
                       coords={"cell": ("site", cells), "n_o_neighbours": ("site", cls)}).to_netcdf(path)


@pytest.mark.slow
def test_figure_rule_writes_every_figure_from_a_fixture(tmp_path):
    from conftest import run_snakemake as run, workdir_with

    write_fixture(tmp_path)
    workdir_with(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    targets = [f"results/figures/{f}.{ext}" for f in FIGURES for ext in ("png", "pdf")]
    run(["--cores", "2", "--allowed-rules", "figure", "--", *targets], cwd=tmp_path)
    for t in targets:
        assert (tmp_path / t).stat().st_size > 2000, t


def fake_context(cfg):
    m = {"test": {"rmse": 0.2, "r2": 0.9}, "epochs": 42, "test_row_rmse": {"min": 0.1, "max": 0.6}}
    return {
        "config": cfg, "ablation": cfg["learning"]["ablation"], "metrics": {f"{t}/{w}": m for t in ("valence", "rdf") for w in cfg["learning"]["windows"]},
        "baseline": {"test": {"rmse": 0.31}}, "density": {0.0: 2.25, 2.0: 2.3},
        "averaged": {"mean_valence": {"rmse": 0.1, "r2": 0.98, "max_deviation": 0.2}, "mean_rdf_rmse": {"max": 0.2}},
        "alignment": {"global_shift_eV": -13.0, "references": {"alpha_quartz": {"computed_main_peak_eV": 1846.0},
                                                               "diamond_si": {"computed_main_peak_eV": 1842.2}}},
        "edges": {"alpha_quartz": 1845.35, "diamond_si": 1839.24},
        "n_sites": 9, "n_train": 7, "n_test": 2, "n_systems": 9, "hardware": "CPU",
    }


def test_report_table_names_every_paper_number_in_words():
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    ctx = fake_context(cfg)
    text = render(paper, ctx, [("train_model", 2, 10.0, 6.0)], ["results/figures/fig3_valence_parity.png"])
    leaves = flatten(paper)
    assert len(leaves) > 60
    assert {k for k, _ in leaves} <= covered_keys(paper, ctx)  # every paper quantity has its row
    numbers = [v for _, v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for v in numbers:
        assert f"{v:.4g}" in text
    assert "`results." not in text and "structures.compositions" not in text  # quantities in words, not keys
    rows = {label: (p, o) for _, label, p, o in comparison_table(paper, ctx)}
    assert rows["valence, test RMSE (e)"] == ("0.11", "0.2")
    assert rows["valence from window f only, test R²"] == ("0.75", "0.9")
    assert rows["density of a-SiO2, g/cm³ (experiment 2.2)"] == ("2.3", "2.3")
    refs = rows["reference cells: supercell of the unit cell, SCF k / xspectra k"]
    assert refs[0] == "—" and "alpha quartz ×[2, 1, 1], k [1, 1, 1] / [1, 1, 1]" in refs[1]
    edge = next(label for label in rows if label.startswith("quartz − Si absorption-edge separation"))
    assert rows[edge] == ("—", "6.11")
    assert rows["atoms per cell at x = 0.25 (Si, O)"] == ("180, 45", f"{cfg['structures']['compositions']['0.25']['Si']}, "
                                                                     f"{cfg['structures']['compositions']['0.25']['O']}")
    assert "**Results**" in text and "Dataset of this run: 9 spectra from 9 cells; the paper's: 5290 spectra from 45 cells" in text
    assert "| train_model | 2 | 10 | 6 |" in text
    # the networks rows show what the full window's CV chose, not the config's first candidate
    assert rows["learning rate (valence / RDF network)"] == ("0.001", "0.001")
    ctx["metrics"]["valence/full"] = {**ctx["metrics"]["valence/full"], "selected_candidate": 2}
    rows = {label: o for _, label, _, o in comparison_table(paper, ctx)}
    assert rows["learning rate (valence / RDF network)"] == "0.0003 / 0.001"
    assert rows["weight decay, dropout, early-stopping patience (valence / RDF network)"] == "0.0001, 0.1, 200 / 0, 0, 50"


def test_reference_edges_from_the_aligned_reference_spectra():
    energy = np.linspace(1830, 1860, 301)
    lorentz = lambda e0: 0.8 / ((energy - e0) ** 2 + 0.64)  # noqa: E731
    spectra = xr.Dataset({"mu": (("spectrum", "energy"), np.array([lorentz(1846), lorentz(1841), lorentz(1841.2)]))},
                         coords={"energy": energy, "cell": ("spectrum", ["ref_alpha_quartz", "ref_diamond_si", "ref_diamond_si"])})
    edges = reference_edges(spectra, {"alpha_quartz": {"computed_main_peak_eV": 1846.0},
                                      "diamond_si": {"computed_main_peak_eV": 1841.1}})
    # a Lorentzian of half-width 0.8 eV rises fastest 0.46 eV below its top; the Si cell's two sites are averaged
    assert edges["alpha_quartz"] == pytest.approx(1846 - 0.8 / np.sqrt(3), abs=0.03)
    assert edges["diamond_si"] == pytest.approx(1841.1 - 0.8 / np.sqrt(3), abs=0.06)


def test_report_has_the_predictor_coverage_table():
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    ctx = fake_context(cfg) | {"predictor": {
        "confidence": 0.9, "n_sites": {"train": 300, "calibration": 100, "test": 100},
        "cells": {"train": ["a"] * 15, "calibration": ["b"] * 5, "test": ["c"] * 5},
        "valence_halfwidth": 0.167, "rdf_halfwidth_median": None,
        "coverage": {"valence_sites": {"n": 100, "coverage": 0.9}, "rdf_sites": {"n": 100, "coverage": 0.913, "whole_curve_coverage": 0.15}},
        "fractions_systems": {"n": 5, "mae": 0.05, "classes": ["Si0", "Si1+", "Si2+", "Si3+", "Si4+"]},
        "epochs": {"valence": [26, 25, 39]}}}
    text = render(paper, ctx, [], [])
    assert "| valence, test-cell sites | 100 | 90 % |  |" in text
    assert "valence ±0.167 e, RDF median unbounded (too few calibration cells)" in text
    assert "| RDF, test-cell sites (per r bin) | 100 | — (interval unbounded) |  |" in text
    assert "mean absolute error 0.050" in text
    # with the PDOS: the local gap's reading and interval, beside the gap read off the mean PDOS
    gap = {"local_gap_neighbours": 5, "n_test": 100, "local_gap_n": 100, "local_gap_mae_eV": 0.31,
           "local_gap_mean_signed_eV": 0.02, "local_gap_coverage": 0.88, "local_gap_halfwidth_median_eV": 0.9,
           "local_gap_from_mean_pdos_mae_eV": 0.62, "local_gap_from_mean_pdos_scored": 97, "pdos_halfwidth_median": 0.05}
    ctx["predictor"] = ctx["predictor"] | {"pdos": gap}
    text = render(paper, ctx, [], [])
    assert ("Local gap of 100 test-cell sites, read as the mean computed gap of the 5 nearest training spectra: "
            "MAE 0.31 eV (mean signed +0.02), coverage 88 %, median half-width ±0.900 eV; read off the "
            "ensemble's mean PDOS instead: MAE 0.62 eV (97 with a gap on the grid).") in text
    numbers = dict((q, v) for q, _, v in headline_numbers(paper, ctx | {"metrics": {}}))
    assert numbers["predictor: local gap MAE, test-cell sites (eV)"] == 0.31


def test_report_has_the_three_splits():
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    fold = {"test": {"rmse": 0.21, "r2": 0.93}, "n_test": 130}
    splits = {t: {"target": t, "n_sites": 650, "n_cells": 45, "splits": {
        "random_sites": fold, "by_cell": fold,
        "leave_one_composition_out": fold | {"folds": {"x=0.00": {"rmse": 0.3}, "x=0.25": {"rmse": 0.25}}}}}
        for t in ("valence", "rdf")}
    text = render(paper, fake_context(cfg) | {"splits": splits}, [], [])
    assert "650 sites from 45 cells (the paper: 5290 spectra from 45 cells)" in text
    assert "| by cell (no cell on both sides) | 130 | 0.210 | 0.930 | 0.210 | 0.930 |" in text
    assert "x=0.00 0.300, x=0.25 0.250 e" in text


def test_report_has_the_learning_curve_beside_the_papers_training_size():
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    curves = {"valence": [{"n_train": 52, "rmse": 0.41}, {"n_train": 520, "rmse": 0.12}],
              "rdf": [{"n_train": 520, "rmse": 0.083}]}
    text = render(paper, fake_context(cfg) | {"curves": curves}, [], [])
    assert "against the training sites (the paper trains on 4232)" in text
    assert "| 52 | 0.410 | — |" in text and "| 520 | 0.120 | 0.083 |" in text
    assert text.index("| 52 |") < text.index("| 520 |")


def test_report_has_the_forward_models_beside_the_class_mean_and_the_selection_curves(tmp_path):
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    write_forward_fixture(tmp_path)
    evaluation = json.loads((tmp_path / input_path("forward_evaluation")).read_text())
    curves = json.loads((tmp_path / input_path("selection_curves")).read_text())
    ctx = fake_context(cfg) | {"forward": {"evaluation": evaluation, "curves": curves}}
    text = render(paper, ctx, [], [])
    section = text.split("## Structure → spectrum models")[1]
    best = evaluation["best_by_cell"]
    row = evaluation["splits"]["by_cell"][best]
    # among the numbers a later release's report sets beside its own
    assert [v for q, _, v in headline_numbers(paper, ctx) if q.startswith("structure → spectrum, by cell")] == [
        [row["rmse"], row["baseline_rmse"]]]
    loco = evaluation["splits"]["leave_one_composition_out"][best]
    assert (f"| {best} **(best)** | {row['rmse']:.4f} ({row['baseline_rmse']:.4f}, {row['ratio_to_baseline']:.2f}) | "
            f"{loco['rmse']:.4f} ({loco['baseline_rmse']:.4f}, {loco['ratio_to_baseline']:.2f}) |") in section
    for x, r in row["by_composition"].items():  # every composition beside its baseline, both splits
        assert f"| {x} | {r['n']} | {r['rmse']:.4f} / {r['baseline_rmse']:.4f} | " in section
    random = curves["curves"]["random"]["0.3"]
    assert f"{random['rmse_not_computed']:.4f} ± {random['rmse_spread']:.4f} ({random['averaged_max_deviation_pct']:.1f} %)" in section
    assert "| 30 % (" in section and "uncertainty_reduction" in section
    assert (f"| 30 % | {curves['curves']['uncertainty_reduction']['0.3']['valence_rmse_averaged']:.4f} "
            f"({curves['curves']['uncertainty_reduction']['0.3']['valence_rmse_ratio']:.2f}) |") in section


def test_report_has_the_pdos_networks_beside_template_matching_per_split_region_and_window():
    from synthetic import PDOS_GRID, synthetic_pdos

    from siox_xanes.learning.metrics import better_share
    from siox_xanes.learning.pdos import pdos_errors, template_matching

    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    s, p, _ = synthetic_pdos(np.arange(40) % 5)
    truth = np.hstack([s, p])
    net, base = truth + 0.02, template_matching(truth[:20], truth[:20], truth[20:] + 0.01)
    described = pdos_errors(truth[20:], net[20:], PDOS_GRID, 0.05)
    fold = {"test": {"rmse": described["rmse"]}, "n_test": 20, "test_described": described,
            "baseline": {"test": {"rmse": 0.5}, "test_described": pdos_errors(truth[20:], base, PDOS_GRID, 0.05),
                         "network_better_share": better_share(truth[20:], net[20:], base)}}
    splits = {"pdos": {"target": "pdos", "n_sites": 40, "n_cells": 5, "candidate": 0, "config": {"kind": "cnn"},
                       "splits": {"random_sites": fold, "by_cell": fold, "leave_one_composition_out": fold}}}
    ctx = fake_context(cfg) | {"splits": splits}
    ctx["metrics"] |= {f"pdos/{w}": {"window_eV": cfg["learning"]["windows"][w], "test_described": described}
                       for w in ("full", "a")}
    section = render(paper, ctx, [], []).split("## Ground-state s and p PDOS")[1]
    assert "network: candidate 0 (cnn)" in section
    # the template's nearest spectrum is its own class's PDOS (exact here), the network is off by 0.02 everywhere
    assert f"| by cell (no cell on both sides) | 20 | {described['rmse']:.4f} | 0.5000 | 0 % |" in section
    assert f"| p 0 to 7.5 eV | {described['regions']['p 0 to 7.5 eV']:.4f} |" in section
    assert "| a 1830.00-1836.25 |" in section and "pdos_windows.png" in section


def test_spectra_per_composition_find_the_mean_peak_and_the_sio4_white_line_spread():
    energy = np.linspace(1830, 1880, 251)
    peak = lambda e0, h: h * 0.64 / ((energy - e0) ** 2 + 0.64)  # noqa: E731
    # x = 0: two sites peaking at 1840 eV; x = 2: three SiO4 sites at 1846 eV, heights 1, 1.2, 1.4
    mu = np.array([peak(1840, 1.0), peak(1840.2, 1.0), peak(1846, 1.0), peak(1846, 1.2), peak(1846, 1.4)])
    sites = xr.Dataset({"mu_norm": (("site", "energy"), mu), "n_o_neighbours": ("site", [0, 0, 4, 4, 4])},
                       coords={"energy": energy, "x": ("site", [0.0, 0.0, 2.0, 2.0, 2.0])})
    out = spectra_by_composition(sites)
    assert out["by_composition"]["0.00"] == {"n_sites": 2, "highest_point_eV": pytest.approx(1840.0, abs=0.25)}
    assert out["by_composition"]["2.00"]["highest_point_eV"] == pytest.approx(1846.0, abs=0.1)
    heights = np.array([1.0, 1.2, 1.4])
    assert out["n_sio4"] == 3 and out["sio4_white_line_spread"] == pytest.approx(heights.std() / heights.mean(), rel=1e-3)
    text = render(yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text()),
                  fake_context(yaml.safe_load((ROOT / "config.yaml").read_text())) | {"spectral": out}, [], [])
    assert "| 0.00 | 2 | 1840.0 |" in text and "White-line spread of the 3 SiO4 sites" in text


def test_report_sets_an_earlier_runs_numbers_beside_its_own(tmp_path):
    paper = yaml.safe_load((ROOT / "reference/paper_numbers.yaml").read_text())
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    spectral = {"by_composition": {"0.00": {"n_sites": 5, "highest_point_eV": 1848.4}}, "sio4_white_line_spread": 0.154,
                "n_sio4": 117}
    earlier = report_numbers(paper, fake_context(cfg) | {"spectral": spectral}, "data/siox-medium-v2")
    assert earlier["label"] == "data/siox-medium-v2" and earlier["n_sites"] == 9
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(earlier))
    ctx = fake_context(cfg) | {"spectral": spectral | {"by_composition": {"0.00": {"n_sites": 5, "highest_point_eV": 1841.6}}},
                               "earlier": [read_report_numbers(path, "v2")]}
    section = render(paper, ctx, [], []).split("## Beside earlier runs")[1].split("\n## ")[0]
    assert "| quantity | paper | v2 | this run |" in section
    assert "| x = 0.00: highest point of the mean spectrum (eV) | — | 1848.4 | 1841.6 |" in section
    assert "| valence, random split, test RMSE (e) | 0.11 | 0.2 | 0.2 |" in section
    assert "| averaged spectra: mean valence RMSE (e) | 0.105 | 0.1 | 0.1 |" in section
    # a quantity the earlier run did not compute reads '—' there
    ctx["predictor"] = {"confidence": 0.9, "valence_halfwidth": 0.3, "coverage": {"valence_sites": {"n": 10, "coverage": 0.9}}}
    assert ("| predictor: valence coverage, test-cell sites (target 90 %) | — | — | 0.9 |"
            in comparison_section(paper, ctx, ctx["earlier"]))
    path.write_text(json.dumps({"rows": [{"value": 1}]}))
    with pytest.raises(ValueError, match=r"v2.json \(report.compare_with 'v2'\): expected a report_numbers.json"):
        read_report_numbers(path, "v2")


def test_the_settings_line_says_each_compositions_mesh_and_which_sites():
    from siox_xanes.report.reproduction import xspectra_settings

    xanes = {"xspectra_kpoints": [2, 2, 2], "xspectra_kpoints_by_composition": {"0.00": [4, 4, 4]},
             "environment_pseudopotentials": "ultrasoft", "lanczos_error": 0.01, "gamma_eV": 0.8, "sites_per_cell": "all",
             "site_selection": {"method": "uncertainty_reduction", "amount": 135}}
    line = xspectra_settings(xanes)
    assert "xspectra k [2, 2, 2] (x = 0.00: [4, 4, 4])" in line and "ultrasoft environment" in line
    assert line.endswith("the first 135 sites of the uncertainty reduction selection")
    plain = xspectra_settings({**xanes, "xspectra_kpoints_by_composition": None, "environment_pseudopotentials": "paw",
                               "site_selection": {"method": "all", "amount": "all"}})
    assert plain == "xspectra k [2, 2, 2], Lanczos tolerance 0.01, gamma 0.8 eV, sites per cell: all"
