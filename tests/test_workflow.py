"""The Snakemake DAG: dry runs of both presets, bad config, a tiny real run."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from conftest import ROOT, TINY_TARGETS, job_counts, run_snakemake as run, workdir_with
from siox_xanes import layout


@pytest.mark.slow
@pytest.mark.xdist_group("repository")
def test_dry_run_default_lists_every_cell():
    out = run(["-n", "--forceall", "--cores", "2"], cwd=ROOT).stdout
    counts = job_counts(out)
    n = len(yaml.safe_load((ROOT / "config.yaml").read_text())["structures"]["seeds"]) * 9
    assert counts["random_network"] == counts["melt_quench"] == counts["validate_cell"] == n




@pytest.mark.slow
def test_bad_config_stops_before_any_job(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["structures"]["compositions"]["0.50"] = {"Si": 18, "O": 10}
    proc = run(["--cores", "1"], cwd=workdir_with(tmp_path, config), check=False)
    assert proc.returncode != 0
    assert "structures.compositions['0.50']" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_schema_error_names_the_key(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["md"]["melt_temp"] = 5000
    proc = run(["-n", "--cores", "1"], cwd=workdir_with(tmp_path, config), check=False)
    assert proc.returncode != 0 and "melt_temp" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_workflow_end_to_end(tiny_local_run, tmp_path):
    """Two compositions, one seed, tiny references: MD, QE, Bader and alignment for real.
    The release and the rerun below write: they work on a copy of the shared run, placed like
    it (the same relative paths to the repository)."""
    shutil.copytree(tiny_local_run, tmp_path, symlinks=True, dirs_exist_ok=True)
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

    from siox_xanes.layout import RELEASE_FILES
    from siox_xanes.release.publish import read_structures

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
    # The data release of the run: rule data_release alone (the tiny run made the references'
    # Bader charges too).
    release = tmp_path / "release"
    (tmp_path / "publish.yaml").write_text(yaml.safe_dump({"release": {"publish": str(release)}}))
    run(["--cores", "2", *[f"release/{f}" for f in RELEASE_FILES.values()],
         "--allowed-rules", "data_release", "bader_charges", "ground_state", "--configfile", "config.yaml", "publish.yaml"],
        cwd=tmp_path)
    with xr.open_dataset(release / RELEASE_FILES["raw_spectra"]) as raw:
        assert raw.sizes == {"site": 5, "energy_rel": 600}  # xspectra's own grid, every site of the run
        assert raw["mu_mean"].encoding["zlib"]
        glass = raw.sel(site=raw["cell"] == "x2.00_seed7")
        with xr.open_dataset(res / "dataset/spectra_sites.nc") as cube:
            want = cube.sel(site=cube["cell"] == "x2.00_seed7")
            assert float(glass["delta_scf_eV"][0]) == pytest.approx(float(want["delta_scf"][0]))
            assert float(glass["onset_unshifted_eV"][0] + raw.attrs["global_shift_eV"]) == pytest.approx(float(want["onset"][0]))
    with xr.open_dataset(release / RELEASE_FILES["reference_spectra"]) as refs:
        assert sorted(set(refs["cell"].values)) == ["ref_alpha_quartz", "ref_diamond_si"]
    structures = read_structures(release / RELEASE_FILES["structures"])
    assert set(structures) == {"x0.00_seed7", "x2.00_seed7", "ref_alpha_quartz", "ref_diamond_si"}
    assert len(structures["x2.00_seed7"]) == 27
    charges = pd.read_csv(release / RELEASE_FILES["bader"])
    assert len(charges[charges.cell == "x2.00_seed7"]) == 27
    record = json.loads((release / RELEASE_FILES["provenance"]).read_text())
    assert len(record["workflow"]["commit"]) == 40 and record["versions"]["quantum_espresso"][0].startswith("PWSCF v.")
    assert record["pseudopotentials"]["Si_hole"]["sha256"] and record["config"]["release"]["publish"] == str(release)
    assert record["counts"]["glass_sites"] == 2 and record["counts"]["cells"] == 2
    # Same config, same structures: rerun from scratch reproduces the cell exactly.
    first = (res / "structures/x2.00/seed7/quenched.extxyz").read_text()
    run(["--cores", "2", "--forcerun", "random_network", "--", "results/structures/x2.00/seed7/quenched.extxyz"], cwd=tmp_path)
    assert (res / "structures/x2.00/seed7/quenched.extxyz").read_text() == first


@pytest.mark.slow
def test_the_ultrasoft_environment_reruns_only_the_dft_and_matches_all_paw(tiny_local_run, tmp_path):
    """The tiny run (all-PAW) switched to xanes.environment_pseudopotentials: ultrasoft: the
    dry run redoes the ground states and sites of the O-bearing cells and no MD or PAW
    generation; run for real on alpha-quartz's site (the cheapest Si-O site: the rules and the
    ultrasoft datasets they make, not the physics, are what this adds to the engine test and
    to bench/qe_site_settings.py's glass sites), Delta-SCF and spectrum as all-PAW within
    issue 12's bounds (20 meV and 1 % of the peak, with a margin for the tiny cut-off)."""
    import pandas as pd

    work = tmp_path  # beside the tiny run: the same relative paths to the repository's inputs
    shutil.copytree(tiny_local_run, work, symlinks=True, dirs_exist_ok=True)
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["xanes"]["environment_pseudopotentials"] = "ultrasoft"
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    sites = [("x2.00_seed7", 0), ("ref_alpha_quartz", 0)]
    targets = [layout.SITE_SPECTRUM.format(cell=c, site=s) for c, s in sites]
    counts = job_counts(run(["-n", "--cores", "2", *targets], cwd=work).stdout)
    assert counts == {"ultrasoft_pseudopotentials": 1, "ground_state": 2, "core_hole_xanes": 2}, counts
    sites = sites[1:]
    run(["--cores", "2", targets[1]], cwd=work)
    for cell, site in sites:
        summary = layout.SITE_SUMMARY.format(cell=cell, site=site)
        paw, us = (json.loads((root / summary).read_text()) for root in (tiny_local_run, work))
        # each environment has its own atomic correction: the onsets compare, not the raw Delta-SCF
        assert abs(us["onset_unshifted_eV"] - paw["onset_unshifted_eV"]) < 0.03, (cell, us, paw)
        mu_paw, mu_us = (pd.read_csv(root / layout.SITE_SPECTRUM.format(cell=cell, site=site))["mu_mean"].to_numpy()
                         for root in (tiny_local_run, work))
        assert abs(mu_us - mu_paw).max() < 0.015 * mu_paw.max(), cell
    used = (work / layout.GROUND_STATE_QE_LOG.format(cell="ref_alpha_quartz")).read_text()
    assert "Si.pbe-us.UPF" in used


