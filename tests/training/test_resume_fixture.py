"""A run interrupted by an earlier nnzoo still resumes to the end.

``tests/fixtures/run_v2_interrupted_mlp`` is a schema-2 run stopped by a Ctrl-C after epoch 1
of 3 (see its README and ``scripts/make_resume_fixture.py``). Every later issue adds config keys
(``train.ema``, ``train.track``, ``data.params.missing``, ...) that its ``fingerprint.json``
lacks: such a key is accepted at its schema default, and any changed value is refused as before.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.config import Config
from nnzoo.data import load_data
from nnzoo.errors import ConfigError
from nnzoo.run.directory import (
    FINGERPRINT_FILE,
    check_fingerprint,
    load_run_config,
    read_history,
    read_status,
    write_fingerprint,
)
from nnzoo.training import resume

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run_v2_interrupted_mlp"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A copy of the interrupted run, to resume."""
    path = tmp_path / "run"
    shutil.copytree(FIXTURE, path)
    return path


def edit_fingerprint(run_dir: Path, **changes: object) -> None:
    """Set keys of the run's ``fingerprint.json`` (``None``: remove the key)."""
    path = run_dir / FINGERPRINT_FILE
    started = json.loads(path.read_text())
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            del started[key]
        else:
            started[key] = value
    path.write_text(json.dumps(started, indent=2))


def refusal(run_dir: Path, key: str, change: str) -> str:
    """The one line a resume that changed ``key`` is refused with (``change``: ``a -> b``)."""
    return (
        f"{run_dir}/config.yaml: {key}: changed since the run started ({change}); a resume "
        "continues the same run and may change only train.epochs, "
        f"train.checkpoint_every_seconds. Fix: restore it, or start a new run from this one "
        f"with --set model.init_from={run_dir}"
    )


def test_the_fixture_is_an_interrupted_schema_2_run():
    status = read_status(FIXTURE)
    assert (status["state"], status["schema_version"]) == ("interrupted", 2)
    state = json.loads((FIXTURE / "checkpoints" / "state.json").read_text())
    assert state["epochs_completed"] == 1
    assert (FIXTURE / FINGERPRINT_FILE).is_file()
    assert [r["epoch"] for r in read_history(FIXTURE)] == [1]
    assert not (FIXTURE / "model.keras").exists()
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    assert size < 1_000_000


def test_nnzoo_train_resume_finishes_the_interrupted_run(run_dir, tmp_path):
    result = CliRunner().invoke(cli, ["train", "--resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert read_status(run_dir)["state"] == "finished"
    assert [r["epoch"] for r in read_history(run_dir)] == [1, 2, 3]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 3
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    # The resume state and the fingerprint it was checked against go with the finished run.
    assert not (run_dir / "checkpoints").exists()
    assert (run_dir / ".lock").is_file()  # an flock file stays (see the trainer)

    # model.keras predicts the test split as metrics.json says it did.
    x, y = load_data("digits", seed=42).test
    np.save(tmp_path / "x.npy", x)
    rows = nnzoo.predict(run_dir, tmp_path / "x.npy")
    assert len(rows) == len(y)
    assert all(abs(sum(r["probabilities"].values()) - 1.0) < 1e-5 for r in rows)
    accuracy = np.mean([int(r["class"]) == label for r, label in zip(rows, y)])
    assert accuracy == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)


def test_a_key_added_to_the_schema_later_is_accepted_at_its_default(run_dir):
    """The run started before ``train.precise_bn`` existed: its config.yaml, without the key,
    resolves it to its default now, which the resume accepts."""
    edit_fingerprint(run_dir, train__precise_bn=None)
    result = resume(run_dir, quiet=True)
    assert result.metrics["epochs"] == 3
    assert read_status(run_dir)["state"] == "finished"


def test_a_key_added_later_but_set_off_its_default_is_refused(run_dir):
    edit_fingerprint(run_dir, train__precise_bn=None)
    path = run_dir / "config.yaml"
    path.write_text(path.read_text().replace("precise_bn: auto", "precise_bn: true"))
    with pytest.raises(ConfigError) as err:
        resume(run_dir, quiet=True)
    assert str(err.value) == refusal(run_dir, "train.precise_bn", "None -> True")
    assert read_status(run_dir)["state"] == "interrupted"


def test_a_changed_value_is_refused_as_before(run_dir):
    edit_fingerprint(run_dir, model__params__hidden_units=[8])
    history = (run_dir / "history.csv").read_text()
    with pytest.raises(ConfigError) as err:
        resume(run_dir, quiet=True)
    assert str(err.value) == refusal(run_dir, "model.params.hidden_units", "[8] -> [16]")
    assert (run_dir / "history.csv").read_text() == history  # nothing touched


def test_a_model_parameter_the_run_did_not_have_is_refused(run_dir):
    """``model.params`` is free-form: a key there has no schema default, only "absent"."""
    edit_fingerprint(run_dir, model__params__feature_normalization=None)
    with pytest.raises(ConfigError) as err:
        check_fingerprint(run_dir, load_run_config(run_dir))
    assert str(err.value) == refusal(run_dir, "model.params.feature_normalization", "None -> True")


def test_a_section_added_later_is_compared_with_its_parents_default(run_dir):
    """Absent, ``train.callbacks.early_stopping`` is what ``train.callbacks``'s default holds
    (``enabled: false``), not what its own class defaults to: this run stops early (patience
    8), so had the section come later, it would differ from its default."""
    keys = [k for k in json.loads((run_dir / FINGERPRINT_FILE).read_text()) if "early_" in k]
    edit_fingerprint(run_dir, **{k.replace(".", "__"): None for k in keys})
    with pytest.raises(ConfigError) as err:
        check_fingerprint(run_dir, load_run_config(run_dir))
    assert str(err.value).startswith(
        f"{run_dir}/config.yaml: train.callbacks.early_stopping.enabled: changed since the run "
        "started (None -> True); also train.callbacks.early_stopping.patience; "
    )


def test_every_default_is_accepted_against_a_run_that_knew_only_the_required_keys(tmp_path):
    config = Config(name="x", model={"name": "mlp"}, data={"source": "xor"})
    write_fingerprint(tmp_path, config)
    (tmp_path / FINGERPRINT_FILE).write_text(
        json.dumps({"seed": 42, "model.name": "mlp", "data.source": "xor"})
    )
    check_fingerprint(tmp_path, config)
    config.train.optimizer.learning_rate = 0.5
    with pytest.raises(ConfigError, match=r"train\.optimizer\.learning_rate: changed"):
        check_fingerprint(tmp_path, config)


def test_a_key_the_schema_no_longer_has_is_accepted_with_a_log_line(run_dir, caplog):
    edit_fingerprint(run_dir, train__retired_option=7)
    with caplog.at_level(logging.INFO, logger="nnzoo.run.directory"):
        check_fingerprint(run_dir, load_run_config(run_dir))
    assert "train.retired_option=7 is no longer a config key; ignored" in caplog.text
