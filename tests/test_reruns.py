"""Partial reruns recompute only what changed.

A finished run is made with every rule script replaced by a stub that writes its
outputs (Snakemake records params, inputs and code exactly as in a real run, in
seconds instead of an hour of DFT); then each config edit alone is applied and the
dry run must list only the jobs whose results the edit can change.
"""

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, job_counts, run_snakemake
from siox_xanes import layout

# every test here runs Snakemake on one stubbed run, made once on one xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stubbed_run")]

STUB = '''from pathlib import Path
for f in [*snakemake.output, *snakemake.log]:
    p = Path(f)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix:
        p.write_text("stub\\n")
    else:
        p.mkdir(exist_ok=True)  # a directory output
'''
EXPENSIVE = ("random_network", "melt_quench", "ground_state", "bader_charges", "core_hole_xanes")
DATASETS = ("pseudopotentials", "ultrasoft_pseudopotentials")  # base_config's sites use both


def base_config():
    config = yaml.safe_load((ROOT / "tests/data/config_tiny.yaml").read_text())
    config["learning"]["windows"] = {"full": [1830.0, 1880.0], "a": [1830.0, 1855.0], "b": [1855.0, 1880.0]}
    config["learning"]["ablation"] = {"sub_windows": ["a", "b"], "bands": []}
    # a grown composition beside the two melt-quenched ones (md.oxidation)
    config["structures"]["compositions"]["1.00"] = {"Si": 16, "O": 16}
    config["md"]["oxidation"] = {"compositions": ["1.00"], "step_x": 0.125, "anneal_temperature_K": 300,
                                 "anneal_ps": 1, "cool_ps": 1, "offset_A": 0.5}
    # the default's ultrasoft environment (the tiny config stays all-PAW for the timed SLURM test)
    config["xanes"]["environment_pseudopotentials"] = "ultrasoft"
    return config