@pytest.mark.slow
def test_quick_look_learns_from_a_release(tmp_path):
    """A preset with dataset.from_release runs the learning, the figures, the report and
    ship_models on a release folder, here holding a SYNTHETIC TEST FIXTURE cube
    (tests/synthetic.py): no structure, DFT or dataset job is part of its DAG."""
    import json

    import numpy as np
    import xarray as xr

    import pandas as pd
    from ase.io import write
    from synthetic import GRID, R, synthetic_fixture

    from siox_xanes.dataset.cubes import add_normalised
    from siox_xanes.layout import RELEASE_FILES
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
    release = tmp_path / "release"
    release.mkdir()
    sites.to_netcdf(release / RELEASE_FILES["sites"])
    systems.to_netcdf(release / RELEASE_FILES["systems"])
    # the aligned spectra of the references, which the predictor keeps for energy alignment
    xr.Dataset({"mu": (("spectrum", "energy"), mu[[int(np.argmax(n_o)), int(np.argmin(n_o))]])},
               coords={"energy": GRID, "cell": ("spectrum", ["ref_alpha_quartz", "ref_diamond_si"])}
               ).to_netcdf(release / RELEASE_FILES["reference_spectra"])
    (release / RELEASE_FILES["alignment"]).write_text(json.dumps({"global_shift_eV": -13.2, "references": {
        name: {"computed_main_peak_eV": peak, "computed_onset_eV": peak - 3.0, "experiment_main_peak_eV": peak}
        for name, peak in (("alpha_quartz", 1846.0), ("diamond_si", 1840.0))}}))
    pd.DataFrame({"x": np.arange(9) * 0.25, "density_g_cm3_mean": 2.2}).to_csv(
        release / RELEASE_FILES["validation_compositions"], index=False)
    from ase.build import bulk  # Fig. 1 draws the release's cells

    frames = [bulk("Si", "diamond", a=5.43, cubic=True) for _ in range(2)]
    for x, atoms in zip((0.0, 2.0), frames):
        atoms.info.update(x=x, cell=f"x{x:.2f}_seed1")
    write(release / RELEASE_FILES["structures"], frames, format="extxyz")
    (release / RELEASE_FILES["provenance"]).write_text(json.dumps(
        {"workflow": {"commit": "0123456789abcdef"}, "counts": {"glass_sites": n}, "config": config}))
    config["learning"]["training"].update(max_epochs=200, patience=20, validation_fraction=0.1)
    config["learning"]["candidates"]["valence"] = [{"hidden": [64, 64], "activation": "leaky_relu", "learning_rate": 1e-3},
                                                   {"hidden": [32], "activation": "relu", "learning_rate": 1e-3}]
    config["learning"]["windows"]["low"] = [1830.0, 1855.0]  # a band of the ablation
    config["dataset"]["from_release"] = str(release)
    # a lower-fidelity release of every second site (noisier spectra) trains beside it (learning.fidelity)
    lower_release = tmp_path / "lower_release"
    lower_release.mkdir()
    noisy = sites.isel(site=slice(0, n, 2)).copy(deep=True)
    noisy["mu"].values += np.random.default_rng(5).normal(0, 0.01, noisy["mu"].shape)
    noisy.to_netcdf(lower_release / RELEASE_FILES["sites"])
    config["dataset"]["lower_fidelity"] = str(lower_release)
    workdir_with(tmp_path, config)
    # the fixture's sites have no structures behind them: the forward model (trained on the real
    # release in tests/test_forward.py) is left out
    omit = ["--omit-from", "forward_model"]
    dry = job_counts(run(["-n", "--cores", "2", *omit], cwd=tmp_path).stdout)
    assert not {"melt_quench", "ground_state", "core_hole_xanes", "dataset_cubes", "align_spectra"} & set(dry)
    assert dry["train_model"] == 4 and dry["reproduction_report"] == 1 and dry["pooled_sites"] == 1
    run(["--cores", "2", *omit], cwd=tmp_path)
    out = tmp_path / "results/learning/window_full"
    valence = json.loads((out / "valence/metrics.json").read_text())
    baseline = json.loads((out / "valence/baseline_metrics.json").read_text())
    assert valence["n_test"] == 60 and valence["test"]["r2"] > 0.9
    # the lower-fidelity copies trained, except the 30 of stored test sites (every 5th site: even ones)
    assert valence["n_train"] == 240 and valence["n_train_lower_fidelity"] == 150 - 30
    assert valence["test"]["rmse"] < baseline["test"]["rmse"]
    assert set(valence["test_by_valence_class"]) == {"0", "1", "2", "3", "4"}
    averaged = json.loads((out / "averaged_metrics.json").read_text())
    assert len(averaged["mean_rdf_rmse"]["per_system"]) == 9 and averaged["mean_valence"]["n"] == 9
    with xr.open_dataset(out / "rdf/predictions.nc") as pred:
        assert pred.sizes == {"site": 300, "output": 64}
    splits = json.loads((tmp_path / "results/learning/evaluation/valence_splits.json").read_text())
    assert set(splits["splits"]) == {"random_sites", "by_cell", "leave_one_composition_out"}
    assert splits["n_sites"] == 300 and splits["n_sites_lower_fidelity"] == 150
    assert splits["splits"]["leave_one_composition_out"]["n_test"] == 300  # own sites only
    assert len(splits["splits"]["leave_one_composition_out"]["folds"]) == 9
    evaluation = json.loads((tmp_path / "results/predictor/evaluation.json").read_text())
    assert set(evaluation["coverage"]) == {"valence_sites", "rdf_sites", "valence_systems", "rdf_systems"}
    assert sum(evaluation["n_sites"].values()) == 300 and evaluation["n_train_lower_fidelity"] > 0
    assert len(evaluation["epochs"]["valence"]) == config["uncertainty"]["ensemble_members"]
    # the predictor's valence ensemble is the network the full window's CV chose
    chosen = min(valence["cv"], key=lambda row: row["mean_rmse"])["candidate"]
    assert evaluation["networks"]["valence"]["candidate"] == chosen == valence["selected_candidate"]
    # and so is the band's, trained without a CV of its own
    band = json.loads((tmp_path / "results/learning/window_low/valence/metrics.json").read_text())
    assert band["cv"] == [] and band["selected_candidate"] == chosen and band["selected_by"] == "the full window's CV"
    assert set(pd.read_csv(tmp_path / "results/predictor/robustness.csv")["model"]) == {"augmented", "without_augmentation"}
    report = (tmp_path / "results/report.md").read_text()
    assert "from the data release" in report and "0123456789ab" in report
    assert "also train on 120 sites of `" in report
    assert "by cell (no cell on both sides)" in report and "leave one composition out" in report
    assert "## Learning curve" in report and "the paper trains on 4232" in report
    assert (tmp_path / "results/figures/learning_curves.png").stat().st_size > 5000
    # the models trained on the release, shipped beside it
    run(["--cores", "1", "ship_models"], cwd=tmp_path)
    card = json.loads((tmp_path / "data/models/models.json").read_text())
    assert card["trained_on"]["release"] == str(release) and card["trained_on"]["workflow"]["commit"] == "0123456789abcdef"
    assert card["full_window_networks"]["valence"]["epochs"] == valence["epochs"]
    assert (tmp_path / "data/models/predictor.pt").read_bytes() == (tmp_path / "results/predictor/predictor.pt").read_bytes()
    # with the report's headline numbers, kept per release for the next release's report
    shipped = tmp_path / "data/models/report_numbers/release.json"
    numbers = json.loads(shipped.read_text())
    assert numbers["label"] == str(release) and numbers["n_sites"] == n
    rows = {r["quantity"]: r["value"] for r in numbers["rows"]}
    assert rows["valence, random split, test RMSE (e)"] == pytest.approx(valence["test"]["rmse"])
    # a later release's run sets them beside its own: only the report is made again
    earlier = shipped.with_name("previous-release.json")
    shutil.copyfile(shipped, earlier)
    config["report"] = {"compare_with": {"earlier": str(earlier)}}
    workdir_with(tmp_path, config)
    rerun = job_counts(run(["-n", "--cores", "1", *omit], cwd=tmp_path).stdout)
    assert rerun == {"reproduction_report": 1}, rerun
    run(["--cores", "1", *omit], cwd=tmp_path)
    section = (tmp_path / "results/report.md").read_text().split("## Beside earlier runs")[1]
    assert "| quantity | paper | earlier | this run |" in section and "highest point of the mean spectrum" in section
