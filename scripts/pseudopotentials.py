"""PAW datasets for Si, O and the 1s core-hole Si from our ld1.x inputs (rule pseudopotentials)."""

import shutil
import tempfile
from pathlib import Path

from siox_xanes.io import atomic_path, write_json
from siox_xanes.qe.pseudo_gen import generate_dataset
from siox_xanes.workflow import sha256_file, start
from siox_xanes.xanes import atomic_correction_eV

log = start(snakemake)
out, params = snakemake.output, snakemake.params
logs = Path(params.ld1_logs)
manifest = {}
for name in ("Si", "Si_hole", "O"):
    source = Path(snakemake.input[name])
    with tempfile.TemporaryDirectory(prefix=f"ld1-{name}-") as tmp:
        try:
            result = generate_dataset(
                source.read_text(), params.tests[name], Path(tmp), absorber=(name == "Si_hole"),
                max_error_mRy=params.max_error_mRy,
            )
        finally:
            # ld1.x's own outputs, transferability tests included, stay in the logs.
            shutil.copytree(tmp, logs / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.UPF", "*.wfc"))
    with atomic_path(out[name]) as f:
        f.write_text(result["upf"])
    if name == "Si_hole":
        with atomic_path(out.core) as f:
            f.write_text(result["core"])
    for t in result["tests"]:
        log.info("%s test '%s': error %.3f mRy", name, t["config"], t["error_mRy"])
    manifest[name] = {
        "file": Path(out[name]).name,
        "sha256": sha256_file(out[name]),
        "ld1_input_sha256": sha256_file(source),
        "reference_energies_Ry": result["reference"],
        "transferability_tests": result["tests"],
    }
manifest["Si_hole"]["core_file"] = Path(out.core).name
manifest["Si_hole"]["core_file_sha256"] = sha256_file(out.core)
manifest["atomic_correction_eV"] = atomic_correction_eV(
    manifest["Si"]["reference_energies_Ry"], manifest["Si_hole"]["reference_energies_Ry"]
)
log.info("Delta_E_atom = %.4f eV", manifest["atomic_correction_eV"])
write_json(out.manifest, manifest)
