from pathlib import Path

import numpy as np
import pytest

from siox_xanes.structures.md import (
    MeltQuench,
    lammps_launch_prefix,
    lammps_version_from_log,
    melt_quench,
    melt_quench_commands,
    potential_path,
    velocity_seed,
)
from siox_xanes.structures.lattice import Lattice, build_network, density_g_cm3, volume_additive_density
from siox_xanes.structures.checks import validate_cell
from siox_xanes.structures.provenance import structure_method

PROTOCOL = dict(
    timestep_fs=1.0, melt_temperature_K=5000, hold_ps=1.0, quench_ps=3.0, final_temperature_K=1.0,
    pressure_atm=1.0, tdamp_ps=0.1, pdamp_ps=1.0, trace_every=100,
)


def test_potential_ships_with_the_wheel():
    pot = potential_path("SiO.tersoff")
    assert "Munetoh" in pot.read_text() or "Mumetoh" in pot.read_text()
    # checked in the melt-quench job (the DAG is built without LAMMPS), naming the key
    with pytest.raises(FileNotFoundError, match=r"md.potential: potential file 'NoSuch.tersoff' not found"):
        potential_path("NoSuch.tersoff")


def test_commands_follow_the_protocol():
    p = MeltQuench(velocity_seed=7, **PROTOCOL)
    cmds = melt_quench_commands(p, "in.data", "/pot/SiO.tersoff", "out.data", "trace.dat")
    text = "\n".join(cmds)
    assert "pair_coeff * * /pot/SiO.tersoff Si O" in text
    assert "fix ensemble all npt temp 5000 5000 0.1 iso 1.01325 1.01325 1.0" in text
    assert "fix ensemble all npt temp 5000 1.0 0.1 iso" in text
    runs = [int(c.split()[1]) for c in cmds if c.startswith("run ")]
    assert runs == [1000, 3000] and p.total_steps == 4000
    assert "velocity all create 5000 7" in text
    assert cmds.index("minimize 1.0e-6 1.0e-8 2000 20000") < cmds.index(runs and "run 1000")
    assert cmds[-1] == "write_data out.data"


def test_fixed_density_protocol_commands():
    p = MeltQuench(velocity_seed=7, ensemble="nvt", density_g_cm3=2.23, relax_box=False, **PROTOCOL)
    text = "\n".join(melt_quench_commands(p, "in.data", "/pot/SiO.tersoff", "out.data", "trace.dat"))
    assert "change_box all x final 0 ${edge}" in text and "/2.23*1e24" in text
    assert "fix ensemble all nvt temp 5000 5000 0.1" in text and "fix ensemble all nvt temp 5000 1.0 0.1" in text
    assert " npt " not in text and "box/relax" not in text
    assert text.index("change_box") < text.index("velocity all create")
    with pytest.raises(ValueError, match="md.ensemble"):
        MeltQuench(velocity_seed=7, ensemble="nph", **PROTOCOL)
    with pytest.raises(ValueError, match="fixed density"):
        MeltQuench(velocity_seed=7, ensemble="nvt", **PROTOCOL)


def test_protocol_from_an_md_config_block(default_config):
    p = MeltQuench.from_md_config(default_config["md"], 11)
    assert (p.hold_ps, p.quench_ps, p.ensemble, p.velocity_seed) == (100, 400, "npt", 11)  # ranks, launcher ignored


def test_volume_additive_density():
    ends = {"Si": 2.29, "SiO2": 2.20}
    assert volume_additive_density(0.0, ends) == pytest.approx(2.29)
    assert volume_additive_density(2.0, ends) == pytest.approx(2.20)
    mid = [volume_additive_density(x, ends) for x in (0.25, 0.5, 1.0, 1.5)]
    assert all(2.20 < d < 2.29 for d in mid) and mid == sorted(mid, reverse=True)
    assert volume_additive_density(1.0, ends) == pytest.approx(2.228, abs=1e-3)


