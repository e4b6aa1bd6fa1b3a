"""results/report.md: settings, sizes, runtimes, this run vs paper (rule reproduction_report)."""

import json
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from siox_xanes.io import atomic_path, write_json
from siox_xanes.report.reproduction import reference_edges, read_report_numbers, render, report_numbers, runtimes
from siox_xanes.report.spectral import spectra_by_composition
from siox_xanes.joblog import start
from siox_xanes.layout import BENCHMARKS, TARGETS

log = start(snakemake)
inp = snakemake.input
metrics = {}
for path in inp.metrics:
    m = json.loads(Path(path).read_text())
    metrics[f"{m['target']}/{m['window']}"] = m
density = pd.read_csv(inp.compositions).set_index("x")["density_g_cm3_mean"].to_dict()
# A dataset from a release was made with the release's settings; the learning is this run's.
config, release = snakemake.config, None
if "release" in inp.keys():
    made_by = json.loads(Path(inp.release).read_text())
    release = {"folder": snakemake.config["dataset"]["from_release"], "commit": made_by["workflow"]["commit"],
               "counts": made_by["counts"]}
    config = {**made_by["config"], **{k: snakemake.config[k] for k in ("learning", "normalisation", "uncertainty")}}
alignment = json.loads(Path(inp.alignment).read_text())
with xr.open_dataset(inp.references) as references:
    edges = reference_edges(references, alignment["references"])
with xr.open_dataset(inp.sites) as sites, xr.open_dataset(inp.systems) as systems:
    split = sites["split"].values
    ctx = {
        "config": config, "release": release, "metrics": metrics, "ablation": snakemake.params.ablation,
        "baseline": json.loads(Path(inp.baseline).read_text()),
        "averaged": json.loads(Path(inp.averaged).read_text()),
        "alignment": alignment, "edges": edges,
        "density": {float(k): float(v) for k, v in density.items()},
        "n_sites": int(sites.sizes["site"]), "n_train": int((split == 0).sum()), "n_test": int((split == 1).sum()),
        "n_systems": int(systems.sizes["system"]), "hardware": "CPU (this run)",
        "spectral": spectra_by_composition(sites),
        "predictor": json.loads(Path(inp.predictor).read_text()),
        "splits": {s["target"]: s for s in (json.loads(Path(p).read_text()) for p in inp.splits)},
        "curves": {t: pd.read_csv(p).to_dict("records") for t, p in zip(TARGETS, inp.curves)},
    }
if "predictor_cv" in inp.keys():
    ctx["predictor_cv"] = json.loads(Path(inp.predictor_cv).read_text())
if "forward_evaluation" in inp.keys():
    ctx["forward"] = {"evaluation": json.loads(Path(inp.forward_evaluation).read_text()),
                      "curves": json.loads(Path(inp.selection_curves).read_text())}
ctx["earlier"] = [read_report_numbers(path, label) for label, path in zip(snakemake.params.earlier_labels, inp.earlier)]
paper = yaml.safe_load(Path(inp.paper).read_text())
write_json(snakemake.output.numbers, report_numbers(paper, ctx, release["folder"] if release else "this run"))
text = render(paper, ctx, runtimes(BENCHMARKS), list(inp.figures))
with atomic_path(snakemake.output.report) as tmp:
    tmp.write_text(text)
log.info("report written: %d lines", text.count("\n"))
