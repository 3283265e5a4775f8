"""Each schedule gives the expected learning rate at given steps (10 steps per epoch)."""

from __future__ import annotations

import math

import pytest

from nnzoo.config.schema import OptimizerConfig, ScheduleConfig
from nnzoo.training.optimizers import build_optimizer, learning_rate_at

SPE = 10  # steps per epoch


def lr_at(schedule: dict, step: int, *, epochs: int = 10, lr: float = 0.1) -> float:
    opt = build_optimizer(
        OptimizerConfig(name="sgd", learning_rate=lr),
        ScheduleConfig(**schedule),
        steps_per_epoch=SPE,
        epochs=epochs,
    )
    return learning_rate_at(opt, step)


def test_constant():
    assert lr_at({"name": "constant"}, 0) == pytest.approx(0.1)
    assert lr_at({"name": "constant"}, 95) == pytest.approx(0.1)


def test_step_decays_by_factor_every_step_epochs():
    s = {"name": "step", "step_epochs": 3, "factor": 0.5}
    assert lr_at(s, 29) == pytest.approx(0.1)
    assert lr_at(s, 30) == pytest.approx(0.05)
    assert lr_at(s, 65) == pytest.approx(0.025)


def test_exponential_decays_per_epoch():
    s = {"name": "exponential", "factor": 0.9}
    assert lr_at(s, 20) == pytest.approx(0.1 * 0.9**2, rel=1e-5)
    assert lr_at(s, 15) == pytest.approx(0.1 * 0.9**1.5, rel=1e-5)


def test_cosine_with_warmup():
    s = {"name": "cosine", "warmup_epochs": 2}
    assert lr_at(s, 0) == pytest.approx(0.0, abs=1e-7)
    assert lr_at(s, 10) == pytest.approx(0.05, rel=1e-5)  # half-way up the warm-up
    assert lr_at(s, 20) == pytest.approx(0.1, rel=1e-5)  # peak
    # cosine over the remaining 80 steps: at 60 it is half-way down
    assert lr_at(s, 60) == pytest.approx(0.05, rel=1e-4)
    assert lr_at(s, 100) == pytest.approx(0.0, abs=1e-6)


def test_cosine_floor():
    s = {"name": "cosine", "min_learning_rate": 0.01}
    assert lr_at(s, 100) == pytest.approx(0.01, rel=1e-4)


def test_seed_schedule_constant_then_exp():
    """The seed: keep lr for 10 epochs, then multiply by exp(-0.1) each epoch."""
    s = {"name": "constant_then_exp", "hold_epochs": 10, "decay": 0.1}
    assert lr_at(s, 99, epochs=20) == pytest.approx(0.1)
    assert lr_at(s, 100, epochs=20) == pytest.approx(0.1 * math.exp(-0.1), rel=1e-5)
    assert lr_at(s, 125, epochs=20) == pytest.approx(0.1 * math.exp(-0.3), rel=1e-5)


def test_optimizers_and_clipping():
    for name in ("adam", "adamw", "sgd", "rmsprop"):
        opt = build_optimizer(
            OptimizerConfig(
                name=name,
                learning_rate=0.01,
                clipnorm=1.0,
                momentum=0.9 if name in ("sgd", "rmsprop") else 0.0,
            ),
            ScheduleConfig(),
            steps_per_epoch=SPE,
            epochs=1,
        )
        assert type(opt).__name__.lower() == name
        assert opt.clipnorm == 1.0
    sgd = build_optimizer(
        OptimizerConfig(name="sgd", momentum=0.9, nesterov=True),
        ScheduleConfig(),
        steps_per_epoch=1,
        epochs=1,
    )
    assert (sgd.momentum, sgd.nesterov) == (0.9, True)
