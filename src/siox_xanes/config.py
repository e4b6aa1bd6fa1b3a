"""Checks of a workflow config beyond what its JSON schema can express.

The schema (``schemas/config.schema.yaml``) fixes keys and types; these checks
relate values to each other (counts vs lattice, x vs counts, files that must
exist). Every message names the key and what was expected, and all problems
are reported at once, before any job starts.

Standard library only: it runs when the DAG is built. Checks that need the
scientific stack (the LAMMPS potential file, say) run in the rules that use it.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from .layout import FULL_WINDOW, SHIPPED_REPORT_NUMBERS, X_PATTERN
from .structures.lattice import Lattice, fits_lattice

X_KEY = re.compile(rf"^{X_PATTERN}$")


class ConfigError(ValueError):
    """A config value that cannot be run; the message names the key."""


def lattice_from_config(lat: dict) -> Lattice:
    """The site lattice of a ``structures.lattice`` block."""
    return Lattice(a=float(lat["a"]), repeat=tuple(int(n) for n in lat["repeat"]))


def composition_problems(structures: dict) -> list[str]:
    problems = []
    lattice = lattice_from_config(structures["lattice"])
    for key, counts in structures["compositions"].items():
        where = f"structures.compositions[{key!r}]"
        if not isinstance(key, str) or not X_KEY.match(key):
            problems.append(f"{where}: the key must be x written as a quoted string with two decimals, e.g. \"0.25\"")
            continue
        x = float(key)
        if not 0.0 <= x <= 2.0:
            problems.append(f"{where}: x = {x} is outside 0-2")
        unknown = set(counts) - {"Si", "O"}
        if unknown:
            problems.append(f"{where}: unknown species {sorted(unknown)}, expected Si and O")
            continue
        n_si, n_o = counts.get("Si", 0), counts.get("O", 0)
        if n_si > 0 and abs(n_o / n_si - x) > 1e-6:
            problems.append(f"{where}: Si{n_si}O{n_o} has O/Si = {n_o / n_si:.4f}, inconsistent with x = {x}")
        why = fits_lattice(n_si, n_o, lattice)
        if why:
            problems.append(f"{where}: {why}")
    return problems


def check_config(config: dict) -> None:
    """Raise ConfigError listing every problem found in ``config``."""
    problems = composition_problems(config["structures"])
    seeds = config["structures"]["seeds"]
    if len(set(seeds)) != len(seeds):
        problems.append(f"structures.seeds: {seeds} repeats a seed; each cell needs its own")
    md = config["md"]
    if md["final_temperature_K"] >= md["melt_temperature_K"]:
        problems.append("md.final_temperature_K: must be below md.melt_temperature_K")
    for block, keys in (("validation.density_by_composition", config["validation"]["density_by_composition"]),
                        ("xanes.xspectra_kpoints_by_composition", config["xanes"].get("xspectra_kpoints_by_composition", {})),
                        ("md.max_attempts_by_composition", md.get("max_attempts_by_composition", {}))):
        for key in keys:
            if key not in config["structures"]["compositions"]:
                problems.append(f"{block}[{key!r}]: no such composition in structures.compositions")
    for key in oxidised_compositions(config):
        counts = config["structures"]["compositions"].get(key)
        if counts is None:
            problems.append(f"md.oxidation.compositions: '{key}' is no composition of structures.compositions")
        elif counts["O"] > 2 * counts["Si"]:
            # a fourfold Si network has 2 bonds per Si: SiO2 takes every one of them
            problems.append(f"md.oxidation.compositions: '{key}' has O > 2 Si, more O than a-Si has bonds to take them")
    problems += launcher_problems("md", md)
    problems += xanes_problems(config["xanes"])
    pdos = config.get("pdos")
    if pdos:
        for key in pdos.get("nscf_kpoints_by_composition") or {}:
            if key not in config["structures"]["compositions"]:
                problems.append(f"pdos.nscf_kpoints_by_composition[{key!r}]: no such composition in structures.compositions")
        if "pdos" not in config["learning"]["candidates"]:
            problems.append("learning.candidates.pdos: needed where the PDOS is computed (block pdos)")
        if not pdos["emin_eV"] < 0 < pdos["emax_eV"]:
            problems.append(f"pdos: the grid {pdos['emin_eV']}..{pdos['emax_eV']} eV must hold the highest occupied level (0)")
    grid = config["xanes"]["grid"]
    if FULL_WINDOW not in config["learning"]["windows"]:
        problems.append(f"learning.windows: needs a window named '{FULL_WINDOW}' (the baseline, averaged spectra "
                        "and report use it)")
    windows = config["learning"]["windows"]
    if FULL_WINDOW in windows and list(map(float, windows[FULL_WINDOW])) != [float(grid["start"]), float(grid["stop"])]:
        # the predictor and the averaged spectra read the whole grid as the full window
        problems.append(f"learning.windows.{FULL_WINDOW}: {windows[FULL_WINDOW]} must equal the grid "
                        f"[{grid['start']}, {grid['stop']}] (xanes.grid)")
    problems += [p for name, w in windows.items() if (p := grid_window_problem(f"learning.windows[{name!r}]", w, grid))]
    for group, names in config["learning"].get("ablation", {}).items():
        unknown = [w for w in names if w not in windows]
        if unknown:
            problems.append(f"learning.ablation.{group}: {unknown} are not windows of learning.windows ({list(windows)})")
    problems += normalisation_problems(config["normalisation"], grid)
    # the computed references, which the alignment matches, are known on the grid only
    problems += [p for name, w in config["uncertainty"]["alignment"]["window_eV"].items()
                 if (p := grid_window_problem(f"uncertainty.alignment.window_eV.{name}", w, grid))]
    release = (config.get("dataset") or {}).get("from_release")
    if release:  # this run's ship_models writes that file: a report cannot read it before it exists
        own = PurePath(SHIPPED_REPORT_NUMBERS.format(release=PurePath(release).name))
        problems += [f"report.compare_with.{label}: {path} is what this run's ship_models writes from its own report; "
                     "compare with another release's numbers" for label, path in
                     ((config.get("report") or {}).get("compare_with") or {}).items()
                     if PurePath(path).parts[-2:] == own.parts[-2:]]
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))


def grid_window_problem(key: str, window, grid: dict) -> str | None:
    """An energy window [low, high] must lie on xanes.grid, in order."""
    lo, hi = window
    if grid["start"] <= lo < hi <= grid["stop"]:
        return None
    return f"{key}: [{lo}, {hi}] must satisfy {grid['start']} <= low < high <= {grid['stop']} (xanes.grid)"


def normalisation_problems(norm: dict, grid: dict) -> list[str]:
    """The post-edge range must lie on the computed spectra's grid, above E0, in order."""
    e0, (n1, n2), (p1, p2) = norm["e0_eV"], norm["norm_eV"], norm["pre_eV"]
    problems = []
    if not grid["start"] < e0 < grid["stop"]:
        problems.append(f"normalisation.e0_eV: {e0} must lie inside xanes.grid {grid['start']}-{grid['stop']} eV")
    if not (0 <= n1 < n2 and e0 + n2 <= grid["stop"] + 1e-9):
        problems.append(f"normalisation.norm_eV: [{n1}, {n2}] must satisfy 0 <= low < high and e0_eV + high <= "
                        f"{grid['stop']} (the end of xanes.grid)")
    if not p1 < p2 <= 0:
        problems.append(f"normalisation.pre_eV: [{p1}, {p2}] must satisfy low < high <= 0")
    return problems