def stubbed_workflow(root: Path, scripts: dict[str, str] | None = None) -> list[str]:
    """A copy of the workflow in ``root``/workflow whose rule scripts are STUB, but for those in
    ``scripts`` (name -> code, None: the real script); Snakemake's arguments to run it."""
    wf = root / "workflow"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src, dst = ROOT / rel, wf / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        elif src.is_file():
            shutil.copy(src, dst)
    for script in (wf / "scripts").glob("*.py"):
        code = (scripts or {}).get(script.stem, STUB)
        if code is not None:
            script.write_text(code)
    return ["-s", str(wf / "Snakefile")]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A copy of the workflow with stub scripts, run to the end on the tiny config."""
    root = tmp_path_factory.mktemp("stubbed")
    snakefile = stubbed_workflow(root)
    work = root / "run"
    work.mkdir()
    (work / "config.yaml").write_text(yaml.safe_dump(base_config(), sort_keys=False))
    run_snakemake([*snakefile, "--cores", "2"], cwd=work)
    return work, snakefile


def dry_run(finished_run, edit) -> dict[str, int]:
    work, snakefile = finished_run
    config = base_config()
    edit(config)
    (work / "edited.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    out = run_snakemake([*snakefile, "-n", "--cores", "2", "--configfile", "edited.yaml"], cwd=work).stdout
    return job_counts(out)


def setter(path: str, value):
    def edit(config):
        *parents, leaf = path.split(".")
        node = config
        for p in parents:
            node = node[p]
        node[leaf] = copy.deepcopy(value)
    return edit


# Settings that change how or where a job runs, never what it computes: nothing reruns.
NOTHING_RERUNS = {
    "md.runtime_min": 999,
    "md.mpi_ranks": 4,
    "md.launcher": "mpiexec -n {ranks}",
    "xanes.runtime_min": {"ground_state": 999, "core_hole": 999},
    "xanes.mem_mb_per_rank": 9999,
    "xanes.mpi_ranks": 8,
    "xanes.launcher": "srun -n {ranks} --mpi=pmix",
}
# Settings of the alignment and later stages: no MD, ground state, Bader or core-hole job.
NO_DFT_RERUNS = {
    "xanes.grid": {"start": 1830.0, "stop": 1880.0, "points": 200},
    "xanes.experiment_main_peak_eV": {"alpha_quartz": 1846.5, "diamond_si": 1840.5},
    "xanes.main_peak_window_eV": 15.0,
}


def summary_status(finished_run) -> dict[str, str]:
    """output file -> status column of `snakemake --summary` (per-file params comparison)."""
    work, snakefile = finished_run
    out = run_snakemake([*snakefile, "--summary"], cwd=work).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.startswith(("results/", "logs/"))]
    return {r[0]: r[4] for r in rows if len(r) > 4}


def test_an_unchanged_config_reruns_nothing(finished_run):
    assert dry_run(finished_run, lambda c: None) == {}
    status = summary_status(finished_run)
    assert len(status) > 40 and set(status.values()) <= {"ok", "removed temp file"}, set(status.values())
    # (Snakemake 9.27's --list-changes params lists every output that has recorded params,
    # changed or not: ParamsChange.__or__ keeps the file set of a no-change; see README.)


@pytest.mark.parametrize("key", NOTHING_RERUNS)
def test_resources_ranks_and_launchers_rerun_nothing(finished_run, key):
    assert dry_run(finished_run, setter(key, NOTHING_RERUNS[key])) == {}, key


@pytest.mark.parametrize("key", NO_DFT_RERUNS)
def test_grid_and_alignment_rerun_no_md_or_dft(finished_run, key):
    counts = dry_run(finished_run, setter(key, NO_DFT_RERUNS[key]))
    assert counts.get("align_spectra") == 1, counts
    assert not set(EXPENSIVE) & set(counts), counts


def test_one_window_reruns_only_that_window(finished_run):
    from siox_xanes.report.catalog import figure_inputs, figure_windows

    counts = dry_run(finished_run, setter("learning.windows.a", [1831.0, 1855.0]))
    figures = counts.pop("figure")
    # only the figures that show window a are redrawn
    ablation = base_config()["learning"]["ablation"]
    showing = [f for f in figure_inputs(ablation) if "a" in figure_windows(f, ablation)]
    assert figures == len(showing) >= 1, (figures, showing)
    assert counts == {"train_model": 2, "linear_baseline": 1, "averaged_evaluation": 1, "reproduction_report": 1,
                      "all": 1}, counts


def test_the_ablation_windows_train_the_full_windows_choice(finished_run):
    """The sub-windows take their network from the full window's CV (an input of their jobs):
    asking each window for its own CV reruns them and not the full window."""
    counts = dry_run(finished_run, setter("learning.cv_per_window", True))
    assert counts["train_model"] == 4, counts  # windows a and b, valence and RDF


def test_a_new_seed_adds_only_the_new_cells(finished_run):
    config = base_config()
    counts = dry_run(finished_run, setter("structures.seeds", [*config["structures"]["seeds"], 99]))
    n_new = len(config["structures"]["compositions"])
    for rule in ("random_network", "melt_quench", "validate_cell", "ground_state", "bader_charges", "site_rdf"):
        assert counts[rule] == n_new, (rule, counts)
    assert counts["core_hole_xanes"] == n_new * config["xanes"]["sites_per_cell"]
    assert not {*DATASETS, "reference_structure"} & set(counts), counts


def test_more_sites_per_cell_add_only_the_new_sites(finished_run):
    config = base_config()
    counts = dry_run(finished_run, setter("xanes.sites_per_cell", config["xanes"]["sites_per_cell"] + 1))
    n_cells = len(config["structures"]["compositions"]) * len(config["structures"]["seeds"])
    assert counts["core_hole_xanes"] == n_cells, counts
    assert not {"random_network", "melt_quench", "ground_state", "bader_charges"} & set(counts), counts


def test_a_changed_scf_setting_does_rerun_the_dft(finished_run):
    """The other side: a setting that changes the physics reruns every ground state and site."""
    config = base_config()
    counts = dry_run(finished_run, setter("xanes.ecutwfc_Ry", 22))
    n_cells = len(config["structures"]["compositions"]) * len(config["structures"]["seeds"])
    n_sites = n_cells * config["xanes"]["sites_per_cell"] + sum(r["sites"] for r in config["xanes"]["references"].values())
    assert counts["ground_state"] == n_cells + 2 and counts["core_hole_xanes"] == n_sites, counts
    assert "melt_quench" not in counts


def test_the_environment_datasets_rerun_the_dft_only(finished_run):
    """Back to all-PAW: every ground state and site again (their datasets and params change),
    no MD and no dataset generation; the ultrasoft rule is then out of the DAG."""
    config = base_config()
    counts = dry_run(finished_run, setter("xanes.environment_pseudopotentials", "paw"))
    n_cells = len(config["structures"]["compositions"]) * len(config["structures"]["seeds"])
    assert counts["ground_state"] == n_cells + 2, counts
    assert not {"random_network", "melt_quench", *DATASETS} & set(counts), counts


@pytest.mark.parametrize("key, value", [("md.oxidation.anneal_ps", 2), ("md.oxidation.compositions", [])])
def test_the_oxidation_reruns_only_the_grown_compositions(finished_run, key, value):
    """md.oxidation changes the grown cells (or makes them melt-quenched) and nothing of the
    compositions melt-quenched either way."""
    counts = dry_run(finished_run, setter(key, value))
    n_seeds = len(base_config()["structures"]["seeds"])
    assert counts["melt_quench"] == n_seeds and counts["ground_state"] == n_seeds, counts
    assert "random_network" not in counts or key.endswith("compositions"), counts


def test_bounds_rerun_the_md_only_where_cells_are_drawn_again(finished_run):
    """With one draw per cell the bounds only judge the cells; with redraws they choose them."""
    counts = dry_run(finished_run, setter("validation.bounds.min_fraction_si_fourfold", 0.8))
    assert "validate_cell" in counts and not set(EXPENSIVE) & set(counts), counts
    n_cells = len(base_config()["structures"]["compositions"]) * len(base_config()["structures"]["seeds"])
    counts = dry_run(finished_run, setter("md.max_attempts", 4))
    assert counts["melt_quench"] == n_cells and "random_network" not in counts, counts
    # more draws for one composition redraw only its cells
    counts = dry_run(finished_run, setter("md.max_attempts_by_composition", {"2.00": 4}))
    assert counts["melt_quench"] == len(base_config()["structures"]["seeds"]) and "random_network" not in counts, counts


def test_a_reference_k_mesh_reruns_only_that_reference(finished_run):
    """A reference converges its own k meshes: its jobs rerun, no glass's."""
    refs = base_config()["xanes"]["references"]
    counts = dry_run(finished_run, setter("xanes.references.diamond_si.xspectra_kpoints", [2, 2, 2]))
    assert counts["core_hole_xanes"] == refs["diamond_si"]["sites"] and "ground_state" not in counts, counts
    counts = dry_run(finished_run, setter("xanes.references.alpha_quartz.scf_kpoints", [1, 2, 2]))
    assert counts["ground_state"] == 1 and counts["core_hole_xanes"] == refs["alpha_quartz"]["sites"], counts
    assert not {"random_network", "melt_quench", "reference_structure"} & set(counts), counts


