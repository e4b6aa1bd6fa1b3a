"""Forward models: site descriptors -> site spectrum (seed 002's ridge regressions).

``SpectrumRidge`` regresses the spectrum directly (one ridge per energy, solved jointly), or
its PCA scores (99.9 % of the variance) or NMF weights (non-negative basis, seed 002: 9
components), and decodes the prediction back onto the energy grid. The ridge strength is
chosen by generalised cross-validation over a grid (scikit-learn's RidgeCV).

``SpectrumEnsemble``: beyond the seed, fully connected networks (``learning.nets``) from the
descriptors to the spectrum, each member with its own seed and early-stopping fold; their mean is
the prediction and their spread a per-energy uncertainty (and the committee of
``selection.committee_order``).

``class_mean_baseline``: the mean training spectrum of the site's first-shell O count, the bar
a forward model must clear to have learned anything beyond the first shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TARGET_COMPRESSIONS = ("raw", "pca", "nmf")
RIDGE_ALPHAS = tuple(10.0 ** np.arange(-3, 5))


@dataclass
class SpectrumRidge:
    compression: str = "raw"
    pca_variance: float = 0.999
    nmf_components: int = 9
    alphas: tuple = RIDGE_ALPHAS
    seed: int = 0
    _model: object = field(default=None, repr=False)
    _codec: object = field(default=None, repr=False)

    def __post_init__(self):
        if self.compression not in TARGET_COMPRESSIONS:
            raise ValueError(f"spectrum compression '{self.compression}': expected one of {TARGET_COMPRESSIONS}")

    def fit(self, features: np.ndarray, spectra: np.ndarray) -> "SpectrumRidge":
        from sklearn.linear_model import RidgeCV

        y = self._encode_fit(np.asarray(spectra, dtype=float))
        self._model = RidgeCV(alphas=self.alphas).fit(np.asarray(features, dtype=float), y)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self._decode(self._model.predict(np.asarray(features, dtype=float)))

    @property
    def alpha(self) -> float:
        return float(self._model.alpha_)

    def _encode_fit(self, spectra):
        if self.compression == "raw":
            return spectra
        if self.compression == "pca":
            from sklearn.decomposition import PCA

            self._codec = PCA(n_components=self.pca_variance, svd_solver="full").fit(spectra)
            return self._codec.transform(spectra)
        from sklearn.decomposition import NMF

        # no more components than sites or energies (nndsvda's limit; a small run has few sites)
        components = min(self.nmf_components, *spectra.shape)
        self._codec = NMF(n_components=components, init="nndsvda", max_iter=2000, random_state=self.seed)
        return self._codec.fit_transform(np.clip(spectra, 0.0, None))

    def _decode(self, coded):
        if self.compression == "raw":
            return coded
        if self.compression == "pca":
            return self._codec.inverse_transform(coded)
        return np.clip(coded, 0.0, None) @ self._codec.components_


@dataclass
class SpectrumEnsemble:
    members: int = 5
    hidden: tuple = (256, 256)
    learning_rate: float = 1e-3
    max_epochs: int = 400
    patience: int = 30
    weight_decay: float = 1e-4
    seed: int = 0
    _nets: list = field(default_factory=list, repr=False)

    @classmethod
    def from_block(cls, block: dict, seed: int = 0) -> "SpectrumEnsemble":
        """``forward.evaluation.ensemble`` of the config."""
        return cls(members=int(block["members"]), hidden=tuple(int(h) for h in block["hidden"]),
                   learning_rate=float(block["learning_rate"]), max_epochs=int(block["max_epochs"]),
                   patience=int(block["patience"]), weight_decay=float(block["weight_decay"]), seed=int(seed))

    def fit(self, features: np.ndarray, spectra: np.ndarray) -> "SpectrumEnsemble":
        from ..learning.nets import NetConfig, fit

        if self.members < 2:
            raise ValueError(f"an ensemble needs at least 2 members for a spread, got {self.members}")
        config = NetConfig(hidden=list(self.hidden), activation="relu", learning_rate=self.learning_rate,
                           batch_size=64, max_epochs=self.max_epochs, patience=self.patience,
                           validation_fraction=0.1, weight_decay=self.weight_decay)
        self._nets = [fit(features, spectra, config, seed=self.seed + 1000 * m) for m in range(self.members)]
        return self

    def predict_with_spread(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over the members, per site and energy."""
        stack = np.array([net.predict(np.asarray(features, dtype=float)) for net in self._nets])
        return stack.mean(axis=0), stack.std(axis=0)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.predict_with_spread(features)[0]


def class_mean_baseline(train_classes, train_spectra, test_classes) -> np.ndarray:
    """Each test site predicted by the mean training spectrum of its valence class (first-shell
    O count); a class absent from training falls back to the overall mean."""
    train_classes, test_classes = np.asarray(train_classes), np.asarray(test_classes)
    overall = np.mean(train_spectra, axis=0)
    means = {c: np.mean(train_spectra[train_classes == c], axis=0) for c in np.unique(train_classes)}
    return np.array([means.get(c, overall) for c in test_classes])


def spectral_rmse(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Per-site RMSE over the energy grid."""
    return np.sqrt(np.mean((np.asarray(prediction) - np.asarray(truth)) ** 2, axis=1))


def peak_position_error(energy, truth, prediction) -> np.ndarray:
    """Energy of the predicted highest point minus that of the true one, per site (eV)."""
    energy = np.asarray(energy)
    return energy[np.argmax(prediction, axis=1)] - energy[np.argmax(truth, axis=1)]
