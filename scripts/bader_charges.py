"""Bader charge of every atom of one cell from its ground-state densities (rule bader_charges)."""

import json
import tempfile
from pathlib import Path

import pandas as pd

from siox_xanes.bader import bader_charges
from siox_xanes.io import atomic_path, read_structure
from siox_xanes.workflow import start

log = start(snakemake)
inp = snakemake.input
atoms = read_structure(inp.structure)
manifest = json.loads(Path(inp.pseudo_manifest).read_text())
# Valence electrons of each dataset (ground-state Si: 4, O: 6).
zval = {"Si": 4.0, "O": 6.0}
symbols = atoms.get_chemical_symbols()
with tempfile.TemporaryDirectory(prefix="bader-") as tmp:
    charges = bader_charges(inp.rho_valence, inp.rho_all_electron, [zval[s] for s in symbols], tmp)
table = pd.DataFrame({"cell": snakemake.wildcards.cell, "atom_index": range(len(atoms)), "symbol": symbols, "bader_charge": charges})
for el, grp in table.groupby("symbol"):
    log.info("%s: mean Bader charge %+.3f e (min %+.3f, max %+.3f)", el, grp.bader_charge.mean(), grp.bader_charge.min(), grp.bader_charge.max())
log.info("sum of charges %+.4f e (neutral cell: ~0)", charges.sum())
with atomic_path(snakemake.output.charges) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6f")
