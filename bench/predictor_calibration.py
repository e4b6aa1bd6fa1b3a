"""Method study (issue 36): which calibration of the valence interval holds its coverage per
composition? Every cell held out once (`siox_xanes.learning.predictor_cv`), side by side on one set
of ensembles per fold.

The interval's half-width is a conformal scale times the input's difficulty: the ensemble's spread
plus a floor that grows with the input's distance from the training inputs. The floor is a quantile
of the calibration inputs' spreads (the median in the shipped predictor). A high floor makes every
interval about equally wide, so compositions whose sites are easy (pure silica) are over-covered
and hard ones under-covered; a low floor lets the spread decide. Compared here: floor quantiles
crossed with Mondrian bins of the predicted valence. Printed per variant: the coverage of the 90 %
interval over all sites and per composition (with the 95 % interval from resampling whole cells),
its median half-width near and far from the training inputs, and the averaged spectra's coverage
and mean signed error. The network is the one the shipped predictor uses (`data/models/models.json`).

    .venv/bin/python bench/predictor_calibration.py [--release data/siox-medium-v2] [--members 3]

Results: bench/results/predictor_calibration.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
import xarray as xr
import yaml

from siox_xanes import layout
from siox_xanes.io import write_json
from siox_xanes.learning.predictor import PredictorSettings
from siox_xanes.learning.predictor_cv import valence_cross_validation
from siox_xanes.measured.normalise import Normalisation

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/results/predictor_calibration.json"


def table(result: dict) -> str:
    comps = sorted(next(iter(result["calibrations"].values()))["site"]["by_composition"])
    lines = ["| calibration | all sites: coverage, median half-width | per composition, x = " + ", ".join(comps)
             + " | near / far half-width | averaged spectra: coverage, mean signed error |",
             "| --- | --- | --- | --- | --- |"]
    for name, c in result["calibrations"].items():
        s, a = c["site"], c["system"]["all"]
        per = ", ".join(f"{100 * v['coverage']:.0f} ({100 * v['coverage_interval_95'][0]:.0f}–"
                        f"{100 * v['coverage_interval_95'][1]:.0f})" for v in s["by_composition"].values())
        lines.append(f"| {name} | {100 * s['all']['coverage']:.1f} %, ±{s['all']['median_halfwidth']:.2f} e | {per} | "
                     f"±{s['median_halfwidth_nearest_quarter']:.2f} / ±{s['median_halfwidth_farthest_quarter']:.2f} e | "
                     f"{100 * a['coverage']:.0f} %, {a['mean_signed_error']:+.3f} e |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--release", default="data/siox-medium-v2")
    ap.add_argument("--members", type=int, default=None, help="ensemble members (default: the config's)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--bins", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--floor-quantiles", type=float, nargs="+", default=[0.5, 0.25, 0.1, 0.0])
    ap.add_argument("--known-composition", action="store_true",
                    help="also score each calibration with one conformal scale per composition (cross-conformal)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="print the table of the results file and stop")
    args = ap.parse_args()
    if args.table:
        print(table(json.loads(OUT.read_text())))
        return
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    network = json.loads((ROOT / layout.SHIPPED_MODELS_CARD).read_text())["predictor"]["networks"]["valence"]
    learning = {"training": config["learning"]["training"],
                "candidates": {"valence": [{k: v for k, v in network.items() if k != "candidate"}]}}
    release = ROOT / args.release
    with xr.open_dataset(release / layout.RELEASE_FILES["sites"]) as s, \
            xr.open_dataset(release / layout.RELEASE_FILES["systems"]) as y:
        sites, systems = s.load(), y.load()
    settings = PredictorSettings.from_config(config["uncertainty"])
    if args.members:
        settings = replace(settings, ensemble_members=args.members)
    started = time.process_time()
    result = valence_cross_validation(sites, systems, learning, Normalisation.from_config(config["normalisation"]),
                                      settings, args.folds, tuple(args.bins), floor_quantiles=tuple(args.floor_quantiles),
                                      known_composition=args.known_composition)
    result.update(release=args.release, network=network, cpu_s=round(time.process_time() - started, 1))
    write_json(OUT, result)
    print(table(result))
    print(f"{result['cpu_s']:.0f} CPU s")


if __name__ == "__main__":
    main()
