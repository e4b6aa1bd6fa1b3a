"""Names and places the whole workflow agrees on: cell names and the output paths
that Python code (not only the rules) needs.

Standard library only: the Snakefile imports this to build the DAG, in an
environment that holds Snakemake and nothing of the scientific stack.
"""

from __future__ import annotations

import re

REFERENCE_PREFIX = "ref_"
# The crystalline references: the global shift puts alpha-quartz's main peak at its experimental
# energy; diamond Si checks the scale; a measured one of either aligns a user's data.
REFERENCES = ("alpha_quartz", "diamond_si")
# x with two decimals, seed an integer: 'x0.25_seed3'; references 'ref_alpha_quartz'
X_PATTERN = r"[0-2]\.\d\d"
GLASS_CELL_PATTERN = rf"x{X_PATTERN}_seed\d+"
REFERENCE_CELL_PATTERN = rf"{REFERENCE_PREFIX}[a-z_]+"
CELL_PATTERN = rf"({GLASS_CELL_PATTERN}|{REFERENCE_CELL_PATTERN})"
_GLASS_CELL = re.compile(rf"^x({X_PATTERN})_seed(\d+)$")

# Output paths read by Python code as well as by the rules.
GLASS_DIR = "results/structures/x{x}/seed{seed}"     # MD of one glass cell: structures, trace, validation
GLASS_INITIAL = f"{GLASS_DIR}/initial.extxyz"          # the random network the MD starts from
GLASS_STRUCTURE = f"{GLASS_DIR}/quenched.extxyz"
MD_TRACE = f"{GLASS_DIR}/thermo.csv"
MD_LAMMPS_LOG = f"{GLASS_DIR}/lammps.log"
GLASS_VALIDATION = f"{GLASS_DIR}/validation.json"
VALIDATION_CELLS = "results/structures/validation_cells.csv"
VALIDATION_COMPOSITIONS = "results/structures/validation_by_composition.csv"
COORDINATION_CLASSES = "results/structures/coordination_classes.csv"
REFERENCE_STRUCTURE = "results/references/{name}.extxyz"
# PAW datasets made by ld1.x (rule pseudopotentials) and, beside copies of them, the ultrasoft
# environment's (rule ultrasoft_pseudopotentials): pw.x reads one folder.
PSEUDO_DIR = "results/pseudo"
ULTRASOFT_PSEUDO_DIR = f"{PSEUDO_DIR}/ultrasoft"
PAW_DATASETS = {"Si": "Si.pbe-paw.UPF", "Si_hole": "Si_hole.pbe-paw.UPF", "O": "O.pbe-paw.UPF"}
ULTRASOFT_DATASETS = {"Si": "Si.pbe-us.UPF", "O": "O.pbe-us.UPF"}
VALENCE_ELECTRONS = {"Si": 4.0, "O": 6.0}  # of the ground-state datasets (pseudo/*.ld1.in: Si 3s2 3p2, O 2s2 2p4)
CORE_WAVEFUNCTION = "Si_hole.1s.core"   # the absorber's 1s orbital, xspectra.x's filecore
PSEUDO_MANIFEST = "manifest.json"       # checksums, transferability errors, Delta E_atom
GROUND_STATE_SUMMARY = "results/xanes/{cell}/ground_state.json"
# pw.x's ground-state save folder, kept only while core-hole SCFs start from its density
GROUND_STATE_DENSITY = "results/xanes/{cell}/ground_state_density"
BADER_CHARGES = "results/xanes/{cell}/bader.csv"
# the ground state's densities for Bader (temporary: deleted once the Bader job ran)
RHO_VALENCE = "results/xanes/{cell}/rho_valence.cube"
RHO_ALL_ELECTRON = "results/xanes/{cell}/rho_all_electron.cube"
# the order in which candidate glass sites get DFT (checkpoint site_selection)
SITE_SELECTION = "results/xanes/site_selection.json"
SITE_SPECTRUM = "results/xanes/{cell}/site{site}/spectrum.csv"
SITE_SUMMARY = "results/xanes/{cell}/site{site}/site.json"
ALIGNED_SPECTRA = "results/xanes/spectra_on_grid.nc"
ALIGNMENT = "results/xanes/alignment.json"
# what pw.x, pp.x and xspectra.x printed, one file per job (bench/dft_run_cost.py reads them)
GROUND_STATE_QE_LOG = "logs/ground_state/{cell}.qe.txt"
SITE_QE_LOG = "logs/core_hole_xanes/{cell}_site{site}.qe.txt"
# every Si's ground-state s and p PDOS and local gap, one file per cell (rule cell_pdos)
CELL_PDOS = "results/pdos/{cell}.nc"
PDOS_QE_LOG = "logs/cell_pdos/{cell}.qe.txt"
SITE_RDF = "results/dataset/{cell}/site_rdf.nc"
SITE_CUBE = "results/dataset/spectra_sites.nc"
SYSTEM_CUBE = "results/dataset/spectra_systems.nc"
MODEL = "results/learning/window_{window}/{target}/model.pt"
PREDICTIONS = "results/learning/window_{window}/{target}/predictions.nc"
METRICS = "results/learning/window_{window}/{target}/metrics.json"
LEARNING_CURVE = "results/learning/window_{window}/{target}/learning_curve.csv"
BASELINE_METRICS = "results/learning/window_{window}/valence/baseline_metrics.json"
AVERAGED_PREDICTIONS = "results/learning/window_{window}/averaged_predictions.nc"
AVERAGED_METRICS = "results/learning/window_{window}/averaged_metrics.json"
SPLIT_EVALUATION = "results/learning/evaluation/{target}_splits.json"
SPLIT_LEARNING_CURVE = "results/learning/evaluation/{target}_learning_curve.csv"
PREDICTOR = "results/predictor/predictor.pt"
PREDICTOR_EVALUATION = "results/predictor/evaluation.json"
PREDICTOR_ROBUSTNESS = "results/predictor/robustness.csv"
PREDICTOR_CROSS_VALIDATION = "results/predictor/cross_validation.json"
FORWARD_MODEL = "results/forward/model.joblib"          # structure -> spectrum (siox-xanes spectrum)
FORWARD_METRICS = "results/forward/metrics.json"
FORWARD_EVALUATION = "results/forward/evaluation.json"  # models x descriptors x splits vs the class-mean baseline
FORWARD_PREDICTIONS = "results/forward/out_of_fold.nc"  # the best model's by-cell predictions per site
SELECTION_CURVES = "results/forward/selection_curves.json"
# every Si of every cell: computed spectra and the forward model's for the others (rule completed_spectra)
COMPLETED_SPECTRA = "results/dataset/spectra_completed.nc"
# every Si of the run's cells predicted by the shipped forward model, from the structures alone (no DFT)
PREDICTED_SPECTRA = "results/forward/predicted_spectra.nc"
FIGURE = "results/figures/{fig}.png"                   # and its .pdf beside it
FIGURE_PDF = "results/figures/{fig}.pdf"
REPORT = "results/report.md"
REPORT_NUMBERS = "results/report_numbers.json"  # the headline numbers, for a later run to compare
SHIPPED_PREDICTOR = "data/models/predictor.pt"
SHIPPED_MODEL = "data/models/{target}_full.pt"          # the full window's network of a target
SHIPPED_FORWARD_MODEL = "data/models/forward.joblib"
SHIPPED_FORWARD_CARD = "data/models/forward.json"        # which release, descriptor, errors by cell
SHIPPED_MODELS_CARD = "data/models/models.json"         # which release, networks, epochs, test metrics
# each release's report numbers, kept when the next release's models replace its own
SHIPPED_REPORT_NUMBERS = "data/models/report_numbers/{release}.json"
BENCHMARKS = "benchmarks"

