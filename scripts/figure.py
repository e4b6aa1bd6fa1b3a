"""One of the paper's figures (rule figure)."""

from siox_xanes.joblog import start
from siox_xanes.report.figures import FIGURES

log = start(snakemake)
params = snakemake.params
inputs = {k: v for k, v in snakemake.input.items()}
FIGURES[snakemake.wildcards.fig](inputs, snakemake.output.png, snakemake.output.pdf, params.windows, params.ablation)
log.info("wrote %s", snakemake.output.png)
