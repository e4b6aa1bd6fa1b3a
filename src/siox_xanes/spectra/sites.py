"""Which Si sites of a cell get a XANES calculation (standard library only: the DAG needs it)."""

from __future__ import annotations

import hashlib


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