# Files of a published data release (a folder such as data/siox-medium-v2): what rule
# data_release writes, and what a preset with dataset.from_release learns from.
RELEASE_FILES = {
    "sites": "spectra_sites.nc",                    # the site cube
    "systems": "spectra_systems.nc",                # the system cube
    "completed": "spectra_completed.nc",            # every Si: computed or predicted, averages over all Si
    "raw_spectra": "spectra_raw.nc",                # every site on xspectra's own grid, with its Delta-SCF energies
    "reference_spectra": "reference_spectra.nc",    # the references' aligned spectra (the predictor aligns with them)
    "alignment": "alignment.json",
    "structures": "structures.extxyz.xz",           # every quenched glass and reference crystal
    "validation_cells": "validation_cells.csv",
    "validation_compositions": "validation_by_composition.csv",
    "bader": "bader_charges.csv",                   # every atom of every cell
    "provenance": "provenance.json",                # commit, config, engine versions, PAW checksums
}


def glass_cell(x: str, seed: int | str) -> str:
    """Name of the glass cell of composition ``x`` (quoted key, e.g. '0.25') and ``seed``."""
    return f"x{x}_seed{seed}"


def reference_cell(name: str) -> str:
    return f"{REFERENCE_PREFIX}{name}"


def is_reference(cell: str) -> bool:
    return cell.startswith(REFERENCE_PREFIX)


