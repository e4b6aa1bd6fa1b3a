"""Bad configs stop with a message naming the key, before any job starts."""

import pytest
from snakemake.utils import validate

from conftest import ROOT
from siox_xanes.config import ConfigError, check_config

SCHEMA = str(ROOT / "schemas/config.schema.yaml")


def merged_over(default_config: dict, preset: str) -> dict:
    """A preset merged over config.yaml as `--configfile` merges it (nested keys one by one)."""
    import copy

    import yaml
    from snakemake.utils import update_config

    merged = copy.deepcopy(default_config)
    update_config(merged, yaml.safe_load((ROOT / preset).read_text()))
    return merged


def test_default_and_paper_configs_pass(default_config):
    validate(default_config, SCHEMA)
    check_config(default_config)
    merged = merged_over(default_config, "config_paper.yaml")
    validate(merged, SCHEMA)
    check_config(merged)
    assert sum(c["Si"] for c in merged["structures"]["compositions"].values()) * 5 == 5290
    oxidation = merged["md"]["oxidation"]
    assert oxidation["template_ensemble"] == "npt" and "1.00" in oxidation["compositions"] and "2.00" not in oxidation["compositions"]
    merged = merged_over(default_config, "config_medium.yaml")
    validate(merged, SCHEMA)
    check_config(merged)
    assert sum(c["Si"] for c in merged["structures"]["compositions"].values()) * len(merged["structures"]["seeds"]) == 735
    assert merged["release"]["publish"] == "data/siox-medium-v3"
    assert merged["release"]["batches"].startswith(merged["release"]["publish"])  # the release's own batches
    quicklook = merged_over(default_config, "config_quicklook.yaml")
    validate(quicklook, SCHEMA)
    check_config(quicklook)
    # learns from a published release (v2 until v3 is complete)
    assert (ROOT / quicklook["dataset"]["from_release"] / "spectra_sites.nc").is_file()


@pytest.mark.slow
def test_a_missing_release_stops_before_any_job(tmp_path):
    import yaml

    from conftest import run_snakemake

    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    (tmp_path / "look.yaml").write_text(yaml.safe_dump({"dataset": {"from_release": str(tmp_path / "no_release")}}))
    proc = run_snakemake(["-n", "--cores", "1", "--configfile", "config.yaml", "look.yaml"], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    assert "dataset.from_release" in message and "spectra_sites.nc" in message and "not found" in message
    # a lower-fidelity release that is not there, or is the release itself, stops it too
    for lower, says in ((str(tmp_path / "no_release"), "not found"), ("data/siox-medium-v2", "is the release the run learns from")):
        (tmp_path / "look.yaml").write_text(yaml.safe_dump(
            {"dataset": {"from_release": "data/siox-medium-v2", "lower_fidelity": lower}}))
        proc = run_snakemake(["-n", "--cores", "1", "--configfile", "config.yaml", "look.yaml"], cwd=tmp_path, check=False)
        assert proc.returncode != 0 and "dataset.lower_fidelity" in proc.stdout + proc.stderr
        assert says in proc.stdout + proc.stderr


def test_misspelled_key_is_rejected_by_the_schema(default_config):
    default_config["md"]["hold_time_ps"] = 5
    with pytest.raises(Exception, match="hold_time_ps"):
        validate(default_config, SCHEMA)


def test_wrong_type_is_rejected_by_the_schema(default_config):
    default_config["md"]["mpi_ranks"] = "four"
    with pytest.raises(Exception, match="four"):
        validate(default_config, SCHEMA)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["structures"]["compositions"].update({"0.50": {"Si": 18, "O": 10}}), r"inconsistent with x = 0.5"),
        (lambda c: c["structures"]["compositions"].update({"2.50": {"Si": 8, "O": 20}}), r"outside 0-2"),
        (lambda c: c["structures"]["compositions"].update({"1.00": {"Si": 30, "O": 30}}), r"needs 60 sites"),
        (lambda c: c["structures"]["compositions"].update({"1.00": {"Si": 12, "O": 12, "C": 1}}), r"unknown species \['C'\]"),
        (lambda c: c["structures"]["compositions"].update({0.5: {"Si": 18, "O": 9}}), r"quoted string"),
        (lambda c: c["md"].update({"launcher": "mpiexec", "mpi_ranks": 2}), r"md.launcher"),
        (lambda c: c["md"].update({"final_temperature_K": 6000}), r"md.final_temperature_K"),
        (lambda c: c["structures"].update({"seeds": [1, 1]}), r"structures.seeds"),
        (lambda c: c["xanes"].update({"ecutrho_Ry": 50}), r"xanes.ecutrho_Ry"),
        (lambda c: c["xanes"].update({"mixing_beta": [0.3]}), r"xanes.electron_maxstep"),
        (lambda c: c["xanes"].update({"launcher": "mpirun", "mpi_ranks": 2}), r"xanes.launcher"),
        (lambda c: c["xanes"]["grid"].update({"stop": 1800.0}), r"xanes.grid"),
        (lambda c: c["xanes"].update({"start_from_ground_state": True, "environment_pseudopotentials": "ultrasoft"}),
         r"xanes.start_from_ground_state"),
        (lambda c: c["learning"]["windows"].update({"b": [1836.25, 1890.0]}), r"learning.windows\['b'\]"),
        (lambda c: c["uncertainty"]["alignment"]["window_eV"].update({"alpha_quartz": [1820.0, 1856.0]}),
         r"uncertainty.alignment.window_eV.alpha_quartz: \[1820.0, 1856.0\]"),
        (lambda c: c["normalisation"].update({"norm_eV": [15.0, 45.0]}), r"normalisation.norm_eV"),
        (lambda c: c["learning"]["windows"].update({"full": [1831.0, 1880.0]}), r"learning.windows.full: .* must equal"),
        (lambda c: c["xanes"].update({"xspectra_kpoints_by_composition": {"0.10": [4, 4, 4]}}),
         r"xanes.xspectra_kpoints_by_composition\['0.10'\]: no such composition"),
        (lambda c: c.update({"dataset": {**c["dataset"], "from_release": "data/siox-medium-v3"},
                             "report": {"compare_with": {"v3": "data/models/report_numbers/siox-medium-v3.json"}}}),
         r"report.compare_with.v3: .* what this run's ship_models writes"),
    ],
)
def test_semantic_errors_name_the_key(default_config, edit, message):
    edit(default_config)
    with pytest.raises(ConfigError, match=message):
        check_config(default_config)


