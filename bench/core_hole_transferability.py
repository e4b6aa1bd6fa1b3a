"""Does the frozen core of the Si datasets bend the Delta-SCF chemical shift?

The absorber's dataset freezes 1s1 2s2 2p6 and the ground-state Si's 1s2 2s2 2p6, so
neither lets the core relax as the valence empties from Si0 towards Si4+; the all-electron
atom does. This runs ld1.x on the free atom for ground / core-hole valence pairs from the
neutral atom to Si3+ (the core hole's 1s electron in 3p: XCH; and the ion without it) and
prints the all-electron excitation, the pseudo one (+ Delta_E_atom, as the onsets use) and
their difference: the error the datasets put into a quartz - Si onset separation is at most
the spread of that column over the valence states the two references span.

    .venv/bin/python bench/core_hole_transferability.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from siox_xanes.spectra.pseudopotentials import core_excitation_transferability

ROOT = Path(__file__).resolve().parent.parent
# (ground valence, core-hole valence): the excited electron in 3p (XCH), then the ionised core hole
PAIRS = [
    ("3s2 3p2 3d-2", "3s2 3p3 3d-2"),
    ("3s2 3p1 3d-2", "3s2 3p2 3d-2"),
    ("3s1 3p1 3d-2", "3s1 3p2 3d-2"),
    ("3s1 3p0 3d-2", "3s1 3p1 3d-2"),
    ("3s2 3p2 3d-2", "3s2 3p2 3d-2"),
    ("3s1 3p0 3d-2", "3s1 3p0 3d-2"),
]


def main():
    ground, hole = ((ROOT / f"pseudo/{name}.ld1.in").read_text() for name in ("Si", "Si_hole"))
    with tempfile.TemporaryDirectory(prefix="ld1-core-shift-") as tmp:
        rows = core_excitation_transferability(ground, hole, PAIRS, Path(tmp))
    ref = rows[0]["excitation_ae_eV"]
    print(f"{'ground':>14s} {'core hole':>14s} {'AE eV':>10s} {'AE - neutral':>12s} {'PS eV':>10s} {'PS - AE eV':>10s}")
    for r in rows:
        print(f"{r['ground']:>14s} {r['hole']:>14s} {r['excitation_ae_eV']:10.3f} {r['excitation_ae_eV'] - ref:12.3f} "
              f"{r['excitation_ps_eV']:10.3f} {r['error_eV']:10.3f}")


if __name__ == "__main__":
    main()
