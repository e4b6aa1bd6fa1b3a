"""Training and inference speed of the two networks at paper size (5290 x 256), on CPU.

Synthetic spectra (white line moving with a known valence, RDFs with known
first shells; a benchmark input, not a result) of the paper's size. Prints
the time of a 5-fold cross-validation plus the final fit of each network,
inference throughput, and scikit-learn's MLPRegressor with the same layers
on the same data (time and test RMSE) side by side.

    .venv/bin/python bench/learning_speed.py [--max-epochs 300] [--threads 2]
"""

import argparse
import time
import warnings

import numpy as np

from siox_xanes.learning.metrics import metrics
from siox_xanes.learning.nets import NetConfig, cross_validate, fit

GRID = np.linspace(1830, 1880, 256)
R = (np.arange(256) + 0.5) * 5.0 / 256


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    n_o = rng.integers(0, 5, n)
    delta = rng.normal(0, 0.15, n)
    q = 0.8 * n_o + delta
    e0 = 1840 + 1.5 * n_o + rng.uniform(-0.4, 0.4, n)
    mu = rng.uniform(0.5, 1.5, (n, 1)) * 0.8 / ((GRID - e0[:, None]) ** 2 + 0.64)
    mu += (0.3 + delta)[:, None].clip(0) * np.exp(-((GRID - e0[:, None] - 15) ** 2) / 4)
    rdf = n_o[:, None] * np.exp(-((R - 1.62) ** 2) / 0.005) + (4 - n_o)[:, None] * np.exp(-((R - 2.35) ** 2) / 0.01)
    return mu, q[:, None], rdf


def main():
    import torch
    from sklearn.neural_network import MLPRegressor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-epochs", type=int, default=300)
    ap.add_argument("--patience", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # sklearn's early-stopping score (R^2 per output) divides by zero on RDF bins that are always 0
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="sklearn")
    mu, q, rdf = synthetic(5290)
    train, test = np.arange(4232), np.arange(4232, 5290)
    nets = {
        "valence": (q, NetConfig(hidden=[256] * 3, activation="leaky_relu", max_epochs=args.max_epochs, patience=args.patience)),
        "rdf": (rdf, NetConfig(hidden=[512] * 3, activation="relu", max_epochs=args.max_epochs, patience=args.patience)),
    }
    print(f"5290 spectra x 256 points, {args.threads} threads, max {args.max_epochs} epochs, patience {args.patience}")
    for name, (y, cfg) in nets.items():
        t0 = time.perf_counter()
        cross_validate(mu[train], y[train], [cfg], k=5, seed=0)
        t1 = time.perf_counter()
        model = fit(mu[train], y[train], cfg, seed=0)
        t2 = time.perf_counter()
        pred = model.predict(mu[test])
        t3 = time.perf_counter()
        for _ in range(5):
            model.predict(mu)
        rate = 5 * len(mu) / (time.perf_counter() - t3)
        rmse = metrics(y[test], pred)["rmse"]
        print(f"{name:8s} torch: 5-fold CV {t1 - t0:6.1f} s + final fit {t2 - t1:5.1f} s ({model.epochs} epochs), "
              f"test RMSE {rmse:.4f}, inference {rate:,.0f} spectra/s")
        sk = MLPRegressor(hidden_layer_sizes=tuple(cfg.hidden), activation="relu", solver="adam", learning_rate_init=1e-3,
                          batch_size=128, max_iter=args.max_epochs, early_stopping=True, validation_fraction=0.1,
                          n_iter_no_change=args.patience, random_state=0)
        xm, xs = mu[train].mean(0), mu[train].std(0) + 1e-12
        ym, ys = y[train].mean(0), y[train].std(0) + 1e-12
        t4 = time.perf_counter()
        sk.fit((mu[train] - xm) / xs, ((y[train] - ym) / ys).squeeze())
        t5 = time.perf_counter()
        sk_pred = sk.predict((mu[test] - xm) / xs).reshape(-1, y.shape[1]) * ys + ym
        print(f"{name:8s} sklearn MLPRegressor: one fit {t5 - t4:6.1f} s ({sk.n_iter_} epochs), "
              f"test RMSE {metrics(y[test], sk_pred)['rmse']:.4f}")


if __name__ == "__main__":
    main()
