"""The models trained on a data release, copied beside it with a card (rule ship_models)."""

import json
import shutil
from pathlib import Path

from siox_xanes.io import atomic_path, write_json
from siox_xanes.joblog import start

log = start(snakemake)
inp, out = snakemake.input, snakemake.output
release = json.loads(Path(inp.provenance).read_text())
evaluation = json.loads(Path(inp.evaluation).read_text())
networks = {}
for model, metrics_path, shipped in zip(inp.models, inp.metrics, out.models):
    metrics = json.loads(Path(metrics_path).read_text())
    with atomic_path(shipped) as tmp:
        shutil.copyfile(model, tmp)
    networks[metrics["target"]] = {
        "file": Path(shipped).name, "window_eV": metrics["window_eV"], "epochs": metrics["epochs"],
        "n_train": metrics["n_train"], "n_test": metrics["n_test"], "test": metrics["test"], "cv": metrics["cv"],
    }
with atomic_path(out.predictor) as tmp:
    shutil.copyfile(inp.predictor, tmp)
with atomic_path(out.numbers) as tmp:  # what the next release's report sets beside its own
    shutil.copyfile(inp.numbers, tmp)
card = {
    "trained_on": {"release": snakemake.params.release, "workflow": release["workflow"], "counts": release["counts"]},
    "full_window_networks": networks,
    "predictor": {"file": Path(out.predictor).name, "networks": evaluation.get("networks"),
                  "epochs": evaluation["epochs"], "augmented_training": evaluation.get("augmented_training"),
                  "confidence": evaluation["confidence"], "valence_halfwidth": evaluation["valence_halfwidth"],
                  "coverage": evaluation["coverage"], "test_metrics": evaluation["metrics"],
                  "n_sites": evaluation["n_sites"]},
}
write_json(out.card, card)
log.info("shipped %s", ", ".join([out.predictor, *out.models]))
