import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def default_config():
    return copy.deepcopy(yaml.safe_load((ROOT / "config.yaml").read_text()))


@pytest.fixture
def alpha_quartz():
    """alpha-quartz, a = 4.913 A, c = 5.405 A (Si-O 1.604/1.613 A, Si-O-Si 143.7 deg).

    Si (0.4697, 0, 0), O (0.4135, 0.2669, 0.1191) of the usual description,
    shifted by 1/3 along c to ASE's setting of space group 152.
    """
    from ase.spacegroup import crystal

    return crystal(
        ["Si", "O"],
        basis=[(0.4697, 0.0, 1.0 / 3.0), (0.4135, 0.2669, 1.0 / 3.0 - 0.1191)],
        spacegroup=152,
        cellpar=[4.913, 4.913, 5.405, 90, 90, 120],
    )


@pytest.fixture
def diamond_si():
    from ase.build import bulk

    return bulk("Si", "diamond", a=5.431, cubic=True)
