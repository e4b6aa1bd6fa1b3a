"""A versioned data release: cubes, raw spectra, structures, Bader charges, provenance (rule data_release)."""

import json
import shutil
from importlib import metadata
from pathlib import Path

import siox_xanes
import xarray as xr

from siox_xanes.io import atomic_path, read_structure, write_json
from siox_xanes.joblog import start
from siox_xanes.layout import is_reference
from siox_xanes.release import publish

log = start(snakemake)
inp, out = snakemake.input, snakemake.output
alignment = json.loads(Path(inp.alignment).read_text())
manifest = json.loads(Path(inp.pseudo_manifest).read_text())

raw = publish.raw_spectra(list(zip(inp.site_spectra, inp.site_records)), manifest["atomic_correction_eV"],
                          alignment["global_shift_eV"])
with atomic_path(out.raw_spectra) as tmp:
    publish.write_netcdf(raw, tmp)
with xr.open_dataset(inp.aligned) as aligned:
    cells = aligned["cell"].values.astype(str)
    refs = aligned.isel(spectrum=[k for k, c in enumerate(cells) if is_reference(c)]).load()
with atomic_path(out.reference_spectra) as tmp:
    publish.write_netcdf(refs, tmp)
for key in ("sites", "systems", "completed", "alignment", "validation_cells", "validation_compositions"):
    with atomic_path(out[key]) as tmp:
        shutil.copyfile(inp[key], tmp)
with atomic_path(out.bader) as tmp:
    publish.bader_table(inp.bader).to_csv(tmp, index=False, float_format="%.6f")
structures = {cell: read_structure(path) for cell, path in zip(snakemake.params.cells, inp.structures)}
with atomic_path(out.structures) as tmp:
    publish.write_structures(tmp, structures)

# Engine versions as the jobs recorded them; Python packages of this environment.
qe = raw.attrs["qe_version"].split("; ")
lammps = sorted({str(a.info.get("lammps_version", "unknown")) for c, a in structures.items() if not is_reference(c)})
packages = {}
for name in ("snakemake", "ase", "lammps", "baderkit", "xarray", "netCDF4", "numpy", "torch", "xraylarch"):
    try:
        packages[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        packages[name] = None
with xr.open_dataset(inp.sites) as sites, xr.open_dataset(inp.systems) as systems, \
        xr.open_dataset(inp.completed) as completed:
    counts = {"glass_sites": int(sites.sizes["site"]), "cells": int(systems.sizes["system"]),
              "glass_si": int(completed.sizes["site"]),
              "glass_si_predicted": int((completed["spectrum_source"] == 1).sum()),
              "cells_with_every_si": int(systems["all_sites_computed"].sum()),
              "reference_sites": int(refs.sizes["spectrum"]),
              "compositions": sorted({f"{v:.2f}" for v in systems["x"].values})}
git = publish.git_state(Path(siox_xanes.__file__).resolve().parents[2], exclude=list(out))
record = publish.provenance(snakemake.config, git,
                            {"quantum_espresso": qe, "lammps": lammps, "python_packages": packages}, manifest, counts)
write_json(out.provenance, record)
log.info("release %s: %s", Path(out.provenance).parent, counts)
