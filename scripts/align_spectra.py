"""One global energy shift from alpha-quartz, every spectrum on the common grid, Fig. S1 (rule align_spectra)."""

import json
from pathlib import Path

import numpy as np
import xarray as xr

from siox_xanes.io import atomic_path, write_json
from siox_xanes.report.plots import reference_spectra_figure
from siox_xanes.joblog import start
from siox_xanes.layout import reference_cell
from siox_xanes.spectra.energy import energy_grid, global_shift, main_peak, mean_spectrum, read_site_spectrum, to_grid

log = start(snakemake)
xanes = snakemake.params.alignment
window = xanes["main_peak_window_eV"]
sites = [json.loads(Path(p).read_text()) for p in snakemake.input.sites]
spectra = [read_site_spectrum(p) for p in snakemake.input.spectra]
by_cell = {}
for info, spec in zip(sites, spectra):
    by_cell.setdefault(info["cell"], []).append((info, spec))

quartz = by_cell[reference_cell("alpha_quartz")]
shift, quartz_peak_unshifted = global_shift(
    [s for _, s in quartz], [i["onset_unshifted_eV"] for i, _ in quartz], xanes["experiment_main_peak_eV"]["alpha_quartz"], window
)
log.info("global shift %.3f eV (alpha-quartz main peak computed at %.3f eV before the shift)", shift, quartz_peak_unshifted)
peaks = {}
for ref in ("alpha_quartz", "diamond_si"):
    entries = by_cell[reference_cell(ref)]
    e, mu = mean_spectrum([s for _, s in entries])
    onset = min(i["onset_unshifted_eV"] for i, _ in entries)
    peaks[ref] = {
        "computed_main_peak_eV": main_peak(e, mu, onset, window) + shift,
        "computed_onset_eV": onset + shift,
        "experiment_main_peak_eV": xanes["experiment_main_peak_eV"][ref],
    }
    log.info("%s: main peak %.2f eV (experiment %.2f eV)", ref, peaks[ref]["computed_main_peak_eV"], peaks[ref]["experiment_main_peak_eV"])
split = peaks["alpha_quartz"]["computed_main_peak_eV"] - peaks["diamond_si"]["computed_main_peak_eV"]
log.info("alpha-quartz - diamond Si main-peak separation %.2f eV (experiment %.2f eV)", split,
         xanes["experiment_main_peak_eV"]["alpha_quartz"] - xanes["experiment_main_peak_eV"]["diamond_si"])

grid = energy_grid(xanes["grid"])
mu = np.array([to_grid(e + shift, m, grid, what=f"{i['cell']} site {i['site']}") for i, (e, m) in zip(sites, spectra)])
ds = xr.Dataset(
    {
        "mu": (("spectrum", "energy"), mu, {"long_name": "Si K-edge absorption, mean of x, y, z polarisations", "units": "arbitrary"}),
        "onset": ("spectrum", [i["onset_unshifted_eV"] + shift for i in sites], {"long_name": "Delta-SCF onset after the global shift", "units": "eV"}),
        "delta_scf": ("spectrum", [i["delta_scf_eV"] for i in sites], {"long_name": "E_tot(core hole) - E_tot(ground state)", "units": "eV"}),
    },
    coords={
        "energy": ("energy", grid, {"units": "eV", "long_name": "photon energy"}),
        "cell": ("spectrum", [i["cell"] for i in sites]),
        "site": ("spectrum", [i["site"] for i in sites], {"long_name": "atom index of the absorbing Si"}),
    },
    attrs={
        "global_shift_eV": shift,
        "alignment": f"alpha-quartz main peak at {xanes['experiment_main_peak_eV']['alpha_quartz']} eV",
        "lorentzian_gamma_eV": snakemake.config["xanes"]["gamma_eV"],  # provenance; the spectra carry it
    },
)
with atomic_path(snakemake.output.spectra) as tmp:
    ds.to_netcdf(tmp)
write_json(snakemake.output.alignment, {
    "global_shift_eV": shift,
    "alpha_quartz_main_peak_unshifted_eV": quartz_peak_unshifted,
    "references": peaks,
    "quartz_minus_si_main_peak_eV": split,
})
refs = {name: (mean_spectrum([s for _, s in by_cell[reference_cell(name)]]), peaks[name]) for name in ("alpha_quartz", "diamond_si")}
reference_spectra_figure({k: ((e + shift, m), p) for k, ((e, m), p) in refs.items()}, snakemake.output.figure_png, snakemake.output.figure_pdf)
