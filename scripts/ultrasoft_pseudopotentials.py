"""Ultrasoft Si and O around the PAW absorber, in one folder with the PAW files (rule ultrasoft_pseudopotentials)."""

from pathlib import Path

from siox_xanes.joblog import start
from siox_xanes.spectra.pseudopotentials import ultrasoft_environment

log = start(snakemake)
inp, out = snakemake.input, snakemake.output
paw_dir = Path(inp.paw[0]).parent
manifest = ultrasoft_environment(paw_dir, {"Si": Path(inp.Si), "O": Path(inp.O)}, Path(out.manifest).parent,
                                 logs={"Si": snakemake.log.Si, "O": snakemake.log.O})
log.info("Delta_E_atom = %.4f eV (ultrasoft Si -> PAW core-hole Si; all-PAW %.4f eV)",
         manifest["atomic_correction_eV"], manifest["paw_atomic_correction_eV"])