def xanes_problems(xanes: dict) -> list[str]:
    problems = []
    if xanes["ecutrho_Ry"] < 4 * xanes["ecutwfc_Ry"]:
        problems.append(f"xanes.ecutrho_Ry: {xanes['ecutrho_Ry']} is below 4 x ecutwfc_Ry ({4 * xanes['ecutwfc_Ry']}), too low for PAW")
    if len(xanes["mixing_beta"]) != len(xanes["electron_maxstep"]):
        problems.append("xanes.electron_maxstep: needs one entry per entry of xanes.mixing_beta (one per SCF attempt)")
    grid = xanes["grid"]
    if grid["stop"] <= grid["start"]:
        problems.append(f"xanes.grid: stop ({grid['stop']}) must be above start ({grid['start']})")
    if xanes["emax_eV"] <= xanes["emin_eV"]:
        problems.append("xanes.emax_eV: must be above xanes.emin_eV")
    if xanes["start_from_ground_state"] and xanes.get("environment_pseudopotentials", "paw") != "paw":
        problems.append("xanes.start_from_ground_state: true needs environment_pseudopotentials 'paw' (an ultrasoft "
                        "ground state has no PAW occupations for the absorber's dataset to start from)")
    problems += launcher_problems("xanes", xanes)
    return problems


def launcher_problems(block: str, settings: dict) -> list[str]:
    launcher, ranks = settings["launcher"], settings["mpi_ranks"]
    if ranks > 1 and launcher != "auto" and "{ranks}" not in launcher:
        return [f"{block}.launcher: '{launcher}' has no {{ranks}} placeholder for the {ranks} MPI ranks"]
    return []


def oxidised_compositions(config: dict) -> list[str]:
    """x keys whose glasses are grown from a-Si by O insertion (md.oxidation)."""
    return list((config["md"].get("oxidation") or {}).get("compositions", []))


def oxidation_settings(config: dict, x_key: str) -> dict:
    """Everything composition x's O insertion depends on: the fields of
    structures.oxidation.Oxidation, from md.oxidation and the validation's bond cut-offs."""
    md, cutoffs = config["md"], config["validation"]["cutoffs"]
    return {
        **{k: v for k, v in md["oxidation"].items() if k != "compositions"},
        "n_oxygen": config["structures"]["compositions"][x_key]["O"],
        "si_si_cutoff_A": cutoffs["Si-Si"],
        "si_o_cutoff_A": cutoffs["Si-O"],
        "end_member_densities": md["nvt_density_end_members_g_cm3"],
    }