def test_launcher():
    assert lammps_launch_prefix("auto", 1) == []
    assert lammps_launch_prefix("srun -n {ranks} --mpi=pmi2", 4) == ["srun", "-n", "4", "--mpi=pmi2"]
    argv = lammps_launch_prefix("auto", 2)
    assert argv[-2:] == ["-n", "2"] and argv[0].endswith("mpiexec")


def test_velocity_seed_is_deterministic_and_distinct():
    assert velocity_seed(1, "0.25") == velocity_seed(1, "0.25")
    assert len({velocity_seed(s, x) for s in (1, 2) for x in ("0.25", "0.50")}) == 4
    assert 1 <= velocity_seed(5, "2.00") <= 900_000_000


def test_structure_method_says_how_each_cell_was_made():
    grown = {"md_ensemble": "npt", "md_attempt": 3, "oxidation_step_x": 0.125, "oxidation_anneal_temperature_K": 300,
             "oxidation_template_ensemble": "nvt"}
    text = structure_method(grown)
    assert text.startswith("grown from a-Si: nvt melt-quench") and "x <= 0.125" in text and "draw 3" in text
    assert structure_method({"md_ensemble": "nvt", "md_attempt": 1}) == "melt-quench of the composition (nvt), draw 1"


def test_version_from_log():
    assert lammps_version_from_log("LAMMPS (22 Jul 2025 - Update 4)\nOMP...") == "LAMMPS (22 Jul 2025 - Update 4)"


@pytest.mark.slow
@pytest.mark.parametrize("ranks", [1, 2])
def test_real_lammps_melt_quench_of_a_tiny_cell(tmp_path, ranks):
    """A 27-atom SiO2 cell through the real engine: same atoms back, condensed, sane bonds."""
    atoms = build_network(9, 18, Lattice(3.74, (2, 2, 2)), seed=1, x_key="2.00")
    p = MeltQuench(velocity_seed=velocity_seed(1, "2.00"), **PROTOCOL)
    final, trace, log = melt_quench(atoms, p, "SiO.tersoff", tmp_path, ranks=ranks)
    assert final.get_chemical_symbols() == atoms.get_chemical_symbols()
    assert "LAMMPS (" in final.info["lammps_version"] and len(final.info["potential_sha256"]) == 64
    assert f"with {ranks} MPI tasks" in log  # really ran on that many ranks
    # The trace covers the hold and the quench, hot at first, cold at the end.
    assert trace[0, 0] == 0 and trace[-1, 0] == 4000
    assert trace[:10, 2].mean() > 3000 and trace[-1, 2] < 200
    assert 1.5 < density_g_cm3(final) < 3.5
    report = validate_cell(final, {"Si-Si": 2.75, "Si-O": 2.2, "O-O": 1.8})
    assert report["mean_bond_length_A"]["Si-O"] == pytest.approx(1.65, abs=0.1)
    assert np.isfinite(final.positions).all()


@pytest.mark.slow
def test_same_seed_same_quenched_cell(tmp_path):
    atoms = build_network(9, 18, Lattice(3.74, (2, 2, 2)), seed=1, x_key="2.00")
    p = MeltQuench(velocity_seed=11, **{**PROTOCOL, "hold_ps": 0.5, "quench_ps": 0.5})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, _, _ = melt_quench(atoms, p, "SiO.tersoff", tmp_path / "a")
    b, _, _ = melt_quench(atoms, p, "SiO.tersoff", tmp_path / "b")
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell)


