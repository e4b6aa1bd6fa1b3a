"""Networks that read a Bader valence, a per-site RDF or a PDOS from one Si K-edge spectrum.

Fully connected networks as in the paper: valence = 3 x 256 leaky-ReLU -> 1,
RDF = 3 x 512 ReLU -> one output per r bin; for the PDOS also a 1D convolutional
network (seed 004's kind: convolution + pooling blocks over the energy axis, then
the fully connected layers). Adam, MSE, batch 128, early stopping on a validation fold. Inputs and targets are standardised with the
training statistics, which are stored with the weights. Training keeps the
whole data set as tensors and draws mini-batches by index, so an epoch costs
no per-sample Python work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .fidelity import SiteKeys
from .metrics import metrics

ACTIVATIONS = ("relu", "leaky_relu")
KINDS = ("mlp", "cnn")
# what fine-tuning takes from its own config; the architecture is the started network's
FINE_TUNING_KEYS = ("learning_rate", "batch_size", "max_epochs", "patience", "validation_fraction", "weight_decay")


@dataclass
class NetConfig:
    hidden: list[int] = field(default_factory=lambda: [256, 256, 256])
    activation: str = "leaky_relu"
    learning_rate: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 2000
    patience: int = 50
    validation_fraction: float = 0.1
    weight_decay: float = 0.0  # Adam's L2 penalty
    dropout: float = 0.0  # after every hidden layer, in training only
    kind: str = "mlp"     # or "cnn": convolution blocks over the energy axis before the hidden layers
    channels: list[int] = field(default_factory=lambda: [16, 32])  # cnn: one block per entry
    kernel_size: int = 5  # cnn: odd, the block keeps the length before its pooling
    pool: int = 2         # cnn: max-pooling factor of each block


def net_config(candidate: dict, training: dict) -> NetConfig:
    """A candidate network of the config over the shared training settings: a candidate may
    set its own regularisation and early-stopping patience."""
    return NetConfig(**{**training, **candidate})


def device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_net(n_in: int, n_out: int, cfg: NetConfig):
    import torch.nn as nn

    if cfg.kind not in KINDS:
        raise ValueError(f"network kind '{cfg.kind}': expected one of {KINDS}")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"activation '{cfg.activation}': expected one of {ACTIVATIONS}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ValueError(f"dropout {cfg.dropout}: expected 0 <= p < 1")
    act = nn.ReLU if cfg.activation == "relu" else nn.LeakyReLU
    layers, width = [], n_in
    if cfg.kind == "cnn":
        if cfg.kernel_size % 2 != 1 or cfg.pool < 1:
            raise ValueError(f"cnn: kernel_size {cfg.kernel_size} must be odd and pool {cfg.pool} >= 1")
        length, previous = n_in, 1
        layers.append(nn.Unflatten(1, (1, n_in)))  # (batch, energy) -> (batch, 1 channel, energy)
        for c in cfg.channels:
            if length // cfg.pool < 1:
                raise ValueError(f"cnn: {len(cfg.channels)} pooling blocks leave nothing of {n_in} inputs")
            layers += [nn.Conv1d(previous, c, cfg.kernel_size, padding=cfg.kernel_size // 2), act(), nn.MaxPool1d(cfg.pool)]
            length, previous = length // cfg.pool, c
        layers.append(nn.Flatten())
        width = length * previous
    for h in cfg.hidden:
        layers += [nn.Linear(width, h), act()] + ([nn.Dropout(cfg.dropout)] if cfg.dropout > 0 else [])
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@dataclass
class Scaler:
    """Per-feature standardisation with training statistics (constant features left unscaled)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, a: np.ndarray) -> "Scaler":
        a = np.asarray(a, float)
        scale = a.std(axis=0)
        return cls(a.mean(axis=0), np.where(scale > 1e-12, scale, 1.0))

    def transform(self, a):
        return (np.asarray(a, float) - self.mean) / self.scale

    def inverse(self, a):
        return np.asarray(a, float) * self.scale + self.mean


