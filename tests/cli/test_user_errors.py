"""A user's mistake ends in one line: ``nnzoo: error: <where>: <what>. Fix: <how>``.

Each case below was once Click's four-line usage block, an "internal error ... report it", a
misleading line or a silent wrong answer (issue 27, items 5, 6, 7 and 12). Every case asserts
the exit code (2 for the user's input, 1 for the environment), the exact line on stderr, and
that no file that existed before the command changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnzoo.cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = FIXTURES.parents[1]

NPZ_CONFIG = {
    "name": "t",
    "model": {"name": "mlp", "params": {"hidden_units": [4]}},
    "data": {"source": "npz", "batch_size": 16, "validation_split": 0.25, "params": {}},
    "train": {"epochs": 1},
}


def _snapshot(root: Path) -> dict[str, str]:
    """Every regular file under ``root``: its content's hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _write_config(path: Path, **changes) -> Path:
    config = json.loads(json.dumps(NPZ_CONFIG))
    for key, value in changes.items():
        node = config
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    path.write_text(yaml.safe_dump(config))
    return path


def _line_of(path: Path, start: str) -> int:
    """The 1-based number of the first line of ``path`` that starts with ``start``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(start))


def _npz(path: Path, y: np.ndarray | None = None) -> Path:
    rng = np.random.default_rng(0)
    y = np.arange(64) % 2 if y is None else y
    np.savez(path, x=rng.normal(size=(64, 4)).astype("float32"), y=y)
    return path


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A folder to run in (relative paths start there), with a copy of a finished run."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES / "run_v1_mlp_xor", tmp_path / "run")
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x\n")
    _npz(tmp_path / "good.npz")
    _write_config(tmp_path / "good.yaml", **{"data.params.path": "good.npz"})
    return tmp_path


def _one_line(
    workspace: Path,
    args: list[str],
    env: dict[str, str] | None = None,
    *,
    may_change: tuple[str, ...] = (),
):
    """Run ``nnzoo ARGS`` in-process; return (exit code, stderr) having checked that no
    file that existed before changed (but those in ``may_change``)."""
    before = {k: v for k, v in _snapshot(workspace).items() if k not in may_change}
    result = CliRunner().invoke(cli, args, prog_name="nnzoo", env=env)
    after = _snapshot(workspace)
    assert {k: after.get(k) for k in before} == before, "a file that existed changed"
    assert "Traceback" not in result.output and "Usage:" not in result.stderr
    return result.exit_code, result.stderr


# ------------------------------------------------------------------ 6: usage errors, one line

USAGE_CASES = [
    (
        ["export", "run", "--format", "bogus"],
        "--format: 'bogus' is not one of 'saved_model', 'onnx', 'litert'. "
        "Fix: use one of saved_model, onnx, litert",
    ),
    (
        ["generate", "run", "--max-new-tokens", "0"],
        "--max-new-tokens: must be an integer >= 1 (received 0). Fix: see `nnzoo generate --help`",
    ),
    (
        ["generate", "run", "--top-k", "0"],
        "--top-k: must be an integer >= 1 (received 0). Fix: see `nnzoo generate --help`",
    ),
    (
        ["generate", "run", "--temperature", "-1"],
        "--temperature: must be a finite number >= 0 (received -1). "
        "Fix: see `nnzoo generate --help`",
    ),
    (
        ["generate", "run", "--seed", "-1"],
        "--seed: must be an integer >= 0 (received -1). Fix: see `nnzoo generate --help`",
    ),
    (
        ["predict", "run", "file.txt", "--batch-size", "0"],
        "--batch-size: must be an integer >= 1 (received 0). Fix: see `nnzoo predict --help`",
    ),
    (
        ["validate", "folder"],
        "CONFIG: 'folder' is a directory. Fix: give the path of a file, not of a folder",
    ),
    (
        ["train", "folder"],
        "CONFIG: 'folder' is a directory. Fix: give the path of a file, not of a folder",
    ),
    (
        ["benchmark", "mlp", "--csv", "folder"],
        "--csv: 'folder' is a directory. Fix: give the path of a file, not of a folder",
    ),
    (
        ["export", "run", "--output", "file.txt"],
        "--output: 'file.txt' is a file. "
        "Fix: give the path of a folder (a new one is created), not of a file",
    ),
    (
        ["evaluate", "file.txt"],
        "RUN_DIR: 'file.txt' is a file. Fix: give the path of a folder, not of a file",
    ),
    (
        ["--backend", "bogus", "list-models"],
        "--backend: 'bogus' is not one of 'tensorflow', 'jax', 'torch'. "
        "Fix: use one of tensorflow, jax, torch",
    ),
    (["list-models", "--bogus"], "No such option '--bogus'. Fix: see `nnzoo list-models --help`"),
    (["bogus"], "No such command 'bogus'. Fix: see `nnzoo --help`"),
    (["list-models", "--jsn"], "No such option '--jsn'. Fix: did you mean '--json'?"),
    (["list-modls"], "No such command 'list-modls'. Fix: did you mean 'list-models'?"),
    (["validate"], "Missing argument 'CONFIG'. Fix: see `nnzoo validate --help`"),
    (
        ["tune", "good.yaml", "--heartbeat", "nan"],
        "--heartbeat: must be a finite number >= 1 (received nan). Fix: see `nnzoo tune --help`",
    ),
]


@pytest.mark.parametrize(("args", "line"), USAGE_CASES, ids=[" ".join(a) for a, _ in USAGE_CASES])
def test_a_usage_error_is_one_house_line(workspace, args, line):
    code, stderr = _one_line(workspace, args)
    assert (code, stderr) == (2, f"nnzoo: error: {line}\n")


def test_a_misspelt_keras_backend_variable_is_the_environments_mistake(workspace):
    code, stderr = _one_line(workspace, ["list-models", "mlp"], env={"KERAS_BACKEND": "pytorchh"})
    assert (code, stderr) == (
        1,
        "nnzoo: error: KERAS_BACKEND='pytorchh' is not a Keras backend. Fix: set KERAS_BACKEND "
        "to one of tensorflow, jax, torch (or unset it), or pass --backend\n",
    )


# --------------------------------------------------- 5, 7, 12: config and data, named by key


def _config_case(workspace: Path, name: str) -> tuple[list[str], str]:
    """Write case ``name``'s inputs; return its command and the line it must print."""
    cwd = os.getcwd()
    if name == "seed negative":
        _write_config(workspace / "c.yaml", seed=-1, **{"data.params.path": "good.npz"})
        return ["validate", "c.yaml"], (
            f"c.yaml:{_line_of(workspace / 'c.yaml', 'seed:')}: seed: input should be greater "
            "than or equal to 0; received -1. "
            "Fix: change the value to fit that bound"
        )
    if name == "seed 2**32":
        _write_config(workspace / "c.yaml", seed=2**32, **{"data.params.path": "good.npz"})
        return ["validate", "c.yaml"], (
            f"c.yaml:{_line_of(workspace / 'c.yaml', 'seed:')}: seed: input should be less "
            "than 4294967296; received 4294967296. "
            "Fix: change the value to fit that bound"
        )
    if name == "extends 300 deep":
        for i in range(1, 301):
            (workspace / f"e{i}.yaml").write_text(
                f"extends: {'good' if i == 1 else f'e{i - 1}'}.yaml\n"
            )
        return ["validate", "e300.yaml"], (
            "e300.yaml: extends: the chain of `extends` is more than 64 files deep (it goes on "
            "at e236.yaml). Fix: extend "
            "a config that extends fewer others (merge the chain into fewer files)"
        )
    if name == "truncated npz":
        data = (workspace / "good.npz").read_bytes()
        (workspace / "cut.npz").write_bytes(data[: len(data) // 2])
        _write_config(workspace / "c.yaml", **{"data.params.path": "cut.npz"})
        return ["train", "c.yaml", "--runs-dir", "runs"], (
            "c.yaml: data.params.path: cannot read cut.npz: it is truncated or not an .npz (not "
            "a zip archive). Fix: write the file again with numpy.savez"
        )
    if name == "NaN npz label":
        y = (np.arange(64) % 2).astype("float32")
        y[3] = np.nan
        _npz(workspace / "nan.npz", y)
        _write_config(workspace / "c.yaml", **{"data.params.path": "nan.npz"})
        return ["train", "c.yaml", "--runs-dir", "runs"], (
            "c.yaml: data.params.y_key: nan.npz array 'y' has a missing label (NaN or infinity) "
            "in row 3. Fix: give every example a label, or drop the unlabelled rows"
        )
    if name in ("FIFO as path", "/dev/zero as path"):
        path = "/dev/zero"
        if name == "FIFO as path":
            path = "pipe.npz"
            os.mkfifo(workspace / path)
        _write_config(workspace / "c.yaml", **{"data.params.path": path})
        return ["validate", "c.yaml"], (
            f"c.yaml:{_line_of(workspace / 'c.yaml', 'path:')}: data.params.path: not a regular "
            "file (a pipe, device or socket). "
            f"Received: path='{path}'. Fix: give the path of an existing regular file "
            f"(relative paths start at {cwd})"
        )
    if name == "image_size 100000":
        (workspace / "images" / "a").mkdir(parents=True)
        config = {
            "name": "img",
            "model": {"name": "cnn_cifar"},
            "data": {
                "source": "image_folder",
                "batch_size": 16,
                "params": {"path": "images", "image_size": 100000},
            },
        }
        (workspace / "c.yaml").write_text(yaml.safe_dump(config))
        line = _line_of(workspace / "c.yaml", "image_size:")
        return [
            "validate",
            "c.yaml",
        ], f"c.yaml:{line}: data.params.image_size: a batch of 16 images"
    if name == "tune.space key":
        config = yaml.safe_load((ROOT / "configs/tune/mlp_digits.yaml").read_text())
        config["extends"] = str(ROOT / "configs/quickstart.yaml")
        config["tune"]["space"] = {"train.optimizer.learning_rate": {"flot": [0.1, 0.2]}}
        (workspace / "c.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        line = (
            (workspace / "c.yaml")
            .read_text()
            .splitlines()
            .index("    train.optimizer.learning_rate:")
        )
        return ["validate", "c.yaml"], (
            f"c.yaml:{line + 2}: tune.space.train.optimizer.learning_rate.flot: unknown key. "
            "Fix: did you mean 'float'?"
        )
    if name == "empty study name":  # once the config's own study, silently
        return ["tune", str(ROOT / "configs/tune/mlp_digits.yaml"), "--study", ""], (
            "--study: a study name is a folder name under --runs-dir (letters, digits, '_', '.', "
            "'-', starting with a letter or digit); received ''. Fix: e.g. --study mlp_digits_2"
        )
    raise AssertionError(name)


CONFIG_CASES = [
    "seed negative",
    "seed 2**32",
    "extends 300 deep",
    "truncated npz",
    "NaN npz label",
    "FIFO as path",
    "/dev/zero as path",
    "image_size 100000",
    "tune.space key",
    "empty study name",
]


@pytest.mark.parametrize("name", CONFIG_CASES)
def test_a_config_or_data_mistake_is_one_line_naming_its_key(workspace, name):
    args, line = _config_case(workspace, name)
    code, stderr = _one_line(workspace, args)
    assert code == 2, stderr
    assert stderr.startswith(f"nnzoo: error: {line}") and stderr.count("\n") == 1, stderr
    if name == "image_size 100000":  # refused at validate, before anything is allocated
        assert "Received: image_size=100000. Fix: use a smaller data.params.image_size" in stderr
    else:
        assert stderr == f"nnzoo: error: {line}\n"


# ------------------------------------------------------------------ 5: damaged run directories


def test_a_torn_resume_state_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES / "run_v2_interrupted_mlp", tmp_path / "run")
    (tmp_path / "run/checkpoints/state.json").write_text('{"epoch": 3, ')
    code, stderr = _one_line(
        tmp_path, ["train", "--resume", "run"], may_change=("run/status.json",)
    )
    line = (
        "run/checkpoints/state.json: not valid resume state at line 1, so this run cannot "
        "resume. Fix: copy the whole run directory again, or start a new run with nnzoo train "
        "CONFIG"
    )
    assert (code, stderr) == (2, f"nnzoo: error: {line}\n")
    status = json.loads((tmp_path / "run/status.json").read_text())
    assert (status["state"], status["reason"]) == ("failed", line)


def test_class_names_fewer_than_the_outputs_name_the_spec(workspace):
    spec_file = workspace / "run/data_spec.json"
    spec = json.loads(spec_file.read_text())
    spec_file.write_text(json.dumps({**spec, "class_names": ["0"]}))
    (workspace / "in.csv").write_text("a,b\n0,0\n1,0\n")
    code, stderr = _one_line(workspace, ["predict", "run", "in.csv"])
    assert (code, stderr) == (
        2,
        "nnzoo: error: run/data_spec.json: names 1 classes but the model predicts 2 (its output "
        "has width 1). Fix: copy the whole run directory again (data_spec.json and model.keras "
        "must come from the same run)\n",
    )


@pytest.mark.parametrize(
    ("text", "what"),
    [('{"kind": "byte", "conf', "not valid JSON at line 1"), ("[]", "not a tokenizer")],
)
def test_a_damaged_tokenizer_json_names_the_file(tmp_path, text, what):
    from nnzoo.data.tokenizers import load_tokenizer
    from nnzoo.errors import RunDirError

    path = tmp_path / "tokenizer.json"
    path.write_text(text)
    with pytest.raises(RunDirError) as err:
        load_tokenizer(str(path))
    assert err.value.one_line() == (
        f"{path}: {what}, so it is damaged. Fix: copy the whole run directory (or the "
        "tokenizer.json) again"
    )


# ------------------------------------------------------------------------- 12: images, tuning


def test_a_16_bit_png_is_scaled_by_its_depth_in_rgb_as_in_grayscale(tmp_path):
    from PIL import Image

    from nnzoo.data import decode_image

    wide = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    Image.fromarray(wide).save(tmp_path / "wide.png")
    rgb = decode_image(tmp_path / "wide.png", (32, 32), "rgb")
    gray = decode_image(tmp_path / "wide.png", (32, 32), "grayscale")
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.uint8
    expected = np.rint(wide / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(rgb[..., 0], expected)  # not 255 everywhere
    np.testing.assert_array_equal(gray[..., 0], expected)
    assert (rgb == 255).mean() < 0.01


def test_an_image_over_the_decompression_bomb_limit_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    from nnzoo.data import decode_image
    from nnzoo.errors import ConfigError

    Image.new("RGB", (50, 50)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ConfigError) as err:
        decode_image(tmp_path / "big.png", (8, 8), "rgb")
    assert err.value.one_line() == (
        f"data.params.path: {tmp_path / 'big.png'}: an image of more than 2000 pixels, over "
        "Pillow's decompression-bomb limit. Fix: shrink the image, or remove it"
    )


def test_workers_creating_one_new_sqlite_study_at_once_do_not_race(tmp_path, monkeypatch):
    """The loser of the race to create the tables sees "already exists": it opens them."""
    import optuna
    import sqlalchemy.exc

    from nnzoo.tuning import _storage

    calls = []

    class Racing(optuna.storages.RDBStorage):
        def __init__(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:  # another worker created the tables in between
                raise sqlalchemy.exc.OperationalError(
                    "CREATE TABLE study_directions",
                    {},
                    Exception("table study_directions already exists"),
                )
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", Racing)
    spec = _storage.StorageSpec(url=f"sqlite:///{tmp_path}/study.db", kind="rdb")
    storage = _storage.open_storage(spec)
    study = optuna.create_study(storage=storage, study_name="s")
    assert len(calls) == 2 and study.study_name == "s"


def test_duplicates_that_empty_the_validation_split_are_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for label, words in (("neg", "bad awful"), ("pos", "good great")):
        (tmp_path / "texts" / label).mkdir(parents=True)
        for i in range(30):
            text = words if i % 10 else words + " fine"
            (tmp_path / "texts" / label / f"{i}.txt").write_text(text)
    config = {
        "name": "txt",
        "model": {"name": "lstm"},
        "data": {
            "source": "text_folder",
            "batch_size": 8,
            "validation_split": 0.2,
            "params": {"path": "texts"},
        },
        "train": {"epochs": 1, "monitor": {"metric": "val_loss", "mode": "min"}},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    code, stderr = _one_line(tmp_path, ["train", "c.yaml", "--runs-dir", "runs"])
    assert (code, stderr) == (
        2,
        "nnzoo: error: c.yaml: train.monitor.metric: the run will not log 'val_loss': the "
        "validation split is empty, its 10 example(s) were dropped as duplicates of training "
        "examples. Fix: give more distinct examples, or monitor one of: loss, accuracy\n",
    )


def test_tuning_says_duplicates_emptied_the_validation_split():
    from nnzoo.errors import ConfigError
    from nnzoo.tuning._pruning import PruningCallback

    callback = PruningCallback(None, "val_accuracy", file="t.yaml", duplicates_dropped=10)
    with pytest.raises(ConfigError) as err:
        callback.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.5})
    assert err.value.one_line() == (
        "t.yaml: tune.metric: the metric 'val_accuracy' is not in the training logs (logged: "
        "accuracy, loss); the validation split is empty, its 10 example(s) were dropped as "
        "duplicates of training examples. Fix: give more distinct examples, or set tune.metric "
        "to one of: accuracy, loss"
    )