def test_tersoff_cutoffs_are_rewritten_by_geometric_mixing():
    import math

    from siox_xanes.structures.md import potential_path
    from siox_xanes.structures.potential import tersoff_entries, with_cutoffs

    original = potential_path("SiO.tersoff").read_text()
    # the wheel's file: Si-Si 2.5-2.8, Si-O 2.06-2.37, O-O 1.7-2.0 Angstrom
    shipped = {(e[0], e[2]): (float(e[13]), float(e[14])) for e in tersoff_entries(original)}
    assert shipped[("Si", "Si")] == (2.65, 0.15) and shipped[("O", "O")] == (1.85, 0.15)
    cut = {"Si": (2.7, 3.0), "O": (1.7, 2.0)}
    rewritten = tersoff_entries(with_cutoffs(original, cut, source="SiO.tersoff"))
    for old, new in zip(tersoff_entries(original), rewritten):
        assert old[:13] == new[:13] and old[15:] == new[15:]  # only R and D change
        a, b = new[0], new[2]
        r, s = math.sqrt(cut[a][0] * cut[b][0]), math.sqrt(cut[a][1] * cut[b][1])
        assert float(new[13]) - float(new[14]) == pytest.approx(r) and float(new[13]) + float(new[14]) == pytest.approx(s)
    with pytest.raises(ValueError, match="no \\(R, S\\) for element O"):
        with_cutoffs(original, {"Si": (2.7, 3.0)})


# ------------------------------------------------------------ glasses grown from a-Si


def diamond_si(repeat=2):
    from ase.build import bulk

    return bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)


def test_oxygen_steps_are_equal_and_at_most_step_x():
    from siox_xanes.structures.oxidation import oxygen_steps

    assert oxygen_steps(100, 100, 0.125) == [12, 25, 38, 50, 62, 75, 88, 100]
    assert oxygen_steps(12, 3, 0.125) == [2, 3]
    assert oxygen_steps(16, 0, 0.125) == []
    for n_si, n_o in [(16, 28), (20, 5), (96, 144)]:
        steps = oxygen_steps(n_si, n_o, 0.125)
        assert steps[-1] == n_o and all(0 < b - a <= 0.125 * n_si + 1 for a, b in zip([0, *steps], steps))


def test_each_inserted_oxygen_bridges_the_two_si_of_its_own_bond():
    from ase.neighborlist import neighbor_list

    from siox_xanes.structures.oxidation import insert_oxygen, si_si_bonds

    si = diamond_si()
    assert len(si_si_bonds(si, 2.75, 2.2)[0]) == 2 * len(si)  # fourfold: two bonds per Si
    out = insert_oxygen(si, 24, np.random.default_rng(5), si_si_cutoff=2.75, si_o_cutoff=2.2, offset=0.5)
    assert out.get_chemical_symbols() == ["Si"] * 64 + ["O"] * 24
    assert np.allclose(out.positions[:64], si.positions)  # Si untouched
    i, j, d = neighbor_list("ijd", out, 1.4)  # O sit 1.17-1.28 A from the two Si of their bond
    o_neighbours = np.bincount(i[(i >= 64) & (j < 64)], minlength=len(out))[64:]
    assert (o_neighbours == 2).all()
    # later O take other bonds; same generator state, same cell
    again = insert_oxygen(si, 24, np.random.default_rng(5), si_si_cutoff=2.75, si_o_cutoff=2.2, offset=0.5)
    assert np.array_equal(out.positions, again.positions)
    # a bridged pair is no free bond, however close its Si still are
    more = insert_oxygen(out, 10, np.random.default_rng(6), si_si_cutoff=2.75, si_o_cutoff=2.2, offset=0.5)
    assert len(si_si_bonds(more, 2.75, 2.2)[0]) == 128 - 34
    with pytest.raises(ValueError, match="only 94 free Si-Si bonds"):
        insert_oxygen(more, 95, np.random.default_rng(7), si_si_cutoff=2.75, si_o_cutoff=2.2, offset=0.5)


