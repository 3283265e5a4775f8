"""Lean trials: data loaded once per process, no model, plot, report or test metrics but the
best's."""

import json
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from nnzoo.errors import ConfigError
from nnzoo.run import bind
from nnzoo.run.bind import load_config
from nnzoo.run.split import read_split
from nnzoo.tuning import tune
from nnzoo.tuning._study import Objective, best_trial, data_key, leads

ARTIFACTS = ["curves.png", "model.keras", "report"]  # report/: the leading trial's
TUNE_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tune" / "mlp_digits.yaml"


def _trial_dirs(tmp_path):
    return sorted((tmp_path / "mlp_digits" / "tune" / "trials").iterdir())


def _counting(monkeypatch, target):
    """Count the calls of ``bind.prepare`` made through ``target`` (a module path)."""
    calls = []

    def counted(config):
        calls.append(config)
        return bind.prepare(config)

    monkeypatch.setattr(f"{target}.prepare", counted)
    return calls


@pytest.mark.slow
def test_only_the_best_trial_keeps_its_model_plot_and_test_metrics(
    tmp_path, tiny_config, monkeypatch
):
    loaded = _counting(monkeypatch, "nnzoo.tuning._study")
    by_trainer = _counting(monkeypatch, "nnzoo.training.trainer")
    result = tune(tiny_config("tune.pruner=none"), trials=3, runs_dir=tmp_path, quiet=True)
    assert (len(loaded), len(by_trainer)) == (1, 0)  # once per process, for every trial
    dirs = _trial_dirs(tmp_path)
    assert [d.name for d in dirs] == ["0000", "0001", "0002"]
    assert result.best_run == dirs[result.best_trial]
    for run in dirs:
        files = sorted(p.name for p in run.iterdir() if not p.name.startswith("."))
        metrics = json.loads((run / "metrics.json").read_text())
        lean = [
            "config.yaml",
            "data_spec.json",
            "history.csv",
            "metrics.json",
            "split.npz",
            "status.json",
        ]
        if run == result.best_run:
            assert files == sorted([*lean, *ARTIFACTS])
            # Its report.html, written before curves.png, has it too: confusion + curves.
            page = (run / "report" / "report.html").read_text(encoding="utf-8")
            assert page.count('src="data:image/png;base64,') == 2
            assert "<h2>Training curves</h2>" in page
            assert sorted(metrics["test"]) == ["accuracy", "loss"]
            assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
        else:
            assert files == lean  # no checkpoints either
            assert metrics["test"] == {}
        assert metrics["epochs"] == 2
        assert json.loads((run / "status.json").read_text())["state"] == "finished"
    # Every trial records the split it trained on: the study's one split, drawn as before.
    drawn = bind.prepare(tiny_config("tune.pruner=none"))[2].indices
    for run in dirs:
        recorded = read_split(run).indices
        assert {k: v.tolist() for k, v in recorded.items()} == {
            k: v.tolist() for k, v in drawn.items()
        }
    header = result.best_config.read_text().splitlines()[2]
    assert header == f"# its run (model.keras, metrics.json): {result.best_run}"


@pytest.mark.slow
def test_keep_artifacts_writes_every_trials_full_run(tmp_path, tiny_config):
    result = tune(
        tiny_config("tune.pruner=none"),
        trials=2,
        runs_dir=tmp_path,
        quiet=True,
        keep_artifacts=True,
    )
    for run in _trial_dirs(tmp_path):
        assert all((run / name).stat().st_size > 0 for name in ARTIFACTS)
        assert not (run / "checkpoints").exists()
        assert json.loads((run / "metrics.json").read_text())["test"]["accuracy"] >= 0.0
    assert result.best_run is not None and (result.best_run / "model.keras").is_file()


def test_the_data_is_loaded_again_only_when_a_data_key_changes_the_splits(
    tiny_config, monkeypatch
):
    loaded = _counting(monkeypatch, "nnzoo.tuning._study")
    objective = Objective(tiny_config(), settings=None)
    first = objective._splits(tiny_config())
    assert objective._splits(tiny_config("data.batch_size=64", "data.shuffle=false")) is first
    assert objective._splits(tiny_config("model.params.dropout=0.4")) is first
    assert len(loaded) == 1
    other = objective._splits(tiny_config("data.validation_split=0.2"))
    assert other is not first and len(loaded) == 2
    assert len(other.validation[0]) == 288 and len(first.validation[0]) == 144
    objective._splits(tiny_config("seed=7"))
    assert len(loaded) == 3
    # Two kept: the most recent ones; the first was dropped and loads again.
    objective._splits(tiny_config())
    assert len(loaded) == 4


