"""Time to predict 1000 measured spectra with the ensemble predictor on N CPU threads.

Writes 1000 XDI files (computed-like spectra shifted, scaled, resampled to
0.2 eV, with noise), then times, side by side in one run: reading the files
(checks + larch read_xdi), normalisation + interpolation onto the model grid
(larch pre_edge), the three ensembles' forward passes, and the whole
``predict_measured`` call. Without ``--model`` the predictor has the config's
ensemble size and the paper's architectures (3 x 256 valence and fractions,
3 x 512 RDF) trained for two epochs on a synthetic fixture: forward-pass
cost does not depend on the weights.

    .venv/bin/python bench/predict_speed.py [--n 1000] [--threads 2] [--model results/predictor/predictor.pt]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def timed(label, fn, n):
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<44s} {dt:8.2f} s   {1000 * dt / n:7.2f} ms/spectrum", flush=True)
    return out


def build_predictor(path: Path, cfg: dict) -> None:
    from test_learn import GRID
    from test_measured import synthetic_cubes

    from siox_xanes.learning.predictor import PredictorSettings, save_predictor, train_predictor
    from siox_xanes.measured.normalise import Normalisation

    sites, systems = synthetic_cubes(n=300, n_cells=15)
    learning = {"candidates": {t: cfg["learning"]["candidates"][t][:1] for t in ("valence", "rdf")},
                "training": {**cfg["learning"]["training"], "max_epochs": 2}}
    settings = dict(cfg["uncertainty"]) | {"augmentation": dict(cfg["uncertainty"]["augmentation"], copies=1),
                                           "fractions": {"mixtures": 200, "max_sites": 32}}
    mu = sites["mu"].values
    bundle, _, _ = train_predictor(sites, systems, {"alpha_quartz": (GRID, mu[0]), "diamond_si": (GRID, mu[1])},
                                   learning, Normalisation.from_config(cfg["normalisation"]),
                                   PredictorSettings.from_config(settings), log=lambda *a: None)
    save_predictor(path, bundle)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from test_learn import GRID, synthetic_fixture
    from test_measured import write_xdi

    from siox_xanes.learning.predictor import load_predictor, on_model_grid, predict_measured
    from siox_xanes.measured.readers import read_spectra

    cfg = yaml.safe_load(Path(args.config).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = Path(args.model) if args.model else tmp / "predictor.pt"
        if not args.model:
            t0 = time.perf_counter()
            build_predictor(model, cfg)
            print(f"(predictor built in {time.perf_counter() - t0:.0f} s; not part of the timings)")
        predictor = load_predictor(model)
        sizes = {k: [m.config.hidden for m in e.members[:1]] + [f"x{len(e.members)}"] for k, e in predictor.ensembles.items()}
        print(f"ensembles: {sizes}; torch threads {torch.get_num_threads()}; {args.n} spectra")
        mu = synthetic_fixture(n=args.n, seed=11)[0]
        rng = np.random.default_rng(0)
        e = np.arange(1805.0, 1905.0, 0.2)
        files = [write_xdi(tmp / f"s{i:04d}.xdi", e, 3.0 * np.interp(e - 1.5, GRID, m) + 0.1 + rng.normal(0, 0.003, len(e)))
                 for i, m in enumerate(mu)]
        spectra = timed("read + check XDI files (larch read_xdi)", lambda: [read_spectra(f)[0] for f in files], args.n)
        x = timed("normalise (larch pre_edge) + model grid", lambda: np.stack([on_model_grid(predictor, s, -1.5)[0] for s in spectra]), args.n)
        timed("ensemble forward passes (valence, RDF, fractions)", lambda: predictor.predict(x), args.n)
        timed("predict_measured (normalise + ensembles + results)", lambda: predict_measured(predictor, spectra, -1.5), args.n)
        timed("files to answers (read + predict_measured)",
              lambda: predict_measured(predictor, [read_spectra(f)[0] for f in files], -1.5), args.n)


if __name__ == "__main__":
    main()
