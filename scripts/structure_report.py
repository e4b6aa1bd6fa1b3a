"""Validation tables per cell and per composition, and the coordination figure (rule structure_report)."""

import json

from siox_xanes.io import atomic_path
from siox_xanes.report.plots import coordination_histogram
from siox_xanes.structures.tables import cells_table, class_fractions, composition_table
from siox_xanes.joblog import start

log = start(snakemake)
reports = [json.loads(open(p).read()) for p in snakemake.input.reports]
cells = cells_table(reports)
classes = class_fractions(reports)
out = snakemake.output
for df, path in ((cells, out.cells), (composition_table(cells), out.compositions), (classes, out.classes)):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
coordination_histogram(classes, out.figure_png, out.figure_pdf)
flagged = cells[cells["flags"] != ""]
log.info("%d cells, %d flagged", len(cells), len(flagged))
for _, row in flagged.iterrows():
    log.warning("x=%.2f seed=%d: %s", row["x"], row["seed"], row["flags"])
