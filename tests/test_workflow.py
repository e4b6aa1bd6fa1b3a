"""The Snakemake DAG: dry runs of both presets, bad config, a tiny real run."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, job_counts, run_snakemake as run


def workdir_with(tmp_path: Path, config: dict) -> Path:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def test_dry_run_default_lists_every_cell():
    out = run(["-n", "--forceall", "--cores", "2"], cwd=ROOT).stdout
    counts = job_counts(out)
    n = len(yaml.safe_load((ROOT / "config.yaml").read_text())["structures"]["seeds"]) * 9
    assert counts["random_network"] == counts["melt_quench"] == counts["validate_cell"] == n


def test_dry_run_paper_preset_lists_the_papers_jobs():
    out = run(["-n", "--forceall", "--cores", "2", "--configfile", "config_paper.yaml"], cwd=ROOT).stdout
    counts = job_counts(out)
    assert counts["melt_quench"] == 45
    # 45 glasses + alpha-quartz + diamond Si; every Si site of the glasses + one site per reference
    assert counts["ground_state"] == 45 + 2 and counts["bader_charges"] == 45 + 2
    assert counts["core_hole_xanes"] == 5290 + 2
    assert counts["train_model"] == 11 * 2  # full, a-h, two 25 eV bands x (valence, rdf)
    # the paper's 10 figures + the predictor's robustness curves + the learning curves
    assert counts["figure"] == 12 and counts["reproduction_report"] == 1
    assert counts["evaluate_splits"] == 2 and counts["train_predictor"] == 1


def test_bad_config_stops_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["structures"]["compositions"]["0.50"] = {"Si": 18, "O": 10}
    proc = run(["--cores", "1"], cwd=workdir_with(tmp_path, config), check=False)
    assert proc.returncode != 0
    assert "structures.compositions['0.50']" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_schema_error_names_the_key(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["md"]["melt_temp"] = 5000
    proc = run(["-n", "--cores", "1"], cwd=workdir_with(tmp_path, config), check=False)
    assert proc.returncode != 0 and "melt_temp" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_workflow_end_to_end(tiny_local_run):
    """Two compositions, one seed, tiny references: MD, QE, Bader and alignment for real."""
    tmp_path = tiny_local_run
    res = tmp_path / "results"
    cells = pd.read_csv(res / "structures/validation_cells.csv")
    assert list(cells["x"]) == [0.0, 2.0] and list(cells["n_si"]) == [20, 9]
    assert cells["density_g_cm3"].between(1.5, 3.5).all()
    assert pd.read_csv(res / "structures/validation_by_composition.csv")["n_cells"].tolist() == [1, 1]
    classes = pd.read_csv(res / "structures/coordination_classes.csv")
    assert classes.groupby(["x", "seed"])["fraction"].sum().round(9).eq(1.0).all()
    for fig in ("fig_s2_coordination.png", "fig_s2_coordination.pdf"):
        assert (res / "figures" / fig).stat().st_size > 5000
    trace = pd.read_csv(res / "structures/x2.00/seed7/thermo.csv")
    assert trace["step"].iloc[-1] == 3000
    assert (tmp_path / "benchmarks/melt_quench/x2.00_seed7.tsv").exists()
    # Nothing left half-written: no LAMMPS scratch or temporary files remain.
    assert not list(res.rglob(".lammps-*")) and not list(res.rglob("*.tmp"))
    # XANES stage: aligned spectra on the grid for every site, Bader charges, references figure.
    import json

    import xarray as xr

    with xr.open_dataset(res / "xanes/spectra_on_grid.nc") as ds:
        assert ds.sizes == {"spectrum": 5, "energy": 256}  # one site per glass, 1 + 2 of the references
        assert float(ds["mu"].min()) >= 0 and float(ds["mu"].max()) > 0
        assert set(ds["cell"].values) == {"x0.00_seed7", "x2.00_seed7", "ref_alpha_quartz", "ref_diamond_si"}
    alignment = json.loads((res / "xanes/alignment.json").read_text())
    assert alignment["references"]["alpha_quartz"]["computed_main_peak_eV"] == pytest.approx(1846.0, abs=0.05)
    refs = alignment["references"]  # Gamma-only xspectra here: compare the Delta-SCF onsets, not peaks
    assert refs["alpha_quartz"]["computed_onset_eV"] - refs["diamond_si"]["computed_onset_eV"] > 2.0
    bader = pd.read_csv(res / "xanes/x2.00_seed7/bader.csv")
    assert (bader[bader.symbol == "Si"].bader_charge > 2.0).all() and (bader[bader.symbol == "O"].bader_charge < -1.0).all()
    assert (res / "figures/fig_s1_references.png").stat().st_size > 5000
    assert not list(res.rglob("*.cube"))  # densities are temporary
    # Same config, same structures: rerun from scratch reproduces the cell exactly.
    first = (res / "structures/x2.00/seed7/quenched.extxyz").read_text()
    run(["--cores", "2", "--forcerun", "random_network", "--", "results/structures/x2.00/seed7/quenched.extxyz"], cwd=tmp_path)
    assert (res / "structures/x2.00/seed7/quenched.extxyz").read_text() == first


@pytest.mark.slow
def test_learning_rules_on_a_synthetic_cube(tmp_path):
    """train_model, linear_baseline, averaged_evaluation and train_predictor through Snakemake
    on a SYNTHETIC TEST FIXTURE cube (tests/test_learn.py), the upstream rules not allowed to run."""
    import json

    import numpy as np
    import xarray as xr

    import pandas as pd
    from test_learn import GRID, R, synthetic_fixture

    from siox_xanes.dataset.cubes import add_normalised
    from siox_xanes.measured.normalise import Normalisation

    mu, q, rdf, n_o = synthetic_fixture(n=300, seed=4)
    n = len(q)
    split = (np.arange(n) % 5 == 0).astype(np.int8)
    cells = np.array([f"x{(k % 9) * 0.25:.2f}_seed1" for k in range(n)])
    sites = xr.Dataset(
        {"mu": (("site", "energy"), mu), "bader_charge": ("site", q), "rdf_total": (("site", "r"), rdf),
         "split": ("site", split), "n_o_neighbours": ("site", n_o)},
        coords={"energy": GRID, "r": R, "cell": ("site", cells), "x": ("site", (np.arange(n) % 9) * 0.25),
                "atom_index": ("site", np.arange(n))},
        attrs={"title": "synthetic test fixture", "config_sha256": "fixture"},
    )
    groups = [np.flatnonzero(cells == c) for c in np.unique(cells)]
    systems = xr.Dataset(
        {"mu": (("system", "energy"), np.array([mu[g].mean(0) for g in groups])),
         "mean_bader_charge": ("system", [q[g].mean() for g in groups]),
         "rdf_total": (("system", "r"), np.array([rdf[g].mean(0) for g in groups])),
         "all_sites_computed": ("system", np.ones(len(groups), np.int8))},
        coords={"energy": GRID, "r": R, "cell": ("system", np.unique(cells)), "x": ("system", np.arange(len(groups)) * 0.25)},
    )
    config = yaml.safe_load((ROOT / "tests/data/config_tiny.yaml").read_text())
    norm = Normalisation.from_config(config["normalisation"])
    sites, systems = add_normalised(sites, norm), add_normalised(systems, norm)
    (tmp_path / "results/dataset").mkdir(parents=True)
    sites.to_netcdf(tmp_path / "results/dataset/spectra_sites.nc")
    systems.to_netcdf(tmp_path / "results/dataset/spectra_systems.nc")
    # the aligned spectra of the references, which the predictor keeps for energy alignment
    (tmp_path / "results/xanes").mkdir(parents=True)
    xr.Dataset({"mu": (("spectrum", "energy"), mu[[int(np.argmax(n_o)), int(np.argmin(n_o))]])},
               coords={"energy": GRID, "cell": ("spectrum", ["ref_alpha_quartz", "ref_diamond_si"])}
               ).to_netcdf(tmp_path / "results/xanes/spectra_on_grid.nc")
    config["learning"]["training"].update(max_epochs=200, patience=20, validation_fraction=0.1)
    config["learning"]["candidates"]["valence"] = [{"hidden": [64, 64], "activation": "leaky_relu", "learning_rate": 1e-3}]
    workdir_with(tmp_path, config)
    targets = ["results/learning/window_full/averaged_metrics.json", "results/learning/window_full/valence/baseline_metrics.json",
               "results/predictor/evaluation.json", "results/learning/evaluation/valence_splits.json"]
    run(["--cores", "2", "--allowed-rules", "train_model", "linear_baseline", "averaged_evaluation", "train_predictor",
         "evaluate_splits", "--", *targets], cwd=tmp_path)
    out = tmp_path / "results/learning/window_full"
    valence = json.loads((out / "valence/metrics.json").read_text())
    baseline = json.loads((out / "valence/baseline_metrics.json").read_text())
    assert valence["n_test"] == 60 and valence["test"]["r2"] > 0.9
    assert valence["test"]["rmse"] < baseline["test"]["rmse"]
    assert set(valence["test_by_valence_class"]) == {"0", "1", "2", "3", "4"}
    averaged = json.loads((out / "averaged_metrics.json").read_text())
    assert len(averaged["mean_rdf_rmse"]["per_system"]) == 9 and averaged["mean_valence"]["n"] == 9
    with xr.open_dataset(out / "rdf/predictions.nc") as pred:
        assert pred.sizes == {"site": 300, "output": 64}
    splits = json.loads((tmp_path / "results/learning/evaluation/valence_splits.json").read_text())
    assert set(splits["splits"]) == {"random_sites", "by_cell", "leave_one_composition_out"}
    assert len(splits["splits"]["leave_one_composition_out"]["folds"]) == 9
    evaluation = json.loads((tmp_path / "results/predictor/evaluation.json").read_text())
    assert set(evaluation["coverage"]) == {"valence_sites", "rdf_sites", "valence_systems", "rdf_systems"}
    assert len(evaluation["epochs"]["valence"]) == config["uncertainty"]["ensemble_members"]
    assert set(pd.read_csv(tmp_path / "results/predictor/robustness.csv")["model"]) == {"augmented", "without_augmentation"}
