# Helpers shared by every stage: config validation at start-up, cells and sites of the DAG,
# and the params each rule hands to its script.
#
# Building the DAG needs Snakemake alone: the modules imported here use the standard
# library only (tests/test_workflow.py builds the DAG with the scientific stack blocked).
#
# Params hold exactly the values a rule's outputs depend on, because Snakemake reruns a
# job whose params changed. Resources (time, memory, ranks), launchers and provenance
# never go through params: scripts read them from snakemake.resources / snakemake.config,
# which Snakemake does not compare.

import json
import os
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


def repository_file(rel):
    """A repository file as an input path relative to the working directory. Snakemake
    records input paths with each result; relative, they are the same on every checkout,
    so results restored from a release's batches stay valid on another machine. A preset's
    run directory inside the repository sees the repository's folders through links
    (pseudo -> ../../pseudo): its paths read as from the root, so that results made in one
    run directory (a release's batches) stay valid in another."""
    if RUN_IN_REPOSITORY and not Path(rel).is_absolute():
        top = Path(rel).parts[0]
        link = Path(top)
        if not link.exists():
            try:
                link.symlink_to(
                    os.path.relpath(WORKFLOW_DIR / top), target_is_directory=True
                )
            except FileExistsError:
                pass  # another job's Snakemake made it
        return rel
    return os.path.relpath(WORKFLOW_DIR / rel)


# A SLURM array task other than the first runs its own job and ends here (see the module:
# the job-step plugin would otherwise check the first task's outputs and fail this one).
if workflow.remote_exec:
    from siox_xanes.slurm_array import run_if_later_array_task

    run_if_later_array_task()

from siox_xanes import layout
from siox_xanes.config import (
    ConfigError,
    check_config,
    oxidation_settings,
    oxidised_compositions,
)
from siox_xanes.spectra.references import (
    by_composition,
    glass_settings,
    reference_settings,
    reference_si_count,
)
from siox_xanes.spectra.sites import SelectionError, select_sites, selected_sites
from siox_xanes.structures.lattice import volume_additive_density

validate(config, schema="../schemas/config.schema.yaml")
try:
    check_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

# Each preset runs in its own directory (run_directory): results, logs and Snakemake's records
# of one preset never overwrite another's in the same checkout. LAUNCH_DIR: where Snakemake was
# started (the repository's root as a rule), for the files a run writes into the repository.
LAUNCH_DIR = Path.cwd()


workdir: config.get("run_directory", ".")


RUN_IN_REPOSITORY = (
    LAUNCH_DIR.resolve() == WORKFLOW_DIR.resolve()
    and Path.cwd().resolve() != WORKFLOW_DIR.resolve()
)


def launch_file(rel):
    """A path relative to the launch directory, as an output path of the run directory."""
    return os.path.relpath(LAUNCH_DIR / rel)


# A release's finished MD and DFT results, committed as batches, come back before the DAG
# is built: a fresh checkout resumes from them (siox_xanes.release.batches). Jobs on a
# cluster parse this file again and skip it: the submitting Snakemake restored them.
RELEASE_BATCHES = (config.get("release") or {}).get("batches")
if RELEASE_BATCHES and not workflow.remote_exec:
    from siox_xanes.release.batches import ReleaseError, restore

    try:
        _restored = restore(WORKFLOW_DIR / RELEASE_BATCHES, Path.cwd())
    except ReleaseError as exc:
        raise WorkflowError(str(exc)) from None
    print(
        f"release batches {RELEASE_BATCHES}: "
        + ", ".join(f"{n} files {k}" for k, n in _restored.items()),
        file=sys.stderr,
    )

# A preset that learns from a published release (dataset.from_release) takes the cubes,
# the references' spectra, the alignment and the structure table from its folder and runs
# no structure, DFT or dataset job; rule data_release (release.publish) writes such a folder.
DATASET_RELEASE = config["dataset"].get("from_release")
RELEASE_PUBLISH = (config.get("release") or {}).get("publish")


def release_file(folder, key):
    """File ``key`` of layout.RELEASE_FILES in a release folder (relative to the repository)."""
    return repository_file(f"{folder}/{layout.RELEASE_FILES[key]}")


if DATASET_RELEASE:
    _absent = [
        release_file(DATASET_RELEASE, k)
        for k in (
            "sites",
            "systems",
            "reference_spectra",
            "alignment",
            "validation_compositions",
            "provenance",
            "structures",
        )
        if not os.path.isfile(release_file(DATASET_RELEASE, k))
    ]
    if _absent:
        raise WorkflowError(
            f"dataset.from_release {DATASET_RELEASE}: {', '.join(_absent)} not found "
            "(a folder written by rule data_release expected)"
        )