def test_all_problems_are_reported_at_once(default_config):
    default_config["structures"]["compositions"]["0.50"] = {"Si": 18, "O": 10}
    default_config["xanes"]["ecutrho_Ry"] = 10
    with pytest.raises(ConfigError) as err:
        check_config(default_config)
    assert "0.50" in str(err.value) and "xanes.ecutrho_Ry" in str(err.value)


def test_glass_cells_take_their_composition_s_xspectra_mesh(default_config):
    from siox_xanes.spectra.references import glass_settings

    xanes = default_config["xanes"]
    xanes.update(xspectra_kpoints=[2, 2, 2], xspectra_kpoints_by_composition={"0.00": [4, 4, 4]})
    validate(default_config, SCHEMA)
    assert glass_settings(xanes, "0.00")["xspectra_kpoints"] == [4, 4, 4]
    assert glass_settings(xanes, "1.00")["xspectra_kpoints"] == [2, 2, 2]
    assert glass_settings(xanes, "1.00")["scf_kpoints"] == xanes["scf_kpoints"]


def changed(value):
    """Another value of the same kind (a leaf, a list of leaves or a block of them)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, list):
        return [changed(v) for v in value]
    if isinstance(value, dict):
        return {k: changed(v) for k, v in value.items()}
    return f"{value}_other"


@pytest.mark.parametrize("block, settings", [
    ("normalisation", "siox_xanes.measured.normalise:Normalisation.from_config"),
    ("uncertainty", "siox_xanes.learning.predictor:PredictorSettings.from_config"),
    ("learning.training", "siox_xanes.learning.nets:net_config"),
])
def test_blocks_passed_whole_hold_only_the_leaves_their_rules_read(default_config, block, settings):
    """normalisation, uncertainty and learning.training go to their rules as blocks: the schema
    allows no other keys in them, and editing any key changes the settings the rule builds, so a
    block's edit reruns exactly what a leaf-by-leaf params would (and nothing dead sits in it)."""
    import copy
    import importlib

    import yaml

    schema = yaml.safe_load(open(SCHEMA))
    node, values = schema, default_config
    for part in block.split("."):
        node, values = node["properties"][part], values[part]
    assert node.get("additionalProperties") is False, block
    module, attr = settings.split(":")
    build = importlib.import_module(module)
    for name in attr.split("."):
        build = getattr(build, name)
    read = (lambda b: build({"hidden": [8]}, b)) if block == "learning.training" else build
    values = {**values, "augmented_training": {"max_epochs": 10, "patience": 2}} if block == "uncertainty" else values
    before = read(values)
    for key in node["properties"]:
        if key not in values:
            continue
        edited = copy.deepcopy(values)
        edited[key] = changed(values[key])
        assert read(edited) != before, f"{block}.{key} changes nothing its rule builds"
