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
    """alpha-quartz, a = 4.913 A, c = 5.405 A (Si-O 1.604/1.613 A, Si-O-Si 143.7 deg)."""
    from siox_xanes.references import reference_crystal

    return reference_crystal("alpha_quartz")


@pytest.fixture
def diamond_si():
    from ase.build import bulk

    return bulk("Si", "diamond", a=5.431, cubic=True)
