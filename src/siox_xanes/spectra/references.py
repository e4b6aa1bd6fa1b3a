"""Crystalline references computed with the same settings as the glasses."""

from __future__ import annotations

from ..layout import REFERENCES

# Si atoms in one unit cell of each (9-atom hexagonal quartz, 8-atom cubic diamond):
# the DAG counts the sites of a reference without building it.
SI_PER_UNIT_CELL = {"alpha_quartz": 3, "diamond_si": 8}


def reference_si_count(name: str, repeat) -> int:
    if name not in SI_PER_UNIT_CELL:
        raise ValueError(f"unknown reference '{name}', expected one of {REFERENCES}")
    n = SI_PER_UNIT_CELL[name]
    for k in repeat:
        n *= int(k)
    return n


# Settings a reference may set for itself (its cell is periodic and small, so it can afford
# converged k meshes); every other XANES setting is the config's, as for the glasses.
OWN_SETTINGS = ("scf_kpoints", "xspectra_kpoints")


def reference_settings(xanes: dict, name: str) -> dict:
    """The k meshes reference ``name`` is computed with: its own where it sets them, else the config's."""
    own = xanes["references"][name]
    return {k: own.get(k, xanes[k]) for k in OWN_SETTINGS}


def by_composition(block: dict, key: str, x: str):
    """``block[key]`` for the glass cells of composition ``x``: the entry of ``<key>_by_composition``
    that names ``x``, else the block's own value."""
    return (block.get(f"{key}_by_composition") or {}).get(x, block[key])


def glass_settings(xanes: dict, x: str) -> dict:
    """The k meshes the glass cells of composition ``x`` are computed with: the xspectra mesh of
    ``xanes.xspectra_kpoints_by_composition`` where it names ``x`` (a-Si's spectrum converges
    slowest in the k mesh, silica's fastest: bench/kmesh_convergence.py), else the config's."""
    return {"scf_kpoints": xanes["scf_kpoints"], "xspectra_kpoints": by_composition(xanes, "xspectra_kpoints", x)}


def reference_crystal(name: str, repeat=(1, 1, 1)):
    """alpha-quartz (9-atom hexagonal cell) or diamond Si (8-atom cubic cell), repeated; Si first."""
    from ase.build import bulk
    from ase.spacegroup import crystal

    if name == "alpha_quartz":
        # Si (0.4697, 0, 0), O (0.4135, 0.2669, 0.1191) of the usual description,
        # shifted by 1/3 along c to ASE's setting of space group 152.
        atoms = crystal(
            ["Si", "O"],
            basis=[(0.4697, 0.0, 1.0 / 3.0), (0.4135, 0.2669, 1.0 / 3.0 - 0.1191)],
            spacegroup=152,
            cellpar=[4.913, 4.913, 5.405, 90, 90, 120],
        )
    elif name == "diamond_si":
        atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    else:
        raise ValueError(f"unknown reference '{name}', expected one of {REFERENCES}")
    atoms = atoms.repeat(tuple(int(n) for n in repeat))
    order = sorted(range(len(atoms)), key=lambda i: atoms[i].symbol != "Si")
    atoms = atoms[order]
    atoms.info["reference"] = name
    return atoms
