# Helpers shared by every stage: config validation at start-up, paths, wildcards.

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The workflow's own package, importable here and in every job (scripts and
# subprocesses inherit PYTHONPATH), whether or not it is pip-installed.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))

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


def cell_dir(x="{x}", seed="{seed}"):
    """Folder of one cell (composition x, seed) under results/structures."""
    return f"results/structures/x{x}/seed{seed}"


def all_cells(pattern):
    """``pattern`` (with {x} and {seed}) filled in for every configured cell."""
    return expand(pattern, x=COMPOSITIONS, seed=SEEDS)
