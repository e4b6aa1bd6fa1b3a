"""Site-resolved and per-cell NetCDF cubes with provenance (rule dataset_cubes)."""

import json
from pathlib import Path

import xarray as xr

from siox_xanes import layout
from siox_xanes.dataset.cubes import add_normalised, assemble, config_hash, summary
from siox_xanes.measured.normalise import Normalisation
from siox_xanes.io import atomic_path, read_structure
from siox_xanes.joblog import start
from siox_xanes.structures.provenance import structure_method

log = start(snakemake)
inp, params = snakemake.input, snakemake.params
sites = {cell: list(s) for cell, s in params.sites.items()}
declared = set(map(str, inp))
cell_inputs, lammps_versions, qe_versions = {}, set(), set()
for cell in sites:
    files = {
        "structure": layout.structure_path(cell),
        "bader": layout.BADER_CHARGES.format(cell=cell),
        "rdf": layout.SITE_RDF.format(cell=cell),
        "ground_state": layout.GROUND_STATE_SUMMARY.format(cell=cell),
    }
    if "pdos" in inp.keys():
        files["pdos"] = layout.CELL_PDOS.format(cell=cell)
    undeclared = [f for f in files.values() if f not in declared]
    if undeclared:
        raise RuntimeError(f"rule dataset_cubes: {undeclared} of cell {cell} are not inputs of the rule")
    atoms = read_structure(files["structure"])
    lammps_versions.add(str(atoms.info.get("lammps_version", "unknown")))
    qe_versions.add(json.loads(Path(files["ground_state"]).read_text()).get("qe_version", "unknown"))
    symbols = atoms.get_chemical_symbols()
    cell_inputs[cell] = {"bader": files["bader"], "rdf": files["rdf"], "symbols": symbols, "n_si": symbols.count("Si"),
                         "xspectra_kpoints": params.xspectra_kpoints[cell], "structure_method": structure_method(atoms.info),
                         "pdos": files.get("pdos")}
manifest = json.loads(Path(inp.pseudo_manifest).read_text())
# Provenance comes from the run's config, which Snakemake does not compare: editing
# settings that cannot change the cubes does not remake them.
config = snakemake.config
xanes = config["xanes"]
provenance = {
    "config_sha256": config_hash(config),
    "lammps_version": "; ".join(sorted(lammps_versions)),
    "qe_version": "; ".join(sorted(qe_versions)),
    "pseudopotentials": {k: {"file": v["file"], "sha256": v["sha256"]} for k, v in manifest.items() if isinstance(v, dict)},
    "pseudopotential_tests_mRy": {k: [t["error_mRy"] for t in v["transferability_tests"]] for k, v in manifest.items() if isinstance(v, dict)},
    "atomic_correction_eV": manifest["atomic_correction_eV"],
    "qe_settings": {k: xanes.get(k) for k in (*layout.SPECTRUM_KEYS, "xspectra_kpoints_by_composition", "references")},
    "core_hole": "XCH: absorber with a 1s-hole PAW dataset (Z_val = 5) in a neutral cell",
    "alignment": json.loads(Path(inp.alignment).read_text()),
}
with xr.open_dataset(inp.spectra) as spectra:
    site_cube, system_cube = assemble(spectra.load(), sites, cell_inputs, provenance, params.test_fraction, params.split_seed)
normalisation = Normalisation.from_config(params.normalisation)
site_cube, system_cube = add_normalised(site_cube, normalisation), add_normalised(system_cube, normalisation)
for ds, path in ((site_cube, snakemake.output.sites), (system_cube, snakemake.output.systems)):
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp)
    log.info("%s\n%s", path, summary(ds))
