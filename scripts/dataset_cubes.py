"""Site-resolved and per-cell NetCDF cubes with provenance (rule dataset_cubes)."""

import json
from pathlib import Path

import xarray as xr

from siox_xanes.dataset import assemble, config_hash, summary
from siox_xanes.io import atomic_path, read_structure
from siox_xanes.workflow import start

log = start(snakemake)
inp, params = snakemake.input, snakemake.params
cell_inputs, lammps_versions = {}, set()
for cell, structure, bader, rdf in zip(params.cells, inp.structures, inp.bader, inp.rdf):
    atoms = read_structure(structure)
    lammps_versions.add(str(atoms.info.get("lammps_version", "unknown")))
    symbols = atoms.get_chemical_symbols()
    cell_inputs[cell] = {"bader": bader, "rdf": rdf, "symbols": symbols, "n_si": symbols.count("Si")}
manifest = json.loads(Path(inp.pseudo_manifest).read_text())
qe_versions = {json.loads(Path(p).read_text()).get("qe_version", "unknown") for p in inp.ground_states}
xanes = params.xanes
provenance = {
    "config_sha256": config_hash(dict(params.config)),
    "lammps_version": "; ".join(sorted(lammps_versions)),
    "qe_version": "; ".join(sorted(qe_versions)),
    "pseudopotentials": {k: {"file": v["file"], "sha256": v["sha256"]} for k, v in manifest.items() if isinstance(v, dict)},
    "pseudopotential_tests_mRy": {k: [t["error_mRy"] for t in v["transferability_tests"]] for k, v in manifest.items() if isinstance(v, dict)},
    "atomic_correction_eV": manifest["atomic_correction_eV"],
    "qe_settings": {k: xanes[k] for k in ("ecutwfc_Ry", "ecutrho_Ry", "scf_kpoints", "xspectra_kpoints", "degauss_Ry", "gamma_eV", "emin_eV", "emax_eV")},
    "core_hole": "XCH: absorber with a 1s-hole PAW dataset (Z_val = 5) in a neutral cell",
    "alignment": json.loads(Path(inp.alignment).read_text()),
}
with xr.open_dataset(inp.spectra) as spectra:
    sites, systems = assemble(spectra.load(), dict(params.sites), cell_inputs, provenance,
                              params.dataset["test_fraction"], params.dataset["split_seed"])
for ds, path in ((sites, snakemake.output.sites), (systems, snakemake.output.systems)):
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp)
    log.info("%s\n%s", path, summary(ds))
