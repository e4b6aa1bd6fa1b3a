"""Which Si sites of a cell get a XANES calculation (standard library only: the DAG needs it)."""

from __future__ import annotations

import hashlib
import json
import math

# xanes.site_selection.method: "all" computes every candidate site (sites_per_cell of each cell);
# the others order the candidates of all glass cells once, from their descriptors, before any DFT
# (siox_xanes.forward.selection), and xanes.site_selection.amount takes a prefix of that order.
SELECTION_METHODS = ("uncertainty_reduction", "farthest_point", "random")


class SelectionError(ValueError):
    pass


def select_sites(n_si: int, per_cell: int | str, seed: int, cell: str) -> list[int]:
    """Si atom indices (Si come first in every cell) chosen reproducibly per cell.

    ``per_cell`` is 'all' or a count. Sites are ranked by a hash of (seed, cell,
    index) and the first ``per_cell`` taken, so the choice depends only on the
    config and raising ``per_cell`` keeps every site chosen before (finished
    sites are never thrown away by asking for more).
    """
    if per_cell == "all" or int(per_cell) >= n_si:
        return list(range(n_si))
    rank = sorted(range(n_si), key=lambda i: hashlib.sha256(f"{int(seed)}:{cell}:{i}".encode()).digest())
    return sorted(rank[: int(per_cell)])


def how_many(amount: float | int | str, n_rows: int) -> int:
    """Sites a selection of ``amount`` takes of ``n_rows``: 'all', a fraction in (0, 1], or a count."""
    if amount == "all":
        return n_rows
    if isinstance(amount, float) and 0.0 < amount <= 1.0:
        return min(n_rows, max(1, math.ceil(amount * n_rows - 1e-9)))
    if isinstance(amount, int) and not isinstance(amount, bool) and amount >= 1:
        return min(n_rows, amount)
    raise SelectionError(f"site selection amount {amount!r}: expected 'all', a fraction in (0, 1] or a count >= 1")


def selected_sites(order_file, amount: float | int | str) -> dict[str, list[int]]:
    """Cell -> sorted site indices: the first ``amount`` of the order in ``order_file`` (rule
    site_selection). The order does not depend on the amount, so a larger amount adds sites
    and never drops one (the finished DFT stays in use)."""
    try:
        order = json.loads(open(order_file).read())["order"]
        pairs = [(str(cell), int(site)) for cell, site in order]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SelectionError(f"{order_file}: expected a JSON object whose 'order' lists [cell, site] pairs ({exc})") from None
    chosen: dict[str, list[int]] = {}
    for cell, site in pairs[: how_many(amount, len(pairs))]:
        chosen.setdefault(cell, []).append(site)
    return {cell: sorted(sites) for cell, sites in chosen.items()}