def test_adding_the_pdos_computes_it_per_cell_and_reruns_no_md_or_dft(finished_run):
    """Seed 004's target added to a finished run: one PDOS job per glass cell (its own SCF), the cubes
    and the networks that read them; no MD, ground state or site again."""
    default = yaml.safe_load((ROOT / "config.yaml").read_text())

    def add_pdos(config):
        meshes = default["pdos"]["nscf_kpoints_by_composition"]
        config["pdos"] = {**default["pdos"], "nscf_kpoints_by_composition": {
            x: k for x, k in meshes.items() if x in config["structures"]["compositions"]}}
        config["learning"]["candidates"]["pdos"] = default["learning"]["candidates"]["pdos"][:1]

    counts = dry_run(finished_run, add_pdos)
    config = base_config()
    n_cells = len(config["structures"]["compositions"]) * len(config["structures"]["seeds"])
    assert counts["cell_pdos"] == n_cells and counts["dataset_cubes"] == 1, counts
    # the cube changed, so every network learns again: three targets now, each window
    assert counts["train_model"] == 3 * len(config["learning"]["windows"]) and counts["evaluate_splits"] == 3, counts
    assert not {*EXPENSIVE, *DATASETS} & set(counts), counts


def test_predictor_settings_rerun_only_the_predictor(finished_run):
    counts = dry_run(finished_run, setter("uncertainty.ensemble_members", 3))
    assert counts == {"train_predictor": 1, "figure": 1, "reproduction_report": 1, "all": 1}, counts


