from pathlib import Path

import pytest

from nnzoo.config import load_config

ROOT = Path(__file__).resolve().parents[2]
TUNE_CONFIG = ROOT / "configs" / "tune" / "mlp_digits.yaml"
TINY = ["train.epochs=2", "model.params.hidden_units=[16]", "train.callbacks.checkpoint=true"]


@pytest.fixture
def tiny_config():
    """The mlp_digits tune config, shrunk so a trial takes about a second."""

    def make(*overrides: str):
        return load_config(TUNE_CONFIG, [*TINY, *overrides])

    return make
