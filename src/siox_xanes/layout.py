"""Names and places the whole workflow agrees on: cell names and the output paths
that Python code (not only the rules) needs.

Standard library only: the Snakefile imports this to build the DAG, in an
environment that holds Snakemake and nothing of the scientific stack.
"""

from __future__ import annotations

import re

REFERENCE_PREFIX = "ref_"
# x with two decimals, seed an integer: 'x0.25_seed3'; references 'ref_alpha_quartz'
X_PATTERN = r"[0-2]\.\d\d"
GLASS_CELL_PATTERN = rf"x{X_PATTERN}_seed\d+"
REFERENCE_CELL_PATTERN = rf"{REFERENCE_PREFIX}[a-z_]+"
CELL_PATTERN = rf"({GLASS_CELL_PATTERN}|{REFERENCE_CELL_PATTERN})"
_GLASS_CELL = re.compile(rf"^x({X_PATTERN})_seed(\d+)$")

# Output paths read by Python code as well as by the rules.
GLASS_STRUCTURE = "results/structures/x{x}/seed{seed}/quenched.extxyz"
REFERENCE_STRUCTURE = "results/references/{name}.extxyz"
GROUND_STATE_SUMMARY = "results/xanes/{cell}/ground_state.json"
BADER_CHARGES = "results/xanes/{cell}/bader.csv"
# what pw.x, pp.x and xspectra.x printed, one file per job (bench/dft_run_cost.py reads them)
GROUND_STATE_QE_LOG = "logs/ground_state/{cell}.qe.txt"
SITE_QE_LOG = "logs/core_hole_xanes/{cell}_site{site}.qe.txt"
SITE_RDF = "results/dataset/{cell}/site_rdf.nc"
SITE_CUBE = "results/dataset/spectra_sites.nc"
SYSTEM_CUBE = "results/dataset/spectra_systems.nc"
MODEL = "results/learning/window_{window}/{target}/model.pt"
PREDICTIONS = "results/learning/window_{window}/{target}/predictions.nc"
METRICS = "results/learning/window_{window}/{target}/metrics.json"
BASELINE_METRICS = "results/learning/window_{window}/valence/baseline_metrics.json"
AVERAGED_PREDICTIONS = "results/learning/window_{window}/averaged_predictions.nc"
AVERAGED_METRICS = "results/learning/window_{window}/averaged_metrics.json"
SPLIT_EVALUATION = "results/learning/evaluation/{target}_splits.json"
SPLIT_LEARNING_CURVE = "results/learning/evaluation/{target}_learning_curve.csv"
PREDICTOR = "results/predictor/predictor.pt"
PREDICTOR_EVALUATION = "results/predictor/evaluation.json"
PREDICTOR_ROBUSTNESS = "results/predictor/robustness.csv"
SHIPPED_PREDICTOR = "data/models/predictor.pt"
SHIPPED_MODEL = "data/models/{target}_full.pt"          # the full window's network of a target
SHIPPED_MODELS_CARD = "data/models/models.json"         # which release, networks, epochs, test metrics
BENCHMARKS = "benchmarks"

# Files of a published data release (a folder such as data/siox-medium-v2): what rule
# data_release writes, and what a preset with dataset.from_release learns from.
RELEASE_FILES = {
    "sites": "spectra_sites.nc",                    # the site cube
    "systems": "spectra_systems.nc",                # the system cube
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


# Learning targets: wildcard value -> variable of the site cube it is trained on.
TARGETS = {"valence": "bader_charge", "rdf": "rdf_total"}
# Cube variable every model reads: spectra normalised to edge step 1, so measured spectra in any units fit.
MODEL_INPUT = "mu_norm"
# The window every comparison with the paper, the baseline and the averaged spectra use.
FULL_WINDOW = "full"
