# Helpers shared by every stage: config validation at start-up, paths, wildcards.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's own package, importable here whether or not it is pip-installed.
# Jobs find it through scripts/siox_xanes (a link to src/siox_xanes): Snakemake puts
# the scripts folder on sys.path of every script, in any software environment.
# WORKFLOW_DIR: the repository, also when run with --directory elsewhere.
WORKFLOW_DIR = Path(workflow.basedir)
sys.path.insert(0, str(WORKFLOW_DIR / "src"))

from siox_xanes.config import ConfigError, check_config

validate(config, schema="../schemas/config.schema.yaml")
try:
    check_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

COMPOSITIONS = list(config["structures"]["compositions"])
SEEDS = [str(s) for s in config["structures"]["seeds"]]


wildcard_constraints:
    x=r"[0-2]\.\d\d",
    seed=r"\d+",
    cell=r"(x[0-2]\.\d\d_seed\d+|ref_[a-z_]+)",
    site=r"\d+",


def all_cells(pattern):
    """``pattern`` (with {x} and {seed}) filled in for every configured cell."""
    return expand(pattern, x=COMPOSITIONS, seed=SEEDS)


# Cells of the XANES stage: every quenched glass, plus the crystalline references.
from siox_xanes.references import reference_crystal
from siox_xanes.xanes import select_sites

XANES = config["xanes"]
GLASS_CELLS = [f"x{x}_seed{s}" for x in COMPOSITIONS for s in SEEDS]
REFERENCE_CELLS = [f"ref_{name}" for name in XANES["references"]]


def glass_structure(cell):
    """Quenched structure of glass cell ``x{x}_seed{seed}``."""
    x, seed = cell[1:].split("_seed")
    return f"results/structures/x{x}/seed{seed}/quenched.extxyz"


def structure_of(wildcards):
    """Structure file of a XANES cell: a quenched glass or a reference crystal."""
    if wildcards.cell.startswith("ref_"):
        return f"results/references/{wildcards.cell[4:]}.extxyz"
    return glass_structure(wildcards.cell)


def _sites(cell):
    if cell.startswith("ref_"):
        ref = XANES["references"][cell[4:]]
        n_si = (
            reference_crystal(cell[4:], ref["repeat"])
            .get_chemical_symbols()
            .count("Si")
        )
        return select_sites(n_si, ref["sites"], XANES["site_seed"], cell)
    x = cell[1:].split("_seed")[0]
    n_si = config["structures"]["compositions"][x]["Si"]
    return select_sites(n_si, XANES["sites_per_cell"], XANES["site_seed"], cell)


# Fixed by the config alone, so the DAG needs no checkpoint.
SITES = {cell: _sites(cell) for cell in GLASS_CELLS + REFERENCE_CELLS}


def site_files(pattern, cells):
    """``pattern`` (with {cell} and {site}) for every selected site of ``cells``."""
    return [pattern.format(cell=c, site=s) for c in cells for s in SITES[c]]
