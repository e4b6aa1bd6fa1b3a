"""Bader charge of every atom of one cell from its ground-state densities (rule bader_charges)."""

import tempfile

import pandas as pd

from siox_xanes.spectra.bader import bader_charges
from siox_xanes.io import atomic_path, read_structure
from siox_xanes.joblog import start

log = start(snakemake)
inp = snakemake.input
atoms = read_structure(inp.structure)
# Valence electrons of the ground-state datasets (pseudo/*.ld1.in: Si 3s2 3p2, O 2s2 2p4);
# the manifest is an input only so that new datasets rerun this rule.
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