def test_the_predictor_cross_validation_folds_add_their_job_and_give_the_predictor_its_composition_scales(finished_run):
    # the predictor takes each composition's interval scale from the held-out cells: it and what
    # shows it rerun, nothing before the learning
    counts = dry_run(finished_run, setter("uncertainty.cross_validation_folds", 5))
    assert counts == {"predictor_cross_validation": 1, "train_predictor": 1, "figure": 1, "reproduction_report": 1,
                      "all": 1}, counts


def test_the_normalisation_reruns_no_md_or_dft(finished_run):
    counts = dry_run(finished_run, setter("normalisation.norm_eV", [12.0, 38.0]))
    assert counts.get("dataset_cubes") == 1 and counts.get("train_predictor") == 1, counts
    assert not set(EXPENSIVE) & set(counts) and "align_spectra" not in counts, counts


def test_the_evaluation_splits_rerun_only_their_jobs(finished_run):
    counts = dry_run(finished_run, setter("learning.evaluation.learning_curve", [0.3, 1.0]))
    assert counts == {"evaluate_splits": 2, "figure": 1, "reproduction_report": 1, "all": 1}, counts


def test_a_fresh_checkout_resumes_from_release_batches(finished_run, tmp_path):
    """The finished MD/DFT results of a run, packed into batches and restored at start-up
    in an empty working directory: no MD, PAW or DFT job is left to run, and a changed SCF
    setting still reruns the DFT (the batches carry Snakemake's records of the jobs)."""
    from siox_xanes.release.batches import pack

    work, snakefile = finished_run
    batches = tmp_path / "batches"
    assert pack(work, batches)
    fresh = work.parent / "fresh"  # placed like the run: the same relative paths to the repository
    fresh.mkdir()
    config = base_config()
    config["release"] = {"batches": str(batches)}
    (fresh / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dry = run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=fresh)
    counts = job_counts(dry.stdout)
    assert "files restored" in dry.stderr
    assert not {*EXPENSIVE, *DATASETS, "reference_structure", "validate_cell"} & set(counts), counts
    assert counts["dataset_cubes"] == 1 and counts["align_spectra"] == 1, counts
    config["xanes"]["ecutwfc_Ry"] = 22
    (fresh / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    counts = job_counts(run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=fresh).stdout)
    assert counts["ground_state"] == len(config["structures"]["compositions"]) * len(config["structures"]["seeds"]) + 2


def test_presets_in_one_checkout_keep_their_own_runs(finished_run, tmp_path):
    """Two presets started from the repository's root run in their own directories
    (run_directory): the second neither sees nor touches the first's results, and results
    packed in one run directory restore into another without a job rerun (the repository's
    folders are linked into each, so the input paths Snakemake records are the same)."""
    from siox_xanes.release.batches import pack

    work, snakefile = finished_run
    repository = Path(snakefile[1]).parent
    config = base_config()

    def preset(name, **changes):
        (repository / "config.yaml").write_text(yaml.safe_dump({**config, "run_directory": f"runs/{name}", **changes},
                                                                sort_keys=False))

    preset("a")
    run_snakemake([*snakefile, "--cores", "2"], cwd=repository)
    first = repository / "runs/a" / layout.structure_path(layout.glass_cell("2.00", 7))
    made = first.stat().st_mtime_ns
    assert (repository / "runs/a/pseudo").is_symlink()
    # another preset (other seeds) schedules its whole DAG; the first stays finished and untouched
    preset("b", structures={**config["structures"], "seeds": [8]})
    other = job_counts(run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=repository).stdout)
    assert other["melt_quench"] == len(config["structures"]["compositions"]) and other["core_hole_xanes"] >= 1
    preset("a")
    assert job_counts(run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=repository).stdout) == {}
    assert first.stat().st_mtime_ns == made
    # the first run's results, packed, restore into a third run directory with nothing to redo
    batches = tmp_path / "batches"
    assert pack(repository / "runs/a", batches)
    preset("c", release={"batches": str(batches)})
    counts = job_counts(run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=repository).stdout)
    assert not {*EXPENSIVE, *DATASETS, "reference_structure", "validate_cell"} & set(counts), counts


