"""Apply trained models to your own spectrum.

    python -m siox_xanes.learning.predict --valence valence.pt [--rdf rdf.pt] spectrum.dat

``spectrum.dat``: two columns, photon energy (eV, on the workflow's absolute
scale, i.e. aligned like the training data) and intensity in any units; '#'
comments are ignored. The spectrum is normalised with the model's recipe,
must cover the model's energy window and is interpolated onto its grid.
For measured files (XDI, Athena), energy alignment and intervals, use
``siox-xanes predict``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .nets import load_model, spectrum_on_model_grid


def read_two_columns(path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.loadtxt(path, comments="#", ndmin=2, delimiter=None)
    except ValueError as exc:
        raise ValueError(f"{path}: not two numeric columns ({exc})") from exc
    if data.shape[1] < 2:
        raise ValueError(f"{path}: expected two columns (energy, intensity), found {data.shape[1]}")
    return data[:, 0], data[:, 1]


def predict_file(spectrum_path, model_path) -> dict:
    model, meta = load_model(model_path)
    energy, mu = read_two_columns(spectrum_path)
    grid = np.asarray(meta["energy"], float)
    if "normalisation" in meta:
        from ..measured.normalise import Normalisation, normalise

        spectrum_on_model_grid(energy, mu, grid, what=str(spectrum_path))  # coverage and finiteness first
        order = np.argsort(energy)
        energy, mu = energy[order], normalise(energy[order], mu[order], Normalisation.from_config(meta["normalisation"]),
                                              computed=False)[0]
    x = spectrum_on_model_grid(energy, mu, grid, what=str(spectrum_path))
    y = model.predict(x[None, :])[0]
    return {"target": meta["target"], "window_eV": meta.get("window_eV"), "prediction": y.tolist(), "r": meta.get("r")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m siox_xanes.learning.predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spectrum")
    ap.add_argument("--valence", help="trained valence (Bader charge) model")
    ap.add_argument("--rdf", help="trained RDF model")
    args = ap.parse_args(argv)
    if not (args.valence or args.rdf):
        ap.error("give --valence and/or --rdf")
    out = {}
    try:
        if args.valence:
            out["valence"] = predict_file(args.spectrum, args.valence)["prediction"][0]
        if args.rdf:
            res = predict_file(args.spectrum, args.rdf)
            out["rdf"] = {"r": res["r"], "g": res["prediction"]}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