def dataset_input(key, produced):
    """An input of the learning and report stages: the workflow's own output ``produced``,
    or the release's file ``key`` when the dataset comes from a release."""
    return release_file(DATASET_RELEASE, key) if DATASET_RELEASE else produced


def figure_input(key):
    """Workflow path(s) of a figure input key (report.catalog); Fig. 1 draws the first seed's
    cell of each composition, a run from a release the release's cells."""
    from siox_xanes.report.catalog import DATASET_KEYS, input_path

    structures = [
        layout.structure_path(layout.glass_cell(x, SEEDS[0])) for x in COMPOSITIONS
    ]
    path = input_path(key, structures)
    return dataset_input(key, path) if key in DATASET_KEYS else path


STRUCTURES = config["structures"]
MD = config["md"]
XANES = config["xanes"]
FORWARD = config["forward"]
COMPOSITIONS = list(STRUCTURES["compositions"])
SEEDS = [str(s) for s in STRUCTURES["seeds"]]


wildcard_constraints:
    x=layout.X_PATTERN,
    seed=r"\d+",
    cell=layout.CELL_PATTERN,
    site=r"\d+",


def all_cells(pattern):
    """``pattern`` (with {x} and {seed}) filled in for every configured cell."""
    return expand(pattern, x=COMPOSITIONS, seed=SEEDS)


# Cells of the XANES stage: every quenched glass, plus the crystalline references.
GLASS_CELLS = [layout.glass_cell(x, s) for x in COMPOSITIONS for s in SEEDS]
REFERENCE_CELLS = [layout.reference_cell(name) for name in XANES["references"]]


def structure_of(wildcards):
    return layout.structure_path(wildcards.cell)


def n_si_of(cell):
    if layout.is_reference(cell):
        name = layout.reference_name(cell)
        return reference_si_count(name, XANES["references"][name]["repeat"])
    x, _ = layout.parse_glass_cell(cell)
    return STRUCTURES["compositions"][x]["Si"]


def _sites(cell):
    per_cell = (
        XANES["references"][layout.reference_name(cell)]["sites"]
        if layout.is_reference(cell)
        else XANES["sites_per_cell"]
    )
    return select_sites(n_si_of(cell), per_cell, XANES["site_seed"], cell)


# The candidate sites: fixed by the config alone (sites_per_cell, site_seed).
CANDIDATE_SITES = {cell: _sites(cell) for cell in GLASS_CELLS + REFERENCE_CELLS}
# xanes.site_selection: "all" computes every candidate; an active method computes the first
# `amount` of the order that the checkpoint site_selection gives the glass candidates from
# their descriptors, so the glass sites are known only once the structures are.
SITE_SELECTION = XANES.get("site_selection") or {"method": "all"}
ACTIVE_SELECTION = SITE_SELECTION["method"] != "all"


def glass_sites():
    """Glass cell -> the sites that get DFT."""
    if not ACTIVE_SELECTION:
        return {c: CANDIDATE_SITES[c] for c in GLASS_CELLS}
    order = checkpoints.site_selection.get().output.order
    try:
        chosen = selected_sites(order, SITE_SELECTION["amount"])
    except SelectionError as exc:
        raise WorkflowError(f"xanes.site_selection: {exc}") from None
    missing = [c for c in GLASS_CELLS if c not in chosen]
    if missing:
        raise WorkflowError(
            f"xanes.site_selection.amount {SITE_SELECTION['amount']!r} leaves {len(missing)} glass cells "
            f"without a site ({', '.join(missing[:5])}...): expected at least one site per cell, "
            f"{len(GLASS_CELLS)} sites or more"
        )
    return {c: chosen[c] for c in GLASS_CELLS}


def sites_of(cell):
    return CANDIDATE_SITES[cell] if layout.is_reference(cell) else glass_sites()[cell]


def site_files(pattern, cells):
    """``pattern`` (with {cell} and {site}) for every site of ``cells`` that gets DFT."""
    return [pattern.format(cell=c, site=s) for c in cells for s in sites_of(c)]


# Rules fed by the glass sites read the selection's order as an input when one is active
# (Snakemake requires it of a param that depends on a checkpoint); without one they keep the
# inputs they always had, so finished runs stay finished.
SELECTION_INPUT = {"selection": layout.SITE_SELECTION} if ACTIVE_SELECTION else {}