def reference_name(cell: str) -> str:
    if not is_reference(cell):
        raise ValueError(f"'{cell}' is not a reference cell ({REFERENCE_PREFIX}<name>)")
    return cell[len(REFERENCE_PREFIX):]


def parse_glass_cell(cell: str) -> tuple[str, int]:
    """(x key, seed) of a glass cell name; ValueError for anything else."""
    m = _GLASS_CELL.match(cell)
    if not m:
        raise ValueError(f"'{cell}' is not a glass cell name (x<x.xx>_seed<n>)")
    return m.group(1), int(m.group(2))


def structure_path(cell: str) -> str:
    """Structure file of a XANES cell: a quenched glass or a reference crystal."""
    if is_reference(cell):
        return REFERENCE_STRUCTURE.format(name=reference_name(cell))
    x, seed = parse_glass_cell(cell)
    return GLASS_STRUCTURE.format(x=x, seed=seed)


# What a result depends on, per stage: the config keys that go into a rule's params (Snakemake
# reruns a job whose params changed). The settings dataclasses of siox_xanes.spectra.calc hold
# exactly these fields (a test checks it).
MD_PROTOCOL_KEYS = (
    "potential", "timestep_fs", "melt_temperature_K", "hold_ps", "quench_ps", "final_temperature_K",
    "pressure_atm", "tdamp_ps", "pdamp_ps", "trace_every", "ensemble", "relax_box",
)
# An SCF result: cut-offs, k-points, smearing, convergence and the retry schedule of
# mixing and iteration limits (an attempt's mixing is one entry of it).
SCF_KEYS = (
    "ecutwfc_Ry", "ecutrho_Ry", "scf_kpoints", "degauss_Ry", "conv_thr_per_atom", "mixing_beta",
    "electron_maxstep", "mixing_mode", "environment_pseudopotentials",
)
# What xspectra.x's spectrum depends on beyond the SCF
XSPECTRA_KEYS = (
    "xspectra_kpoints", "xspectra_kpoint_shift", "gamma_eV", "emin_eV", "emax_eV", "n_energy_points",
    "lanczos_error",
)
SPECTRUM_KEYS = (*SCF_KEYS, *XSPECTRA_KEYS, "start_from_ground_state")
# What a cell's PDOS depends on beyond its (all-PAW) SCF: the pdos block's leaves
PDOS_KEYS = ("nscf_kpoints", "sigma_eV", "emin_eV", "emax_eV", "step_eV", "empty_eV", "gap_threshold")
ALIGNMENT_KEYS = ("grid", "experiment_main_peak_eV", "main_peak_window_eV")

# Learning targets: wildcard value -> variable(s) of the site cube it is trained on (the PDOS:
# s then p, one row; learned where the config computes it, block pdos).
TARGETS = {"valence": "bader_charge", "rdf": "rdf_total", "pdos": ("pdos_s", "pdos_p")}
PDOS_TARGET = "pdos"
# Per-site variables of the PDOS block (dataset.site_pdos.PdosRows): the target and the local gap's reading.
PDOS_VARIABLES = ("pdos_s", "pdos_p", "local_gap", "valence_edge", "conduction_edge")
# Per-site flag of a pooled training cube: the run's own spectrum or a lower-fidelity release's
# (learning.fidelity; dataset.lower_fidelity).
FIDELITY = "fidelity"
POOLED_SITE_CUBE = "results/dataset/spectra_sites_pooled.nc"
# Cube variable every model reads: spectra normalised to edge step 1, so measured spectra in any units fit.
MODEL_INPUT = "mu_norm"
# The window every comparison with the paper, the baseline and the averaged spectra use.
FULL_WINDOW = "full"


def as_glob(pattern: str) -> str:
    """A path pattern with every {placeholder} replaced by '*' (the files of all cells, sites, ...)."""
    return re.sub(r"\{[^}]*\}", "*", pattern)
