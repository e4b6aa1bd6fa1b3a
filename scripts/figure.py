"""One of the paper's figures (rule figure)."""

from siox_xanes.figures import FIGURES
from siox_xanes.workflow import start

log = start(snakemake)
function, keys = FIGURES[snakemake.wildcards.fig]
function({k: snakemake.input[k] for k in keys}, snakemake.output.png, snakemake.output.pdf, snakemake.params.windows)
log.info("wrote %s", snakemake.output.png)
