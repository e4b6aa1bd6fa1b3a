"""The structure -> spectrum model trained on a data release, copied beside it with a card (rule ship_forward_model)."""

import json
import shutil
from pathlib import Path

from siox_xanes.io import atomic_path, write_json
from siox_xanes.joblog import start

log = start(snakemake)
inp, out = snakemake.input, snakemake.output
release = json.loads(Path(inp.provenance).read_text())
with atomic_path(out.model) as tmp:
    shutil.copyfile(inp.model, tmp)
write_json(out.card, {"file": Path(out.model).name, "trained_on": {"release": snakemake.params.release,
                                                                   "workflow": release["workflow"],
                                                                   "counts": release["counts"]},
                      "by_cell": json.loads(Path(inp.metrics).read_text())})
log.info("shipped %s", out.model)
