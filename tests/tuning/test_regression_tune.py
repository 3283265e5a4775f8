"""Tuning a regression (issue 26, item 4): ``val_r2`` is maximised, ``val_rmse`` minimised,
and the best trial is the one with the best value in that direction."""

from __future__ import annotations

import pytest

from nnzoo.run.bind import config_from_dict
from nnzoo.tuning import tune


def _config(metric: str):
    return config_from_dict(
        {
            "name": "diabetes_tune",
            "model": {"name": "mlp", "params": {"hidden_units": [8]}},
            "data": {"source": "diabetes", "batch_size": 64},
            "train": {"epochs": 2, "monitor": {"metric": metric}},
            "tune": {
                "trials": 2,
                "pruner": "none",
                "space": {
                    "train.optimizer.learning_rate": {"float": [1.0e-4, 3.0e-2], "log": True}
                },
            },
        }
    )


@pytest.mark.parametrize(("metric", "direction", "best"), [("val_r2", "maximize", max)])
def test_a_regression_study_optimises_the_metric_in_its_direction(
    tmp_path, metric, direction, best
):
    import optuna

    result = tune(_config(metric), runs_dir=tmp_path, quiet=True)
    assert (result.metric, result.direction, result.finished) == (metric, direction, 2)
    study = optuna.load_study(
        study_name=result.study_name,
        storage=f"sqlite:///{tmp_path}/diabetes_tune/tune/study.db",
    )
    assert study.direction.name.lower() == direction
    values = [t.value for t in study.trials if t.value is not None]
    assert result.best_value == pytest.approx(best(values))


def test_rmse_and_mae_are_minimised():
    from nnzoo.tuning._settings import resolve_settings

    for metric, direction in (
        ("val_rmse", "minimize"),
        ("val_mae", "minimize"),
        ("val_r2", "maximize"),
    ):
        settings = resolve_settings(
            _config(metric),
            trials=None,
            storage=None,
            study=None,
            workers=None,
            timeout=None,
            max_failures=None,
            runs_dir="runs",
            heartbeat=60.0,
        )
        assert settings.direction == direction, metric
