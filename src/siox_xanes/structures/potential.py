"""Tersoff potential files: parse the LAMMPS format and set the cut-offs by a mixing rule.

In a LAMMPS Tersoff file the entry (i, j, k) carries R and D (cut-off
R - D ... R + D) of the pair i-k: the two-body cut-off of i-j when j == k and
the cut-off of the neighbour k in the bond order of i-j. Munetoh's Si-O
parameterisation builds the mixed cut-offs as geometric means of the
elements' R and S (inner and outer radius). ``with_cutoffs`` rewrites every
entry's R and D from per-element (R, S) by that rule and leaves all other
parameters untouched.
"""

from __future__ import annotations

import math

FIELDS = ("e1", "e2", "e3", "m", "gamma", "lambda3", "c", "d", "costheta0",
          "n", "beta", "lambda2", "B", "R", "D", "lambda1", "A")


def tersoff_entries(text: str) -> list[list[str]]:
    """The entries of a LAMMPS Tersoff file as lists of 17 tokens (comments dropped)."""
    tokens = [t for line in text.splitlines() for t in line.split("#", 1)[0].split()]
    if len(tokens) % len(FIELDS):
        raise ValueError(f"Tersoff file: {len(tokens)} values, not a multiple of {len(FIELDS)} per entry")
    return [tokens[k:k + len(FIELDS)] for k in range(0, len(tokens), len(FIELDS))]


def mixed_cutoff(cutoffs: dict, a: str, b: str) -> tuple[float, float]:
    """(R, D) in LAMMPS form of the pair a-b from per-element (R, S) by geometric means."""
    for e in (a, b):
        if e not in cutoffs:
            raise ValueError(f"md.tersoff_cutoffs_A: no (R, S) for element {e}")
    r = math.sqrt(cutoffs[a][0] * cutoffs[b][0])
    s = math.sqrt(cutoffs[a][1] * cutoffs[b][1])
    if not 0 < r < s:
        raise ValueError(f"md.tersoff_cutoffs_A: {a}-{b} inner radius {r:.3f} must be below the outer {s:.3f}")
    return (r + s) / 2, (s - r) / 2


def with_cutoffs(text: str, cutoffs: dict, source: str = "") -> str:
    """The file with every entry's R, D set from per-element (R, S) (Angstrom)."""
    header = [f"# {source} with R, D from the element cut-offs "
              + ", ".join(f"{e} {r}-{s} A" for e, (r, s) in sorted(cutoffs.items()))
              + " (geometric means for mixed pairs); written by siox_xanes.structures.potential",
              "# " + " ".join(FIELDS)]
    lines = []
    for entry in tersoff_entries(text):
        r, d = mixed_cutoff(cutoffs, entry[0], entry[2])
        entry[13], entry[14] = f"{r:.6f}", f"{d:.6f}"
        lines.append(" ".join(entry))
    return "\n".join(header + lines) + "\n"
