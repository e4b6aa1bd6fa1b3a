"""Tables of the structure stage: one row per cell, one per composition, class fractions."""

from __future__ import annotations

import pandas as pd

from .checks import PAIRS


def cells_table(reports: list[dict]) -> pd.DataFrame:
    """One row per cell from the per-cell validation reports."""
    rows = []
    for r in reports:
        row = {
            "x": float(r["x"]),
            "seed": int(r["seed"]),
            "n_si": r["n_si"],
            "n_o": r["n_o"],
            "density_g_cm3": r["density_g_cm3"],
            "fraction_si_fourfold": r["fraction_si_fourfold"],
            "mean_si_coordination": r["mean_si_coordination"],
            "mean_o_per_si": r["mean_o_per_si"],
            "mean_si_per_o": r.get("mean_si_per_o"),
        }
        for p in PAIRS:
            row[f"bonds_{p}"] = r["bond_counts"][p]
            row[f"mean_length_{p}_A"] = r["mean_bond_length_A"][p]
        row["flags"] = "; ".join(r["flags"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["x", "seed"]).reset_index(drop=True)


def composition_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over the seeds of each composition; flagged cells counted."""
    numeric = [c for c in cells.columns if c not in ("x", "seed", "flags")]
    g = cells.groupby("x")
    table = g[numeric].mean().add_suffix("_mean").join(g[numeric].std(ddof=0).add_suffix("_std"))
    table.insert(0, "n_cells", g.size())
    table["n_flagged_cells"] = g["flags"].apply(lambda f: int((f != "").sum()))
    table["flags"] = g["flags"].apply(lambda f: " | ".join(sorted({s for s in f if s})))
    return table.reset_index()


def class_fractions(reports: list[dict]) -> pd.DataFrame:
    """Long table (x, seed, class, n_si_neighbours, n_o_neighbours, count, fraction)."""
    rows = []
    for r in reports:
        total = sum(r["si_coordination_classes"].values())
        for label, count in r["si_coordination_classes"].items():
            n_si, n_o = label[2:].split("O")
            rows.append(
                {
                    "x": float(r["x"]),
                    "seed": int(r["seed"]),
                    "class": label,
                    "n_si_neighbours": int(n_si),
                    "n_o_neighbours": int(n_o),
                    "count": int(count),
                    "fraction": count / total,
                }
            )
    return pd.DataFrame(rows).sort_values(["x", "seed", "n_o_neighbours", "n_si_neighbours"]).reset_index(drop=True)
