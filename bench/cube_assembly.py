"""Memory and time of the cube assembly at paper size, on synthetic per-cell inputs.

Writes 45 cells' worth of per-site inputs of the paper's size (5290 Si sites:
aligned spectra on 256 energies, per-cell Bader tables and RDF files with 256
bins) into a temporary folder, then runs the same assembly as the workflow's
`dataset_cubes` rule and prints the wall time, the peak Python heap of the
assembly (tracemalloc) and the process's peak resident memory.

    .venv/bin/python bench/cube_assembly.py
"""

import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from siox_xanes.dataset.cubes import assemble

ROOT = Path(__file__).resolve().parent.parent


def synthetic_inputs(folder: Path, rng):
    paper = yaml.safe_load((ROOT / "config_paper.yaml").read_text())["structures"]
    grid = np.linspace(1830, 1880, 256)
    r = (np.arange(256) + 0.5) * 5.0 / 256
    entries, cell_inputs, expected = [], {}, {}
    for x, counts in paper["compositions"].items():
        for seed in paper["seeds"]:
            cell = f"x{x}_seed{seed}"
            n_si, n_o = counts["Si"], counts["O"]
            symbols = ["Si"] * n_si + ["O"] * n_o
            sites = list(range(n_si))
            expected[cell] = sites
            entries += [(cell, s) for s in sites]
            pd.DataFrame({"cell": cell, "atom_index": range(len(symbols)), "symbol": symbols,
                          "bader_charge": rng.normal(size=len(symbols))}).to_csv(folder / f"{cell}_bader.csv", index=False)
            g = rng.random((n_si, 256))
            xr.Dataset(
                {"g_total": (("rdf_site", "r"), g), "g_si": (("rdf_site", "r"), g / 2), "g_o": (("rdf_site", "r"), g / 2),
                 "position": (("rdf_site", "xyz"), rng.random((n_si, 3))),
                 "n_o_neighbours": ("rdf_site", rng.integers(0, 5, n_si)), "n_si_neighbours": ("rdf_site", rng.integers(0, 5, n_si)),
                 "nearest_o_distance": ("rdf_site", rng.random(n_si)), "nearest_si_distance": ("rdf_site", rng.random(n_si))},
                coords={"r": r, "atom_index": ("rdf_site", sites)}, attrs={"cell": cell},
            ).to_netcdf(folder / f"{cell}_rdf.nc")
            cell_inputs[cell] = {"bader": folder / f"{cell}_bader.csv", "rdf": folder / f"{cell}_rdf.nc", "symbols": symbols, "n_si": n_si,
                                 "xspectra_kpoints": [1, 1, 1]}
    n = len(entries)
    xr.Dataset(
        {"mu": (("spectrum", "energy"), rng.random((n, 256))), "onset": ("spectrum", rng.random(n)), "delta_scf": ("spectrum", rng.random(n))},
        coords={"energy": grid, "cell": ("spectrum", [c for c, _ in entries]), "site": ("spectrum", [s for _, s in entries])},
        attrs={"global_shift_eV": -12.5},
    ).to_netcdf(folder / "spectra_on_grid.nc")
    return expected, cell_inputs


def main():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        expected, cell_inputs = synthetic_inputs(folder, rng)
        n_sites = sum(len(v) for v in expected.values())
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        t0 = time.perf_counter()
        with xr.open_dataset(folder / "spectra_on_grid.nc") as spectra:
            sites, systems = assemble(spectra.load(), expected, cell_inputs, {"config_sha256": "synthetic"}, 0.2, 0)
        sites.to_netcdf(folder / "spectra_sites.nc")
        systems.to_netcdf(folder / "spectra_systems.nc")
        elapsed = time.perf_counter() - t0
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size_sites = (folder / "spectra_sites.nc").stat().st_size / 2**20
        size_systems = (folder / "spectra_systems.nc").stat().st_size / 2**20
    print(f"sites: {n_sites}, cells: {len(expected)}")
    print(f"assembly + writing: {elapsed:.1f} s")
    print(f"peak Python heap during assembly: {heap_peak / 2**20:.0f} MiB")
    print(f"peak resident memory of the process: {rss:.0f} MiB (before assembly: {base_rss:.0f} MiB)")
    print(f"spectra_sites.nc {size_sites:.1f} MiB, spectra_systems.nc {size_systems:.2f} MiB")


if __name__ == "__main__":
    main()
