"""Generate one PAW dataset: ld1.x generation, transferability tests, post-processing."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from .. import RY_TO_EV
from ..io import atomic_path, sha256_file, write_json
from .calc import ENVIRONMENT_DATASETS
from .energy import atomic_correction_eV
from .ld1 import (
    add_gipaw_core_orbitals,
    core_orbitals_of,
    core_wavefunction_text,
    parse_ld1_energies,
    rewrap_long_lines,
    transferability,
    ultrasoft_input,
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


def ultrasoft_environment(paw_dir: Path, ld1_inputs: dict[str, Path], dest: Path, logs: dict[str, Path] | None = None,
                          exe: str = "ld1.x") -> dict:
    """The pseudopotential folder of an ultrasoft environment, in ``dest``: the PAW folder's files
    (``paw_dir``: the absorber's dataset and core orbitals, and the PAW Si and O the ground
    state's densities for Bader come from) plus ultrasoft Si and O made from the same ld1.x
    inputs, and a manifest whose atomic correction goes from the ultrasoft Si to the
    core-hole PAW Si. Returns the manifest.

    ld1.x 6.7's test runs of an ultrasoft pseudopotential keep the reference configuration's
    eigenvalues (O 2s2 2p3: 8.5 Ry above the neutral atom, all-electron 1.2 Ry), so they cannot
    judge these; the check is on the cells, against all-PAW (bench/qe_site_settings.py).
    """
    paw_dir, dest = Path(paw_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((paw_dir / "manifest.json").read_text())
    for f in paw_dir.iterdir():
        if f.suffix in (".UPF", ".core"):
            with atomic_path(dest / f.name) as tmp:
                shutil.copyfile(f, tmp)
    for name, source in ld1_inputs.items():
        upf_name = ENVIRONMENT_DATASETS["ultrasoft"][name]
        with tempfile.TemporaryDirectory(prefix=f"ld1-{name}-us-") as tmp:
            try:
                result = generate_dataset(ultrasoft_input(Path(source).read_text(), upf_name), [], Path(tmp),
                                          absorber=False, max_error_mRy=0.0, exe=exe)
            finally:
                if logs:
                    with open(logs[name], "w") as fh:
                        for f in sorted(Path(tmp).rglob("*.out")):
                            fh.write(f"===== {f.relative_to(tmp)} =====\n{f.read_text(errors='replace')}\n")
        with atomic_path(dest / upf_name) as tmp:
            tmp.write_text(result["upf"])
        # an entry like the PAW datasets' (no ld1.x tests: see above)
        manifest[f"{name}_ultrasoft"] = {"file": upf_name, "sha256": sha256_file(dest / upf_name),
                                         "ld1_input_sha256": sha256_file(source),
                                         "reference_energies_Ry": result["reference"], "transferability_tests": []}
    manifest.update({
        "environment_pseudopotentials": "ultrasoft",
        "paw_atomic_correction_eV": manifest["atomic_correction_eV"],
        "atomic_correction_eV": atomic_correction_eV(manifest["Si_ultrasoft"]["reference_energies_Ry"],
                                                     manifest["Si_hole"]["reference_energies_Ry"]),
    })
    write_json(dest / "manifest.json", manifest)
    return manifest


def core_excitation_transferability(ground_input: str, hole_input: str, pairs: list[tuple[str, str]], workdir: Path,
                                    exe: str = "ld1.x") -> list[dict]:
    """How well the frozen-core datasets carry the Si 1s excitation energy across valence states.

    For each (ground valence, core-hole valence) configuration pair of the free atom, e.g.
    ('3s1 3p0', '3s1 3p1') for an Si3+ ion whose 1s electron goes to 3p (the XCH picture), the
    all-electron excitation E_AE(hole) - E_AE(ground) (ld1.x relaxes every shell, the core's
    response to the valence included) beside the pseudo one E_PS(hole) - E_PS(ground) + Delta_E_atom,
    which is what the Delta-SCF onsets use. Their difference is the error the frozen cores make in a
    chemical shift; it is zero at the generation configurations by construction. The energies are
    those of the datasets' own transferability tests (``generate_dataset``). Energies in eV.
    """
    workdir = Path(workdir)
    runs = {}
    for kind, text, configs in (("ground", ground_input, [g for g, _ in pairs]), ("hole", hole_input, [h for _, h in pairs])):
        result = generate_dataset(text, list(dict.fromkeys(configs)), workdir / kind, absorber=False,
                                  max_error_mRy=float("inf"), exe=exe)
        runs[kind] = (result["reference"], {t["config"]: t for t in result["tests"]})
    correction = atomic_correction_eV(runs["ground"][0], runs["hole"][0])

    def energy(kind: str, config: str, which: str) -> float:
        """Total energy (Ry) of ``config``: the reference's plus the test's change."""
        reference, tests = runs[kind]
        return reference[f"etot_{which}_Ry"] + tests[config][f"dEtot_{which}_Ry"]

    rows = []
    for ground_config, hole_config in pairs:
        ae, ps = ((energy("hole", hole_config, w) - energy("ground", ground_config, w)) * RY_TO_EV for w in ("ae", "ps"))
        ps += correction
        rows.append({"ground": ground_config, "hole": hole_config, "excitation_ae_eV": ae,
                     "excitation_ps_eV": ps, "error_eV": ps - ae})
    return rows
