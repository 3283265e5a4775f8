"""The command line: fast start-up, one-line errors with exit code 2, init -> train."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli

HEAVY = ("tensorflow", "keras", "optuna", "jax", "torch")


def run_cli(*args, env=None):
    code = (
        "import sys; from nnzoo.cli import cli\n"
        "try:\n    cli(prog_name='nnzoo', args=sys.argv[1:])\n"
        "except SystemExit as e:\n"
        f"    heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "    sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n'); raise\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list-models"],
        ["list-models", "vit_*", "--json"],
        ["validate", "configs/quickstart.yaml"],
        ["train", "--help"],
        ["list-sources"],
    ],
)
def test_light_commands_import_no_framework(args):
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr, proc.stderr


def test_list_models_json_is_the_catalog():
    result = CliRunner().invoke(cli, ["list-models", "--json"])
    cards = json.loads(result.output)
    assert [c["name"] for c in cards] == nnzoo.list_models()
    assert {"name", "family", "task", "input_kind", "defaults", "paper", "summary"} <= set(
        cards[0]
    )


def test_list_models_wildcard_and_family():
    result = CliRunner().invoke(cli, ["list-models", "mlp*", "--json"])
    assert [c["name"] for c in json.loads(result.output)] == ["mlp", "mlp_xor"]
    assert nnzoo.list_models(family="mlp") == ["mlp", "mlp_xor"]


def test_list_models_plain_word_matches_anywhere():
    assert nnzoo.list_models("resnet") == nnzoo.list_models(family="resnet")
    assert nnzoo.list_models("ResNet") == nnzoo.list_models("resnet*")
    assert nnzoo.list_models("tiny") == ["vit_tiny", "bert_tiny"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["resnt"],
            "no model matches pattern 'resnt'. Fix: did you mean resnet34, resnet18? "
            "run `nnzoo list-models` for the catalog",
        ),
        (
            ["--family", "resnt"],
            "--family: no family 'resnt' in the catalog. Fix: did you mean 'resnet'? choose one "
            "of: bert, cnn, ft_transformer, gpt, mlp, perceptron, recurrent, resnet, transformer, "
            "vgg, vit",
        ),
        (
            ["--task", "detection"],
            "--task: no task 'detection' in the catalog. Fix: choose one of: classification, "
            "language_modeling, masked_lm, regression",
        ),
        (
            ["vit_*", "--family", "resnet"],
            "no model matches pattern 'vit_*', family 'resnet'. Fix: 'vit_*' matches vit_b16, "
            "vit_small, vit_tiny without --family/--task; run `nnzoo list-models` for the catalog",
        ),
    ],
)
def test_list_models_that_match_nothing_say_why(args, message):
    result = CliRunner().invoke(cli, ["list-models", *args])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"nnzoo: error: {message}"]


def test_user_error_is_one_line_exit_2_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: {name: mlpp}\ndata: {source: digits}\n")
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("HEAVY=")]
    assert lines == [
        f"nnzoo: error: {bad}:2: model.name: unknown model 'mlpp'. Fix: did you mean 'mlp'?"
    ]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(tmp_path):
    proc = run_cli("--debug", "validate", str(tmp_path / "missing.yaml"))
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "ConfigError" in proc.stderr


def _too_big_here(name: str) -> bool:
    """Whether the memory check refuses ``name`` with Adam on this machine (gpt2_xl: 17 GiB)."""
    from nnzoo.memory import available_memory_bytes, estimate_memory_bytes
    from nnzoo.registry import get_card

    card = get_card(name)
    need = estimate_memory_bytes(card, card.defaults, optimizer_slots=2)
    free = available_memory_bytes()
    return need is not None and free is not None and need > free / 2


@pytest.mark.parametrize("name", nnzoo.list_models())
def test_init_prints_a_config_that_validates(name, tmp_path):
    result = CliRunner().invoke(cli, ["init", name])
    assert result.exit_code == 0, result.output
    path = tmp_path / "c.yaml"
    path.write_text(result.stdout)
    data = yaml.safe_load(result.stdout)
    if _too_big_here(name):  # written all the same, with a note; train and validate refuse
        assert result.stderr.startswith("nnzoo: note: this machine cannot train it: model ")
        validated = CliRunner().invoke(cli, ["validate", str(path)])
        assert validated.exit_code == 2
        assert f"model '{name}' would have " in validated.output
        assert "more than half of the" in validated.output
        return
    assert result.stderr == ""
    assert data["model"]["name"] == name
    validated = CliRunner().invoke(cli, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output
    assert validated.output.startswith(f"{path}: ok ({name} on ")


def test_init_refuses_to_overwrite(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("keep me")
    result = CliRunner().invoke(cli, ["init", "mlp", "-o", str(path)])
    assert result.exit_code == 2
    assert path.read_text() == "keep me"


def test_init_monitors_val_loss_with_a_patience_for_its_epochs():
    features = yaml.safe_load(CliRunner().invoke(cli, ["init", "mlp"]).output)
    images = yaml.safe_load(CliRunner().invoke(cli, ["init", "cnn_cifar"]).output)
    assert features["train"]["monitor"]["metric"] == "val_loss"
    assert (features["train"]["epochs"], images["train"]["epochs"]) == (20, 5)
    patience = [c["train"]["callbacks"]["early_stopping"]["patience"] for c in (features, images)]
    assert patience == [5, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["mlp", "--data", "shapes"],
            "--data: model 'mlp' takes features inputs but data source 'shapes' yields image. "
            "Fix: choose a source that yields features (see `nnzoo list-sources`)",
        ),
        (
            ["mlp", "--data", "csv"],
            "nnzoo init mlp --data csv: data.params.path: is required. Fix: nnzoo init mlp "
            "--data csv --set data.params.path=PATH (set data.params.path to the file to read)",
        ),
        (
            ["mlp", "--set", "train.epochs=3"],
            "--set: init sets only data source parameters. Received: --set train.epochs=3. "
            "Fix: use --set data.params.NAME=VALUE here; edit the written file for the rest",
        ),
    ],
)
def test_init_refuses_what_it_cannot_make_valid(args, message):
    result = CliRunner().invoke(cli, ["init", *args])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"nnzoo: error: {message}"]


def test_init_with_a_file_source_writes_what_validate_and_train_accept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = tmp_path / "t.csv"
    rows = [f"{i % 3},{(i * 7) % 5},{i % 2}" for i in range(40)]
    table.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(
        cli, ["init", "mlp", "--data", "csv", "--set", "data.params.path=t.csv"]
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output)["data"]["params"] == {"path": "t.csv"}
    (tmp_path / "c.yaml").write_text(result.output)
    assert CliRunner().invoke(cli, ["validate", "c.yaml"]).exit_code == 0
    table.unlink()  # validate and train refuse the missing file alike, before any work
    expected = (
        "nnzoo: error: c.yaml:20: data.params.path: file not found. Received: path='t.csv'. "
        f"Fix: give the path of an existing file (relative paths start at {tmp_path})"
    )
    for command in ("validate", "train"):
        result = CliRunner().invoke(cli, [command, "c.yaml"])
        assert (result.exit_code, result.output.strip()) == (2, expected), command
    assert not (tmp_path / "runs").exists()


def test_train_evaluate_predict_from_the_cli(tmp_path):
    runner = CliRunner()
    runs = tmp_path / "runs"
    result = runner.invoke(
        cli,
        [
            "train",
            "configs/quickstart.yaml",
            "--epochs",
            "3",
            "--runs-dir",
            str(runs),
            "-q",
            "--set",
            "train.schedule.name=constant",
            "--set",
            "model.params.hidden_units=[32]",
        ],
    )
    assert result.exit_code == 0, result.output
    run_dir = next((runs / "quickstart").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 3
    assert f"test accuracy: {metrics['test']['accuracy']:.4f}" in result.output
    assert metrics["test"]["accuracy"] > 0.8
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["model"]["params"]["input_shape"] == [64]
    assert resolved["model"]["params"]["num_classes"] == 10

    ev = runner.invoke(cli, ["evaluate", str(run_dir), "--json"])
    assert ev.exit_code == 0, ev.output
    assert json.loads(ev.output)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])

    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Raw digits rows (0..16): the model scales them itself.
    np.savetxt(tmp_path / "x.csv", digits.data[:5], delimiter=",")
    out = tmp_path / "p.json"
    pr = runner.invoke(cli, ["predict", str(run_dir), str(tmp_path / "x.csv"), "-o", str(out)])
    assert pr.exit_code == 0, pr.output
    rows = json.loads(out.read_text())
    assert len(rows) == 5
    assert set(rows[0]["probabilities"]) == {str(i) for i in range(10)}
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert sum(r["class"] == str(t) for r, t in zip(rows, digits.target[:5])) >= 4

    again = runner.invoke(cli, ["train", "--resume", str(run_dir)])
    assert again.exit_code == 0
    assert "already finished (3 epochs); nothing to do" in again.output


def test_describe_shows_card_count_and_summary():
    result = CliRunner().invoke(cli, ["describe", "mlp_xor"])
    assert result.exit_code == 0, result.output
    assert "parameters: 17 (17 trainable)" in result.output
    assert "input shape: (None, 2)" in result.output
    assert "family: mlp   task: classification   input: features" in result.output
    assert "dense1" in result.output  # the Keras summary
    bad = CliRunner().invoke(cli, ["describe", "mlp_xor", "--set", "hiden_units=[3]"])
    assert bad.exit_code == 2
    assert "--set.hiden_units: model 'mlp_xor' takes no parameter 'hiden_units'" in bad.output


def test_backend_flag_trains_on_jax(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnzoo.cli",
            "--backend",
            "jax",
            "train",
            "configs/quickstart.yaml",
            "--epochs",
            "6",
            "-q",
            "--runs-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads(next(tmp_path.glob("quickstart/*/metrics.json")).read_text())
    assert metrics["backend"] == "jax"
    assert metrics["test"]["accuracy"] > 0.9


def test_a_reader_that_goes_away_ends_the_output_quietly():
    """`nnzoo list-models | head -1`: no traceback when the pipe closes under us."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnzoo.cli", "list-models"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # before nnzoo writes its table
    stderr = proc.stderr.read()
    assert (proc.wait(timeout=60), stderr) == (1, "")
