"""``text_corpus`` with ``path``: the user's own ``.txt`` files (a folder split by file, one
file split by lines) read as the standard library's are, fingerprinted, refused when missing or
not UTF-8; a gpt_nano trains on a folder from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.data import data_fingerprint, load_data
from nnzoo.data.text import _user_split, load_text_corpus
from nnzoo.data.tokenizers import tokenizer_from_json
from nnzoo.errors import ConfigError

WORDS = ["the", "river", "runs", "past", "a", "mill", "where", "miller", "grinds", "grain"]
#: Five files of 40 lines, each with a word of its own (which split a file went to shows in
#: the vocabulary); one in a sub-folder, and a hidden notebook checkpoint that is no data.
NAMES = ("alpha", "bravo", "charlie", "delta", "sub/echo")


def _write(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name in NAMES:
        own = Path(name).name + "word"
        lines = [" ".join([own, *rng.choice(WORDS, 9)]) for _ in range(40)]
        file = root / f"{name}.txt"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hidden = root / ".ipynb_checkpoints"
    hidden.mkdir()
    (hidden / "x.txt").write_text("hiddenword " * 500, encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path):
    return _write(tmp_path / "corpus")


def test_a_folder_is_split_by_file_and_its_hidden_entries_ignored(corpus):
    split = _user_split(str(corpus), 0, 2_000_000)
    files = {
        k: [p.relative_to(corpus).as_posix() for p in split[f"{k}_files"]]
        for k in ("train", "validation", "test")
    }
    assert {k: len(v) for k, v in files.items()} == {"train": 3, "validation": 1, "test": 1}
    assert sorted(sum(files.values(), [])) == sorted(f"{n}.txt" for n in NAMES)
    assert _user_split(str(corpus), 0, 2_000_000)["test_files"] == split["test_files"]


def test_a_folder_makes_windows_and_the_tokenizer_sees_training_files_only(corpus):
    data = load_text_corpus(seed=0, path=str(corpus), tokenizer="word", sequence_length=32)
    split = _user_split(str(corpus), 0, 2_000_000)
    assert data.x["token_ids"].shape == data.x["padding_mask"].shape == data.y.shape
    assert data.x["token_ids"].shape[1] == 32
    # Each file is 40 lines of 10 words and 9 spaces, and a newline per line: 800 word-level
    # tokens; a split's stream of n tokens makes ceil((n - 1) / 32) windows.
    assert data.y.shape == (75, 32)  # 3 files: 2400 tokens
    assert data.validation[1].shape == data.test[1].shape == (25, 32)
    tok = tokenizer_from_json(data.artifacts["tokenizer.json"])
    for name in ("train", "validation", "test"):
        for file in split[f"{name}_files"]:
            ids = tok.encode(file.stem + "word")
            assert (ids == [tok.unk_id]) == (name != "train"), (name, file)
    assert tok.encode("hiddenword") == [tok.unk_id]
    # The run's split is the source's own, as for the standard library.
    params = {"path": str(corpus), "tokenizer": "word", "sequence_length": 32}
    splits = load_data("text_corpus", params=params, seed=0)
    assert np.array_equal(splits.test[1], data.test[1])


def test_one_file_is_split_by_lines_in_contiguous_blocks(corpus):
    file = corpus / "alpha.txt"
    data = load_text_corpus(seed=0, path=str(file), sequence_length=16)
    split = _user_split(str(file), 0, 2_000_000)
    text = file.read_text(encoding="utf-8")
    assert "".join(split["train"] + split["validation"] + split["test"]) == text
    # Cut at the first line end at or after 80 % and 90 % of the characters.
    train, validation = split["train"][0], split["validation"][0]
    assert train.endswith("\n") and validation.endswith("\n")
    assert len(train) >= 0.8 * len(text) >= len(train) - len(train.splitlines()[-1]) - 1
    assert len(train) + len(validation) >= 0.9 * len(text)
    assert [t.count("\n") for n in ("train", "validation", "test") for t in split[n]] == [32, 5, 3]
    assert split["train_files"] == split["test_files"] == [file]
    # Byte tokens: a split of n characters (ASCII) makes ceil((n - 1) / 16) windows.
    sizes = [len(split[n][0]) for n in ("train", "validation", "test")]
    expected = [-(-(n - 1) // 16) for n in sizes]
    assert [data.y.shape[0], data.validation[1].shape[0], data.test[1].shape[0]] == expected
    assert data.y.shape[1] == 16


def test_the_fingerprint_covers_the_files_read(corpus):
    folder = data_fingerprint("text_corpus", {"path": str(corpus)})["files"]["path"]
    assert [e[0] for e in folder["entries"]] == sorted(f"{n}.txt" for n in NAMES)
    one = data_fingerprint("text_corpus", {"path": str(corpus / "alpha.txt")})["files"]["path"]
    assert one["name"] == "alpha.txt" and one["size"] == (corpus / "alpha.txt").stat().st_size
    # Without a path, the standard library's fingerprint is the parameters, as before.
    assert data_fingerprint("text_corpus", {"max_chars": 5000})["params"] == {"max_chars": 5000}


def test_a_file_that_is_not_utf8_is_refused_naming_it(corpus):
    bad = corpus / "alpha.txt"
    bad.write_bytes(b"fine line\ncaf\xe9 au lait\n" * 30)
    with pytest.raises(ConfigError) as err:
        load_text_corpus(seed=0, path=str(bad))
    assert err.value.message == f"{bad} line 2: not UTF-8 text (byte 0xe9 at character 4)"
    assert err.value.key == "data.params.path"
    with pytest.raises(ConfigError) as err:  # in a folder: whichever split it is dealt to
        load_text_corpus(seed=0, path=str(corpus))
    assert err.value.message == f"{bad} line 2: not UTF-8 text (byte 0xe9 at character 4)"


def test_a_missing_path_is_one_line_naming_the_parameter(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as err:
        load_text_corpus(seed=0, path=str(missing))
    assert err.value.key == "data.params.path"
    assert err.value.message == f"file or folder not found. Received: path={str(missing)!r}"
    assert "\n" not in str(err.value)


def test_a_folder_of_too_few_files_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("one\n" * 50, encoding="utf-8")
    (tmp_path / "b.txt").write_text("two\n" * 50, encoding="utf-8")
    with pytest.raises(ConfigError, match="2 .txt files in .* needs 3 or more"):
        load_text_corpus(seed=0, path=str(tmp_path))


def test_gpt_nano_trains_on_a_folder_from_the_cli(corpus, tmp_path):
    runs = tmp_path / "runs"
    small = {  # a one-layer gpt_nano on 32-token windows: a few seconds
        "data.params.path": corpus,
        "data.params.sequence_length": 32,
        "model.params.num_layers": 1,
        "model.params.hidden_dim": 32,
        "model.params.num_heads": 2,
        "model.params.intermediate_dim": 64,
    }
    sets = [arg for key, value in small.items() for arg in ("--set", f"{key}={value}")]
    args = ["train", "configs/gpt_nano_my_corpus.yaml", "--epochs", "1", "-q"]
    result = CliRunner().invoke(cli, [*args, "--runs-dir", str(runs), *sets])
    assert result.exit_code == 0, result.output
    run_dir = next((runs / "gpt_nano_my_corpus").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1
    assert np.isfinite(metrics["test"]["loss"])
    assert (run_dir / "tokenizer.json").exists()
