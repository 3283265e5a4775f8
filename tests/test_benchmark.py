"""`nnzoo benchmark`: the fields of a row, positive numbers, CSV appends, one-line errors.

Timings are never asserted: only that they are measured (positive, p90 >= median).
"""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from nnzoo.benchmark import FIELDS
from nnzoo.cli import cli

FAST = ["--steps", "3", "--warmup", "1"]


def _bench(*args):
    result = CliRunner().invoke(cli, ["benchmark", *args, *FAST, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _check_row(row, *, model, mode, batch_size, num_params):
    assert tuple(row) == FIELDS
    assert (row["model"], row["mode"], row["batch_size"]) == (model, mode, batch_size)
    assert (row["steps"], row["warmup"]) == (3, 1)
    assert row["num_params"] == num_params
    assert row["backend"] in ("tensorflow", "jax", "torch")
    assert isinstance(row["device"], str) and row["device"]
    for key in ("examples_per_s", "ms_per_step_median", "ms_per_step_p90", "peak_rss_mb"):
        assert isinstance(row[key], float) and row[key] > 0, (key, row[key])
    assert row["ms_per_step_p90"] >= row["ms_per_step_median"]
    # examples/s is the batch over the median step time (rounded to 3 decimals).
    expected = batch_size / (row["ms_per_step_median"] / 1000.0)
    assert row["examples_per_s"] == pytest.approx(expected, rel=1e-3)


def test_train_mode_on_a_features_entry():
    row = _bench("mlp_xor", "--batch-size", "8")
    _check_row(row, model="mlp_xor", mode="train", batch_size=8, num_params=17)
    assert (row["sequence_length"], row["tokens_per_s"]) == (None, None)
    assert row["source"] == "mlp_xor"


def test_infer_mode_on_an_image_entry_with_set():
    row = _bench("cnn_cifar", "--batch-size", "4", "--mode", "infer", "--set", "num_classes=5")
    # --set changes the model: the 10-class head on 512 features (5,130) becomes 2,565 wide.
    _check_row(row, model="cnn_cifar", mode="infer", batch_size=4, num_params=210602 - 2565)


def test_token_entry_reports_tokens_per_second():
    # Train mode: next-token targets with the padding positions ignored by the loss.
    row = _bench("gpt_nano", "--batch-size", "2", "--sequence-length", "16")
    _check_row(row, model="gpt_nano", mode="train", batch_size=2, num_params=842496)
    assert row["sequence_length"] == 16
    assert row["tokens_per_s"] == pytest.approx(row["examples_per_s"] * 16, rel=1e-4)


def test_config_uses_its_model_and_batch_size():
    row = _bench("configs/mlp_xor.yaml", "--mode", "infer")
    _check_row(row, model="mlp_xor", mode="infer", batch_size=4, num_params=17)
    assert row["source"] == "configs/mlp_xor.yaml"


def test_csv_appends_a_row_under_one_header(tmp_path):
    path = tmp_path / "bench.csv"
    for batch in ("2", "3"):
        result = CliRunner().invoke(
            cli,
            ["benchmark", "mlp_xor", "--batch-size", batch, "--mode", "infer", "--csv", str(path)]
            + FAST,
        )
        assert result.exit_code == 0, result.output
    with path.open() as f:
        lines = f.read().splitlines()
    assert len(lines) == 3
    assert lines[0] == ",".join(FIELDS)
    rows = list(csv.DictReader(lines))
    assert [(r["model"], r["batch_size"], r["mode"]) for r in rows] == [
        ("mlp_xor", "2", "infer"),
        ("mlp_xor", "3", "infer"),
    ]
    assert all(float(r["examples_per_s"]) > 0 for r in rows)
    assert [r["tokens_per_s"] for r in rows] == ["", ""]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mlpp"], "NAME: unknown model 'mlpp'. Fix: did you mean 'mlp'?"),
        (
            ["mlp_xor", "--mode", "eval"],
            "--mode: unknown mode 'eval'. Fix: use one of train, infer",
        ),
        (
            ["mlp_xor", "--batch-size", "0"],
            "--batch-size: the batch size must be at least 1. Received: batch_size=0. "
            "Fix: pass --batch-size 1 or more",
        ),
        (
            ["gpt_nano", "--sequence-length", "129"],
            "--sequence-length: the sequence length must be between 1 and "
            "max_sequence_length=128. Received: sequence_length=129. Fix: pass a length between "
            "1 and max_sequence_length=128, or raise it with --set max_sequence_length=N",
        ),
    ],
)
def test_mistakes_are_one_line_exit_2(args, message):
    result = CliRunner().invoke(cli, ["benchmark", *args, *FAST])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"nnzoo: error: {message}"]
