"""How fast `siox-xanes spectrum` predicts: sites per second for one large cell, by stage.

A cell of the medium release (x = 1.00, seed 2: 32 atoms) replicated to about 10^4 Si sites
(9 x 9 x 8: 20736 atoms, 10368 Si), and the shipped forward model (data/models/forward.joblib,
SOAP r_cut 6 A + ridge): descriptors (dscribe, one process), compression + ridge, first shells,
and the whole command's prediction as `siox-xanes spectrum` runs it. Writes
bench/results/forward_spectrum_speed.json and prints it.

    .venv/bin/python bench/forward_spectrum_speed.py [--repeat 9 9 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from siox_xanes import layout  # noqa: E402
from siox_xanes.forward.descriptors import describe, si_indices  # noqa: E402
from siox_xanes.forward.spectrum import first_shells, load_bundle, predict_structure  # noqa: E402
from siox_xanes.release.publish import read_structures  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", nargs=3, type=int, default=[9, 9, 8])
    ap.add_argument("--cell", default="x1.00_seed2")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/forward_spectrum_speed.json")
    args = ap.parse_args()
    bundle = load_bundle(ROOT / layout.SHIPPED_FORWARD_MODEL)
    atoms = read_structures(ROOT / "data/siox-medium-v2" / layout.RELEASE_FILES["structures"])[args.cell].repeat(args.repeat)
    sites = si_indices(atoms)
    timings = {}
    t = time.perf_counter()
    rows = describe(atoms, bundle.settings, sites=sites)
    timings["descriptors_s"] = time.perf_counter() - t
    t = time.perf_counter()
    bundle.model.predict(bundle.features(rows))
    timings["compress_and_ridge_s"] = time.perf_counter() - t
    t = time.perf_counter()
    first_shells(atoms, sites, bundle.cutoffs)
    timings["first_shells_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = predict_structure(bundle, atoms)
    timings["whole_prediction_s"] = time.perf_counter() - t
    out = {"cell": args.cell, "repeat": args.repeat, "atoms": len(atoms), "si_sites": int(len(sites)),
           "descriptor": bundle.settings.kind, **{k: round(v, 2) for k, v in timings.items()},
           "sites_per_s": round(len(sites) / timings["whole_prediction_s"], 1),
           "flags": result["flags"], "flagged_fraction": result["flagged_fraction"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
