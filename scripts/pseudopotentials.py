"""PAW datasets for Si, O and the 1s core-hole Si from our ld1.x inputs (rule pseudopotentials)."""

import tempfile
from pathlib import Path

from siox_xanes.io import atomic_path, write_json
from siox_xanes.spectra.pseudopotentials import generate_dataset
from siox_xanes.io import sha256_file
from siox_xanes.joblog import start
from siox_xanes.spectra.energy import atomic_correction_eV

log = start(snakemake)
out, params = snakemake.output, snakemake.params
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
            # ld1.x's own outputs, transferability tests included, stay in this dataset's log.
            with open(snakemake.log[name], "w") as fh:
                for f in sorted(Path(tmp).rglob("*.out")):
                    fh.write(f"===== {f.relative_to(tmp)} =====\n{f.read_text(errors='replace')}\n")
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
