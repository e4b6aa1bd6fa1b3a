"""What the repository ships: the medium data release (data/siox-medium-v1) holds what its data
card says."""

import json
from collections import Counter

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from conftest import ROOT

from siox_xanes import layout
from siox_xanes.release.publish import read_structures

# where config_medium.yaml publishes the release (the one place that names it)
RELEASE = ROOT / yaml.safe_load((ROOT / "config_medium.yaml").read_text())["release"]["publish"]


def release_file(key):
    return RELEASE / layout.RELEASE_FILES[key]


def test_the_release_holds_every_si_site_of_its_45_cells():
    structures = read_structures(release_file("structures"))
    glass = {cell: atoms for cell, atoms in structures.items() if not layout.is_reference(cell)}
    si_per_cell = {cell: atoms.get_chemical_symbols().count("Si") for cell, atoms in glass.items()}
    with xr.open_dataset(release_file("sites")) as sites, xr.open_dataset(release_file("systems")) as systems:
        assert sites.sizes["site"] >= 600 and systems.sizes["system"] == len(glass) == 45
        assert Counter(sites["cell"].values.astype(str)) == si_per_cell
        assert bool(systems["all_sites_computed"].all())
        assert sorted({f"{x:.2f}" for x in systems["x"].values}) == [f"{0.25 * k:.2f}" for k in range(9)]
        assert np.isfinite(sites["mu"].values).all() and np.isfinite(sites["bader_charge"].values).all()
        n_sites = sites.sizes["site"]
    with xr.open_dataset(release_file("raw_spectra")) as raw:
        raw_cells = Counter(raw["cell"].values.astype(str))
    assert raw_cells == si_per_cell | {cell: 1 for cell in structures if layout.is_reference(cell)}  # + one site per reference
    bader = pd.read_csv(release_file("bader"))
    assert len(bader) == sum(len(atoms) for atoms in structures.values())  # every atom, references included
    provenance = json.loads(release_file("provenance").read_text())
    assert len(provenance["workflow"]["commit"]) == 40 and provenance["workflow"]["uncommitted_changes"] is False
    assert all(v and "unknown" not in v for v in provenance["versions"]["quantum_espresso"] + provenance["versions"]["lammps"])
    assert all(len(p["sha256"]) == 64 for p in provenance["pseudopotentials"].values())
    assert provenance["counts"]["glass_sites"] == n_sites and provenance["counts"]["cells_with_every_si"] == 45
    assert "CC BY 4.0" in (RELEASE / "LICENSE").read_text()
