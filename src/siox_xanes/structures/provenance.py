"""How a quenched cell was made, from what the MD stage wrote into its extxyz header (standard
library only: the dataset stage reads it without the MD engines)."""

from __future__ import annotations


def structure_method(info: dict) -> str:
    """How a quenched cell was made, from what the MD stage recorded in its extxyz header.

    The rule writes ``oxidation_*`` keys only for cells grown from a-Si (md.oxidation);
    every other cell is a melt-quench of its own composition. The attempt says which draw
    was kept (md.max_attempts).
    """
    ensemble = info.get("md_ensemble", "npt")
    attempt = info.get("md_attempt")
    drawn = f", draw {int(attempt)}" if attempt is not None else ""
    if "oxidation_step_x" in info:
        template = info.get("oxidation_template_ensemble", "npt")
        return (f"grown from a-Si: {template} melt-quench of the cell's Si, O into random Si-Si bonds "
                f"(steps of x <= {info['oxidation_step_x']}), anneal at {info.get('oxidation_anneal_temperature_K', '?')} K, "
                f"box relaxation{drawn}")
    return f"melt-quench of the composition ({ensemble}){drawn}"