# The MD stub of the site-selection test: the medium release's quenched cell of the same
# composition and seed (the default config's cells have its compositions), so that the real
# descriptors and selection run on real glasses.
RELEASE_CELL_STUB = '''from pathlib import Path
from ase.io import read, write
cell = f"x{snakemake.wildcards.x}_seed{snakemake.wildcards.seed}"
release = read("%s", index=":")
write(snakemake.output.structure, next(a for a in release if a.info.get("cell") == cell), format="extxyz")
for f in [*snakemake.output[1:], *snakemake.log]:
    Path(f).parent.mkdir(parents=True, exist_ok=True)
    Path(f).write_text("stub\\n")
''' % (ROOT / "data/siox-medium-v2" / layout.RELEASE_FILES["structures"])


def test_an_active_site_selection_computes_its_fraction_and_a_larger_one_adds_only_new_sites(tmp_path):
    """The default config with every Si a candidate and xanes.site_selection at 30 %: the DAG
    schedules the DFT of 30 % of its glass sites (chosen by uncertainty reduction on SOAP
    descriptors of the real glasses, before any DFT); raised to 50 %, only the sites the larger
    selection adds: no MD, no ground state, no selection again, no finished site redone."""
    import json
    import math

    snakefile = stubbed_workflow(tmp_path, {"site_selection": None, "melt_quench": RELEASE_CELL_STUB})
    work = tmp_path / "run"
    work.mkdir()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["xanes"]["sites_per_cell"] = "all"
    config["xanes"]["site_selection"].update(method="uncertainty_reduction", amount=0.3)
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    n_glass = sum(c["Si"] for c in config["structures"]["compositions"].values()) * len(config["structures"]["seeds"])
    n_reference = sum(r["sites"] for r in config["xanes"]["references"].values())

    run_snakemake([*snakefile, "--cores", "2", layout.SITE_SELECTION], cwd=work)
    order = json.loads((work / layout.SITE_SELECTION).read_text())["order"]
    assert len(order) == n_glass and len({tuple(p) for p in order}) == n_glass
    cells = {f"x{x}_seed{s}" for x in config["structures"]["compositions"] for s in config["structures"]["seeds"]}
    assert {cell for cell, _ in order[: len(cells)]} == cells  # every cell's best site comes first

    counts = job_counts(run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=work).stdout)
    assert counts["core_hole_xanes"] == math.ceil(0.3 * n_glass) + n_reference, (counts, n_glass)
    assert 0.28 < (counts["core_hole_xanes"] - n_reference) / n_glass < 0.32
    run_snakemake([*snakefile, "--cores", "2"], cwd=work)
    done = {p.parent for p in (work / "results/xanes").glob("x*/site*/spectrum.csv")}
    assert len(done) == math.ceil(0.3 * n_glass)

    config["xanes"]["site_selection"]["amount"] = 0.5
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dry = run_snakemake([*snakefile, "-n", "--cores", "2"], cwd=work).stdout
    counts = job_counts(dry)
    assert counts["core_hole_xanes"] == math.ceil(0.5 * n_glass) - math.ceil(0.3 * n_glass), counts
    assert not {"melt_quench", "ground_state", "bader_charges", "site_selection"} & set(counts), counts
    for site_dir in done:
        assert f"wildcards: cell={site_dir.parent.name}, site={site_dir.name[4:]}\n" not in dry, site_dir
