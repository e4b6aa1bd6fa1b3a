"""Generate one PAW dataset: ld1.x generation, transferability tests, post-processing."""

from __future__ import annotations

import re
from pathlib import Path

from .ld1 import (
    add_gipaw_core_orbitals,
    core_orbitals_of,
    core_wavefunction_text,
    parse_ld1_energies,
    rewrap_long_lines,
    transferability,
    without_generation_date,
    with_test_configuration,
)
from .programs import run_program


def generate_dataset(ld1_input: str, test_configs: list[str], workdir: Path, absorber: bool, max_error_mRy: float,
                     exe: str = "ld1.x") -> dict:
    """Run the generation and its tests in ``workdir``.

    Returns the UPF text (long lines rewrapped, generation date blanked; GIPAW
    core data added for an absorber), the core-orbital file text for an
    absorber, the reference energies and the test table. Raises if a test
    error exceeds ``max_error_mRy``.
    """
    workdir = Path(workdir)
    upf_name = re.search(r"file_pseudopw\s*=\s*'([^']+)'", ld1_input).group(1)
    log = run_program(exe, ld1_input, workdir, "generation.out")
    reference = parse_ld1_energies(log)
    r, core = core_orbitals_of(workdir / "ld1.wfc") if absorber else (None, None)
    upf = without_generation_date(rewrap_long_lines((workdir / upf_name).read_text()))
    tests = {}
    for i, config in enumerate(test_configs):
        out = run_program(exe, with_test_configuration(ld1_input, config), workdir / f"test{i}", "test.out")
        tests[config] = parse_ld1_energies(out)
    table = transferability(reference, tests)
    bad = [t for t in table if abs(t["error_mRy"]) > max_error_mRy]
    if bad:
        raise ValueError(
            f"{upf_name}: transferability error above {max_error_mRy} mRy for "
            + ", ".join(f"'{t['config']}' ({t['error_mRy']:.2f} mRy)" for t in bad)
        )
    result = {"upf_name": upf_name, "upf": upf, "reference": reference, "tests": table, "log": log}
    if absorber:
        result["upf"] = add_gipaw_core_orbitals(upf, core)
        result["core"] = core_wavefunction_text(r, [(lab, u) for lab, _, _, u in core])
    return result
