"""What existed before still works: every shipped config validates, and a run directory written
by nnzoo 0.1 before the trainer split (no schema_version, no fingerprint) is evaluated,
predicted from and resumed by this version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import nnzoo
from nnzoo.errors import RunDirError
from nnzoo.run.bind import load_config
from nnzoo.run.directory import SCHEMA_VERSION, read_status
from nnzoo.training import resume

ROOT = Path(__file__).resolve().parents[1]
OLD_RUN = ROOT / "tests" / "fixtures" / "run_v1_mlp_xor"
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


def test_the_configs_folder_is_found():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_validates(path):
    config = load_config(path)
    assert config.source_file == str(path)
    assert config.model.name in nnzoo.list_models()


@pytest.fixture
def old_run(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(OLD_RUN, run_dir)
    return run_dir


def test_an_old_run_reads_as_schema_1_and_evaluates(old_run):
    assert "schema_version" not in json.loads((old_run / "status.json").read_text())
    assert read_status(old_run)["state"] == "finished"
    metrics = nnzoo.evaluate(old_run)
    saved = json.loads((old_run / "metrics.json").read_text())["test"]
    assert metrics["examples"] == 4
    assert metrics["accuracy"] == pytest.approx(saved["accuracy"])
    assert metrics["loss"] == pytest.approx(saved["loss"], abs=1e-6)


def test_an_old_run_predicts(old_run, tmp_path):
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    np.save(tmp_path / "x.npy", x)
    rows = nnzoo.predict(old_run, tmp_path / "x.npy")
    assert [r["input"] for r in rows] == [f"x.npy[{i}]" for i in range(4)]
    assert {r["class"] for r in rows} <= {"0", "1"}
    assert all(abs(sum(r["probabilities"].values()) - 1.0) < 1e-6 for r in rows)


def test_an_interrupted_old_run_resumes(old_run):
    """No fingerprint was kept then: the resume is allowed, with more epochs."""
    (old_run / "status.json").write_text('{"state": "running"}')
    (old_run / "model.keras").unlink()
    config = yaml.safe_load((old_run / "config.yaml").read_text())
    config["train"]["epochs"] = 5
    (old_run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = resume(old_run, quiet=True)
    assert result.metrics["epochs"] == 5
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]  # now from 1
    assert read_status(old_run)["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("source", ["digits", "csv", "wine"])
def test_an_old_run_whose_features_were_scaled_outside_its_model_is_refused(old_run, source):
    """Version-1 runs of these sources expect features scaled outside the model; this nnzoo
    feeds raw ones, so the answer would be silently wrong: refused in one line instead."""
    path = old_run / "config.yaml"
    path.write_text(path.read_text().replace("source: xor", f"source: {source}"))
    with pytest.raises(RunDirError) as err:
        nnzoo.evaluate(old_run)
    assert str(err.value) == (
        f"{old_run}: trained by an older nnzoo (run schema 1) that scaled the {source} "
        "features outside the model; this nnzoo feeds raw features, which that model would "
        f"misread. Fix: train it again (nnzoo train {old_run}/config.yaml)"
    )