def test_inserted_oxygen_keeps_away_from_the_oxygen_already_there():
    """SiO from diamond Si in eight steps without relaxation: O in neighbouring bonds of one
    Si start 1.9 A apart at the midpoints; bent at random, some pairs end 1.3-1.4 A apart
    (O-O bonds the minimiser may keep); each O bent away from the others keeps > 1.5 A."""
    from ase.geometry import get_distances

    from siox_xanes.structures.oxidation import insert_oxygen

    for seed in range(5):
        cell, rng = diamond_si(), np.random.default_rng(seed)
        for _ in range(8):
            cell = insert_oxygen(cell, 8, rng, si_si_cutoff=2.75, si_o_cutoff=2.2, offset=0.5)
        _, dist = get_distances(cell.positions[64:], cell=cell.cell, pbc=True)
        assert dist[np.triu_indices(64, 1)].min() > 1.5


def test_oxidation_settings_are_checked_against_the_compositions():
    import copy

    import yaml

    from siox_xanes.config import ConfigError, check_config

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    cfg["structures"]["compositions"]["1.75"] = {"Si": 8, "O": 17}  # beyond SiO2
    cfg["md"]["oxidation"] = {**(cfg["md"].get("oxidation") or {}), "compositions": ["1.00", "3.00", "2.00", "1.75"],
                              "step_x": 0.125, "anneal_temperature_K": 300, "anneal_ps": 1, "cool_ps": 1, "offset_A": 0.5}
    with pytest.raises(ConfigError) as err:
        check_config(copy.deepcopy(cfg))
    assert "'3.00' is no composition" in str(err.value) and "'1.75' has O > 2 Si" in str(err.value)
    assert "'1.00'" not in str(err.value) and "'2.00'" not in str(err.value)  # SiO2 takes every bond


@pytest.mark.slow
def test_real_lammps_oxidation_keeps_every_o_bridging(tmp_path):
    """Diamond Si (64 atoms) to SiO (x = 1) through the real engine: every O bridges two Si,
    every Si keeps four neighbours, no O-O bond, a silica-like Si-O bond, the density
    of the cell near the experimental range; same seed, same cell."""
    from siox_xanes.structures.md import potential_path
    from siox_xanes.structures.oxidation import Oxidation, oxidise

    ox = Oxidation(n_oxygen=64, step_x=0.25, anneal_temperature_K=300, anneal_ps=1, cool_ps=1, offset_A=0.5,
                   si_si_cutoff_A=2.75, si_o_cutoff_A=2.2, end_member_densities={"Si": 2.29, "SiO2": 2.20})
    args = (ox, potential_path("SiO.tersoff"))
    final, log = oxidise(diamond_si(), *args, tmp_path / "a", np.random.SeedSequence(3), 11, 1.0, 0.1, 1.0)
    assert final.get_chemical_symbols() == ["Si"] * 64 + ["O"] * 64
    assert log.count("Loop time") >= 5  # four insertion steps and the anneal ran
    report = validate_cell(final, {"Si-Si": 2.75, "Si-O": 2.2, "O-O": 1.8})
    assert report["mean_si_per_o"] == pytest.approx(2.0)
    assert report["fraction_si_fourfold"] >= 0.95 and report["bond_counts"]["O-O"] == 0
    assert report["mean_bond_length_A"]["Si-O"] == pytest.approx(1.62, abs=0.06)
    assert 1.9 < density_g_cm3(final) < 2.6
    again, _ = oxidise(diamond_si(), *args, tmp_path / "b", np.random.SeedSequence(3), 11, 1.0, 0.1, 1.0)
    assert np.array_equal(final.positions, again.positions)