def subset(mapping, keys):
    """The entries ``keys`` of a config block: what a rule's result depends on."""
    return {k: mapping[k] for k in keys}


def md_protocol():
    """The MD params; the cut-off rewrite only when set, so that runs made before the
    option existed (and runs without it) keep their recorded params."""
    protocol = subset(MD, layout.MD_PROTOCOL_KEYS)
    if MD.get("tersoff_cutoffs_A"):
        protocol["tersoff_cutoffs_A"] = MD["tersoff_cutoffs_A"]
    return protocol


def initial_counts(wildcards):
    """Atoms of the starting network: the composition's, or its Si only when the glass
    is grown from a-Si (the O come in after the melt-quench)."""
    counts = STRUCTURES["compositions"][wildcards.x]
    return (
        {"Si": counts["Si"], "O": 0}
        if wildcards.x in oxidised_compositions(config)
        else counts
    )


def md_oxidation(wildcards):
    """Everything the O insertion's result depends on, for an oxidised composition only
    (None otherwise, so the other cells keep their recorded params)."""
    if wildcards.x not in oxidised_compositions(config):
        return None
    return oxidation_settings(config, wildcards.x)


def cell_bounds(wildcards):
    """What a sound glass of composition x satisfies (validation.bounds, the density window
    of validation.density_by_composition where it names x)."""
    validation = config["validation"]
    return {
        **validation["bounds"],
        "density_g_cm3": validation["density_by_composition"].get(
            wildcards.x, validation["bounds"]["density_g_cm3"]
        ),
    }


def md_redraw(wildcards):
    """How a cell that misses the bounds is drawn again: None with one draw (md.max_attempts
    1, the paper's way), so that such cells keep their recorded params. A composition of
    md.max_attempts_by_composition has its own number of draws."""
    attempts = MD.get("max_attempts_by_composition", {}).get(
        wildcards.x, MD.get("max_attempts", 1)
    )
    if attempts == 1:
        return None
    return {
        "max_attempts": attempts,
        "cutoffs": config["validation"]["cutoffs"],
        "bounds": cell_bounds(wildcards),
    }


def md_density(wildcards):
    """Fixed density of the nvt protocol for composition x; None for npt (so that the
    end members are no part of an npt result)."""
    if MD["ensemble"] != "nvt":
        return None
    return volume_additive_density(
        float(wildcards.x), MD["nvt_density_end_members_g_cm3"]
    )


def xanes_settings(cell, keys):
    """The XANES settings ``keys`` of ``cell``: the config's, with a reference's own k meshes."""
    values = subset(XANES, keys)
    # all-PAW, the only way before the option existed, stays out of params: runs made
    # then (the medium release) keep their recorded params
    if values.get("environment_pseudopotentials") == "paw":
        del values["environment_pseudopotentials"]
    # likewise the unshifted xspectra mesh, the only one before the option existed
    if not any(values.get("xspectra_kpoint_shift", [])):
        values.pop("xspectra_kpoint_shift", None)
    own = (
        reference_settings(XANES, layout.reference_name(cell))
        if layout.is_reference(cell)
        else glass_settings(XANES, layout.parse_glass_cell(cell)[0])
    )
    values.update({k: v for k, v in own.items() if k in keys})
    return values


# Seed 004's PDOS target (config block pdos; absent: none). A run that learns from a release
# learns the PDOS where the release's own config computed it (its provenance says).
PDOS = config.get("pdos")
LEARN_PDOS = bool(
    json.loads(Path(release_file(DATASET_RELEASE, "provenance")).read_text())[
        "config"
    ].get("pdos")
    if DATASET_RELEASE
    else PDOS
)


def pdos_settings(cell):
    """What ``cell``'s PDOS depends on beyond its SCF (layout.PDOS_KEYS), its composition's mesh."""
    values = subset(PDOS, layout.PDOS_KEYS)
    values["nscf_kpoints"] = by_composition(
        PDOS, "nscf_kpoints", layout.parse_glass_cell(cell)[0]
    )
    return values


def pdos_scf_settings(cell):
    """The PDOS's SCF: the ground state's settings, always all-PAW (the environment choice is
    not a param here: it cannot change this SCF)."""
    values = xanes_settings(cell, layout.SCF_KEYS)
    values.pop("environment_pseudopotentials", None)
    return values


def architecture_selection(wc):
    """The full window's metrics, whose CV picks the network of the other windows (none where
    the window runs its own CV)."""
    if wc.window == layout.FULL_WINDOW or config["learning"]["cv_per_window"]:
        return []
    return layout.METRICS.format(window=layout.FULL_WINDOW, target=wc.target)