@pytest.mark.slow
def test_a_trial_trains_as_its_config_alone_though_it_shares_data_and_pipelines(
    tmp_path, tiny_config, monkeypatch
):
    # Trials reuse the loaded splits and their tf.data pipelines and start after other models
    # in the same process; each must still learn exactly what `nnzoo train` of its own
    # config.yaml (a fresh load, fresh pipelines) learns.
    from nnzoo.data import pipeline
    from nnzoo.training import train

    made = []
    original = pipeline.make_dataset
    monkeypatch.setattr(
        pipeline, "make_dataset", lambda *a, **k: made.append(1) or original(*a, **k)
    )
    tune(tiny_config("tune.pruner=none"), trials=4, runs_dir=tmp_path / "study", quiet=True)
    study = optuna.load_study(
        study_name="mlp_digits", storage=f"sqlite:///{tmp_path}/study/mlp_digits/tune/study.db"
    )
    import keras

    # Three pipelines (train, validation, test) per batch size on TensorFlow, not per trial
    # (on JAX they are NumPy-backed and cost nothing to make).
    shared = keras.backend.backend() == "tensorflow"
    kinds = {t.params["data.batch_size"] for t in study.trials} if shared else study.trials
    assert len(made) == 3 * len(kinds)
    monkeypatch.setattr(pipeline, "make_dataset", original)
    trial_dirs = sorted((tmp_path / "study" / "mlp_digits" / "tune" / "trials").iterdir())
    assert len(trial_dirs) == 4
    for trial_dir in trial_dirs[1:]:
        alone = train(load_config(trial_dir / "config.yaml"), runs_dir=tmp_path, quiet=True)
        trial_rows = (trial_dir / "history.csv").read_text().splitlines()
        alone_rows = (alone.run_dir / "history.csv").read_text().splitlines()
        assert trial_rows[0] == alone_rows[0]
        for a, b in zip(trial_rows[1:], alone_rows[1:], strict=True):
            assert [float(v) for v in a.split(",")] == pytest.approx(
                [float(v) for v in b.split(",")], rel=1e-6, abs=1e-7
            ), trial_dir.name


def test_the_data_key_ignores_batching_and_a_preset_is_not_cached(tiny_config):
    base = data_key(tiny_config())
    assert data_key(tiny_config("data.batch_size=128", "data.cache=false")) == base
    assert data_key(tiny_config("data.test_split=0.3")) != base
    assert data_key(tiny_config("model.init_from=keras_hub:bert_tiny_en_uncased")) is None


def _frozen(number, value):
    return SimpleNamespace(number=number, value=value)


def test_the_best_trial_is_the_first_of_equal_values():
    trials = [_frozen(0, 0.9), _frozen(1, 0.95), _frozen(2, 0.95)]
    assert leads(trials[1], 0.95, trials, direction="maximize") is True
    assert leads(trials[2], 0.95, trials, direction="maximize") is False
    assert leads(trials[0], 0.9, trials, direction="minimize") is True
    study = optuna.create_study(direction="maximize")
    for value in (0.9, 0.95, 0.95, 0.5):
        study.tell(study.ask(), value)
    assert best_trial(study, "maximize").number == 1
    assert best_trial(study, "minimize").number == 3


@pytest.mark.parametrize("name", ["successive_halving", "hyperband"])
def test_the_new_pruners_validate(tiny_config, name):
    assert tiny_config(f"tune.pruner={name}").tune.pruner == name


def test_an_unknown_pruner_is_one_line_naming_tune_pruner(tiny_config):
    with pytest.raises(ConfigError) as err:
        tiny_config("tune.pruner=halving")
    assert str(err.value) == (
        "--set: tune.pruner: must be one of 'median', 'successive_halving', 'hyperband' or "
        "'none'; received 'halving'. Fix: use one of the listed values"
    )


def test_a_config_file_pruner_is_named_with_its_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(f"extends: {TUNE_CONFIG}\ntune:\n  pruner: asha\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}:3: tune.pruner: must be one of 'median', 'successive_halving', 'hyperband' or "
        "'none'; received 'asha'. Fix: use one of the listed values"
    )