@dataclass
class Fitted:
    """A trained network with everything needed to apply it."""

    net: object
    x_scaler: Scaler
    y_scaler: Scaler
    config: NetConfig
    history: dict
    epochs: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        self.net.eval()
        with torch.no_grad():
            xt = torch.as_tensor(self.x_scaler.transform(x), dtype=torch.float32, device=next(self.net.parameters()).device)
            out = self.net(xt).cpu().numpy().astype(float)
        return self.y_scaler.inverse(out)


def validation_split(n: int, fraction: float, seed: int, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (validation, training) indices of n rows. With ``groups`` (one label per row) whole
    groups fall on one side: augmented copies of a site must not validate their own site."""
    rng = np.random.default_rng(seed)
    if groups is None:
        order = rng.permutation(n)
        n_val = max(1, int(round(fraction * n)))
        return order[:n_val], order[n_val:]
    groups = np.asarray(groups)
    if len(groups) != n:
        raise ValueError(f"{len(groups)} group labels for {n} rows")
    names = rng.permutation(np.unique(groups))
    if len(names) < 2:
        raise ValueError("a validation fold by group needs at least two groups")
    n_val = min(len(names) - 1, max(1, int(round(fraction * len(names)))))
    is_val = np.isin(groups, names[:n_val])
    return np.flatnonzero(is_val), np.flatnonzero(~is_val)


def fit(x: np.ndarray, y: np.ndarray, cfg: NetConfig, seed: int, groups=None, start: Fitted | None = None) -> Fitted:
    """Train on (x, y) with a seeded validation fold for early stopping (whole ``groups`` to one
    side when given); best-validation weights kept. With ``start`` (a network trained on other
    data, e.g. spectra of a lower fidelity) training goes on from its weights and standardisation
    (fine-tuning; ``cfg`` gives the learning rate and stopping, the architecture is ``start``'s)."""
    import copy

    import torch

    x = np.asarray(x, float)
    y = np.asarray(y, float).reshape(len(x), -1)
    if not np.isfinite(x).all() or not np.isfinite(y).all():
        raise ValueError("training data contain NaN or infinite values")
    torch.manual_seed(seed)
    val, train = validation_split(len(x), cfg.validation_fraction, seed, groups)
    dev = device()
    if start is None:
        xs, ys = Scaler.fit(x[train]), Scaler.fit(y[train])
        net = build_net(x.shape[1], y.shape[1], cfg).to(dev)
    else:
        xs, ys = start.x_scaler, start.y_scaler
        if (len(xs.mean), len(ys.mean)) != (x.shape[1], y.shape[1]):
            raise ValueError(f"fine-tuning a network of {len(xs.mean)} inputs and {len(ys.mean)} outputs on data of "
                             f"{x.shape[1]} and {y.shape[1]}")
        net = copy.deepcopy(start.net).to(dev)
        cfg = replace(start.config, **{k: getattr(cfg, k) for k in FINE_TUNING_KEYS})
    xt = torch.as_tensor(xs.transform(x), dtype=torch.float32, device=dev)
    yt = torch.as_tensor(ys.transform(y), dtype=torch.float32, device=dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    loss_fn = torch.nn.MSELoss()
    train_t = torch.as_tensor(train, device=dev)
    val_t = torch.as_tensor(val, device=dev)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    best, best_state, best_epoch, history = np.inf, None, 0, {"train_loss": [], "val_loss": []}
    for epoch in range(cfg.max_epochs):
        net.train()
        perm = train_t[torch.randperm(len(train_t), generator=gen).to(dev)]
        total = 0.0
        for first in range(0, len(perm), cfg.batch_size):
            idx = perm[first:first + cfg.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        net.eval()
        with torch.no_grad():
            v = float(loss_fn(net(xt[val_t]), yt[val_t]))
        history["train_loss"].append(total / len(perm))
        history["val_loss"].append(v)
        if v < best - 1e-7:
            best, best_epoch = v, epoch
            best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
        elif epoch - best_epoch >= cfg.patience:
            break
    net.load_state_dict(best_state)
    return Fitted(net, xs, ys, cfg, history, best_epoch + 1)


def kfold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    return [(np.concatenate([f for j, f in enumerate(folds) if j != i]), folds[i]) for i in range(k)]


def cross_validate(x, y, candidates: list[NetConfig], k: int, seed: int, keys=None) -> tuple[NetConfig, list[dict]]:
    """k-fold CV of each candidate; the lowest mean validation RMSE wins. ``keys``
    (learning.fidelity.SiteKeys of the rows): folds over the own rows, lower-fidelity rows train only."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if keys is None:
        keys = SiteKeys.own_only(np.zeros(len(x)))
    own = keys.own()
    table = []
    for c, cfg in enumerate(candidates):
        scores = []
        for f, (tr, va) in enumerate(kfold_indices(len(own), k, seed)):
            tr, va = keys.training(own[tr], own[va]), own[va]
            model = fit(x[tr], y[tr], cfg, seed + 1000 * c + f)
            scores.append(metrics(y[va], model.predict(x[va]).reshape(y[va].shape))["rmse"])
        table.append({"candidate": c, "config": asdict(cfg), "fold_rmse": scores, "mean_rmse": float(np.mean(scores))})
    best = min(table, key=lambda row: row["mean_rmse"])
    return candidates[best["candidate"]], table


def model_payload(model: Fitted) -> dict:
    """Weights, scalers and architecture of a trained network as plain tensors and arrays."""
    return {
        "state_dict": {k: v.cpu() for k, v in model.net.state_dict().items()},
        "config": asdict(model.config),
        "x_mean": model.x_scaler.mean, "x_scale": model.x_scaler.scale,
        "y_mean": model.y_scaler.mean, "y_scale": model.y_scaler.scale,
        "n_in": int(len(model.x_scaler.mean)), "n_out": int(len(model.y_scaler.mean)),
        "epochs": model.epochs, "history": model.history,
    }


def model_from_payload(payload: dict) -> Fitted:
    cfg = NetConfig(**payload["config"])
    net = build_net(payload["n_in"], payload["n_out"], cfg)
    net.load_state_dict(payload["state_dict"])
    return Fitted(net, Scaler(payload["x_mean"], payload["x_scale"]), Scaler(payload["y_mean"], payload["y_scale"]),
                  cfg, payload["history"], payload["epochs"])


def save_model(path, model: Fitted, meta: dict) -> None:
    """Weights, scalers, architecture and metadata (energy grid, window, target, config hash) in one file."""
    import torch

    from ..io import atomic_path

    with atomic_path(path) as tmp:
        torch.save(model_payload(model) | {"meta": meta}, tmp)


def load_model(path) -> tuple[Fitted, dict]:
    import torch

    payload = torch.load(path, map_location="cpu", weights_only=False)
    return model_from_payload(payload), payload["meta"]


def on_model_grid(energy: np.ndarray, meta: dict) -> np.ndarray:
    """Which points of a cube's energy grid a saved model reads (its window's, ``meta['energy']``)."""
    return np.isin(np.round(np.asarray(energy, float), 6), np.round(np.asarray(meta["energy"], float), 6))


def spectrum_on_model_grid(energy: np.ndarray, mu: np.ndarray, grid: np.ndarray, what: str = "spectrum") -> np.ndarray:
    """A user's spectrum interpolated onto a model's energy grid; it must cover the grid."""
    energy, mu = np.asarray(energy, float), np.asarray(mu, float)
    if energy.ndim != 1 or energy.shape != mu.shape or len(energy) < 2:
        raise ValueError(f"{what}: expected two columns (energy, intensity) of equal length")
    if not (np.isfinite(energy).all() and np.isfinite(mu).all()):
        raise ValueError(f"{what}: contains NaN or infinite values")
    order = np.argsort(energy)
    energy, mu = energy[order], mu[order]
    tol = 1e-6
    if energy[0] > grid[0] + tol or energy[-1] < grid[-1] - tol:
        raise ValueError(
            f"{what}: covers {energy[0]:.2f}-{energy[-1]:.2f} eV, the model needs {grid[0]:.2f}-{grid[-1]:.2f} eV"
        )
    return np.interp(grid, energy, mu)
