"""tune.space -> Optuna suggestions -> a trial's config; grid."""

import optuna
import pytest

from nnzoo.config.schema import SpaceParam
from nnzoo.errors import ConfigError
from nnzoo.tuning import _space


def _param(**kw):
    return SpaceParam.model_validate(kw)


def test_suggest_uses_each_kind_and_decodes_list_choices():
    space = {
        "train.optimizer.learning_rate": _param(float=[1e-5, 1e-1], log=True),
        "train.epochs": _param(int=[2, 10], step=4),
        "model.params.hidden_units": _param(choice=[[64, 32], [128]]),
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        values = _space.suggest(study.ask(), space)
        assert 1e-5 <= values["train.optimizer.learning_rate"] <= 1e-1
        assert values["train.epochs"] in (2, 6, 10)
        assert values["model.params.hidden_units"] in ([64, 32], [128])


def test_baseline_is_the_configs_own_values(tiny_config):
    config = tiny_config()
    assert _space.baseline(config) == {
        "train.optimizer.learning_rate": 0.002,
        "data.batch_size": 32,
        "model.params.dropout": 0.2,
    }
    # A value outside the space is left to the sampler, not enqueued.
    assert "data.batch_size" not in _space.baseline(tiny_config("data.batch_size=48"))


def test_apply_sets_dotted_keys_on_a_validated_copy(tiny_config):
    config = tiny_config()
    out = _space.apply(config, {"data.batch_size": 64, "model.params.dropout": 0.3})
    assert (out.data.batch_size, out.model.params["dropout"]) == (64, 0.3)
    assert config.data.batch_size == 32  # the base config is untouched
    with pytest.raises(ConfigError, match="data.batch_size"):
        _space.apply(config, {"data.batch_size": 0})


def test_grid_lists_every_point_and_rejects_continuous_ranges():
    grid = _space.grid({"a.b": _param(int=[1, 3]), "c.d": _param(float=[0.1, 0.3], step=0.1)})
    assert grid == {"a.b": [1, 2, 3], "c.d": [0.1, 0.2, 0.3]}
    with pytest.raises(ConfigError, match="tune.space.c.d: the grid sampler needs a finite"):
        _space.grid({"c.d": _param(float=[0.1, 0.3])})