def test_a_cell_is_drawn_again_until_it_is_sound():
    from siox_xanes.structures.lattice import composition_seed
    from siox_xanes.structures.md import first_sound

    made = []

    def make(k):
        made.append(k)
        return f"cell{k}"

    flags = {"cell0": ["density", "O-O"], "cell1": ["O-O"], "cell2": [], "cell3": []}
    assert first_sound(make, flags.get, 8) == ("cell2", 2, [["density", "O-O"], ["O-O"], []])
    assert made == [0, 1, 2]  # stops at the first sound cell
    # none sound: the one missing fewest, the earliest of equals
    flags = {"cell0": ["a", "b"], "cell1": ["a"], "cell2": ["b"]}
    assert first_sound(make, flags.get, 3)[:2] == ("cell1", 1)
    assert first_sound(make, flags.get, 1)[:2] == ("cell0", 0)
    # a draw that cannot be finished (None) is never kept
    unfinished = {None: ["too few bonds"], "cell1": ["a", "b"], "cell2": []}
    assert first_sound(lambda k: None if k == 0 else f"cell{k}", unfinished.get, 2) == ("cell1", 1, [["too few bonds"], ["a", "b"]])
    assert first_sound(lambda k: None, unfinished.get, 2)[:2] == (None, None)
    with pytest.raises(ValueError, match="max_attempts"):
        first_sound(make, flags.get, 0)
    # the first draw is the cell's draw of before (same streams), later draws differ
    first = composition_seed(3, "0.50", stream=1).generate_state(2)
    assert np.array_equal(composition_seed(3, "0.50", stream=1, attempt=0).generate_state(2), first)
    assert not np.array_equal(composition_seed(3, "0.50", stream=1, attempt=1).generate_state(2), first)
    assert velocity_seed(3, "0.50", 0) == velocity_seed(3, "0.50") != velocity_seed(3, "0.50", 1)


@pytest.mark.slow
def test_the_melt_quench_rule_grows_and_redraws_a_cell(tmp_path):
    """Rule melt_quench through Snakemake and LAMMPS, on a grown SiO cell whose density
    bound no draw can meet: every allowed draw is made (each with its own velocity seed),
    the one kept is recorded, and validate_cell flags it; with a bound the first draw
    meets, one draw is made."""
    import json
    import re

    import yaml

    from conftest import run_snakemake, tiny_workdir
    from siox_xanes.io import read_structure

    work = tiny_workdir(tmp_path / "run")
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["structures"]["compositions"] = {"1.00": {"Si": 8, "O": 8}}
    config["md"].update(max_attempts=3, oxidation={"compositions": ["1.00"], "step_x": 0.5, "anneal_temperature_K": 300,
                                                   "anneal_ps": 0.5, "cool_ps": 0.5, "offset_A": 0.5,
                                                   "template_ensemble": "nvt"})
    config["validation"]["density_by_composition"] = {"1.00": [9.0, 10.0]}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cell = "results/structures/x1.00/seed7"
    run_snakemake(["--cores", "1", f"{cell}/validation.json"], cwd=work)
    log = (work / "logs/melt_quench/x1.00_seed7.log").read_text()
    assert [f"attempt {k}:" in log for k in range(4)] == [True, True, True, False]
    misses = json.loads(re.search(r"misses per attempt: (\[.*\])", log).group(1))
    atoms = read_structure(work / cell / "quenched.extxyz")
    assert len(misses) == 3 and min(misses) >= 1 and atoms.info["md_attempt"] == misses.index(min(misses))
    assert atoms.get_chemical_symbols() == ["Si"] * 8 + ["O"] * 8
    assert json.loads((work / cell / "validation.json").read_text())["flags"]
    # bounds the first draw meets: the same cell is redone (the bounds choose it), in one draw
    config["validation"]["density_by_composition"] = {"1.00": [0.1, 10.0]}
    config["validation"]["bounds"].update(min_fraction_si_fourfold=0.0, max_mean_si_per_o=9.0, max_o_o_bonds=99)
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run_snakemake(["--cores", "1", f"{cell}/validation.json"], cwd=work)
    log = (work / "logs/melt_quench/x1.00_seed7.log").read_text()
    assert "attempt 0:" in log and "attempt 1:" not in log
    assert read_structure(work / cell / "quenched.extxyz").info["md_attempt"] == 0
