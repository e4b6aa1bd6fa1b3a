"""Which sites to compute: orderings of candidate sites by how much each teaches a forward
model, from the descriptors alone (no spectrum needed), so that sites can be chosen before any
DFT and computed in parallel.

Every method returns an ordering of all candidates; a fraction or a count takes its prefix, so
a larger selection adds sites and never swaps one out (nested).

- ``uncertainty_reduction`` (seed 002): the sites that most reduce the summed predictive variance
  of a Bayesian ridge model over *all* sites, chosen greedily.
- ``farthest_point``: each next site the one farthest from those chosen (max-min distance).
- ``random``: a seeded permutation, the baseline the others must beat.
- ``committee_order``: the disagreement of a network ensemble (``models.SpectrumEnsemble``)
  trained on the spectra of the sites chosen so far; it needs those spectra, so it ranks sites for
  learning curves and for extending a run that has computed sites, not before any DFT.
"""

from __future__ import annotations


import numpy as np

from ..spectra.sites import SELECTION_METHODS as METHODS  # noqa: F401  (one list, read by the DAG too)
from ..spectra.sites import SelectionError, how_many  # noqa: F401


def uncertainty_reduction(features: np.ndarray, n: int | None = None, ridge: float = 1.0,
                          first: list[int] | None = None) -> np.ndarray:
    """Greedy order of rows maximising the reduction of sum_j x_j^T A^-1 x_j (A = X_s^T X_s +
    ridge I, X_s the rows chosen), the total predictive variance of a ridge model with prior
    variance 1/ridge; ``first``: rows already computed, kept at the head of the order.

    Adding row x reduces the total by x^T A^-1 C A^-1 x / (1 + x^T A^-1 x), C = X^T X over all
    rows; A^-1 follows by Sherman-Morrison, so a step costs O(N d^2) for N rows of d columns.
    """
    x = np.asarray(features, dtype=float)
    n_rows, d = x.shape
    n = n_rows if n is None else min(int(n), n_rows)
    inv = np.eye(d) / ridge
    c = x.T @ x
    order: list[int] = []
    chosen = np.zeros(n_rows, dtype=bool)

    def add(i):
        nonlocal inv
        v = inv @ x[i]
        inv = inv - np.outer(v, v) / (1.0 + x[i] @ v)
        order.append(int(i))
        chosen[i] = True

    for i in first or []:
        add(i)
    while len(order) < n:
        m = inv @ c @ inv
        gain = ((x @ m) * x).sum(axis=1) / (1.0 + ((x @ inv) * x).sum(axis=1))
        gain[chosen] = -np.inf
        add(int(np.argmax(gain)))
    return np.asarray(order[:n])


def farthest_point(features: np.ndarray, n: int | None = None, first: list[int] | None = None) -> np.ndarray:
    """Greedy max-min order; starts from ``first`` or the row nearest the mean."""
    x = np.asarray(features, dtype=float)
    n_rows = len(x)
    n = n_rows if n is None else min(int(n), n_rows)
    start = list(first or [int(np.argmin(np.linalg.norm(x - x.mean(axis=0), axis=1)))])
    dist = np.full(n_rows, np.inf)
    order = []
    for i in start:
        order.append(int(i))
        dist = np.minimum(dist, np.linalg.norm(x - x[i], axis=1))
    while len(order) < n:
        dist[order] = -np.inf
        i = int(np.argmax(dist))
        order.append(i)
        dist = np.minimum(dist, np.linalg.norm(x - x[i], axis=1))
    return np.asarray(order[:n])


def random_order(n_rows: int, seed: int, first: list[int] | None = None) -> np.ndarray:
    rest = np.random.default_rng(seed).permutation(n_rows)
    head = list(first or [])
    return np.asarray(head + [int(i) for i in rest if i not in set(head)])


def committee_order(features: np.ndarray, spectra: np.ndarray, counts: list[int], ensemble,
                    first: list[int]) -> np.ndarray:
    """Rows in the order a committee picks them: ``first`` (the sites computed at the start), then,
    for each count of ``counts`` in turn, the ensemble (a ``SpectrumEnsemble``, refitted on the
    spectra of the rows chosen so far) adds the rows where its members disagree most (spread
    averaged over energy) up to that count. Nested: each step only appends."""
    from dataclasses import replace

    x, y = np.asarray(features, dtype=float), np.asarray(spectra, dtype=float)
    order = [int(i) for i in first]
    for step, count in enumerate(sorted(counts)):
        count = min(int(count), len(x))
        if count <= len(order):
            continue
        rest = np.setdiff1d(np.arange(len(x)), order)
        fitted = replace(ensemble, seed=ensemble.seed + step).fit(x[order], y[order])
        spread = fitted.predict_with_spread(x[rest])[1].mean(axis=1)
        order += [int(i) for i in rest[np.argsort(-spread, kind="stable")][: count - len(order)]]
    return np.asarray(order)


def order_sites(features: np.ndarray, method: str, seed: int = 0, ridge: float = 1.0,
                first: list[int] | None = None) -> np.ndarray:
    if method == "uncertainty_reduction":
        return uncertainty_reduction(features, ridge=ridge, first=first)
    if method == "farthest_point":
        return farthest_point(features, first=first)
    if method == "random":
        return random_order(len(features), seed, first=first)
    raise SelectionError(f"site selection method '{method}': expected one of {', '.join(METHODS)}")


def order_candidate_sites(structures: dict, candidates: dict[str, list[int]], settings, method: str,
                          seed: int = 0, ridge: float = 1.0) -> list[tuple[str, int]]:
    """The order in which the ``candidates`` (cell -> Si indices) of the cells ``structures``
    (cell -> ASE atoms) teach most, from their descriptors (``settings``: DescriptorSettings),
    standardised and PCA-compressed over all candidates, as (cell, site) pairs."""
    from .descriptors import Compressor, describe

    pairs = [(cell, int(site)) for cell in sorted(candidates) for site in candidates[cell]]
    if not pairs:
        raise SelectionError("site selection: no candidate site in any cell")
    rows = np.vstack([describe(structures[cell], settings, sites=candidates[cell], source=cell)
                      for cell in sorted(candidates)])
    features = Compressor().fit(rows).transform(rows)
    order = order_sites(features, method, seed=seed, ridge=ridge)
    order = order_sites(features, method, seed=seed, ridge=ridge,
                        first=per_cell_first(order, [cell for cell, _ in pairs]))
    return [pairs[i] for i in order]


def per_cell_first(order, cells) -> list[int]:
    """The first row of each cell in ``order``: put at the head of a selection, any amount of at
    least one site per cell represents every cell (its averaged spectrum, its system row)."""
    head, seen = [], set()
    for i in order:
        if cells[i] not in seen:
            seen.add(cells[i])
            head.append(int(i))
    return head
