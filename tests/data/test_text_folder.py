"""The user's own text (issue 12, item 4): a ``text_folder`` source and a ``csv`` text column.

- ``text_folder`` reads one example per ``.txt`` file, classes from the sorted sub-folders (or
  ``class_names``), split stratified; the tokenizer (word, wordpiece) is learned on the training
  split only (a word seen only in held-out files is not in the vocabulary).
- ``lstm`` trains on a text folder and ``bert_tiny`` on a CSV text column with ``wordpiece``,
  through the command line, well above chance (1/3), and ``predict`` classifies new text from
  ``.txt`` lines, a folder of ``.txt`` files and a CSV with the text column.
- Bad text data is one line naming the file (or the column) and a fix, exit 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from text_fixtures import TOPICS, write_text_csv, write_text_folder

from nnzoo.cli import cli
from nnzoo.data import load_data
from nnzoo.data.tokenizers import WordPieceTokenizer, tokenizer_from_json

ROOT = Path(__file__).resolve().parents[2]
CLASSES = sorted(TOPICS)  # cooking, space, sports


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_text_folder(tmp_path_factory.mktemp("text") / "topics")


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    return write_text_csv(tmp_path_factory.mktemp("csv") / "reviews.csv")


# --------------------------------------------------------------------------- loading


def test_text_folder_reads_a_file_per_example_and_splits_stratified(folder):
    splits = load_data("text_folder", params={"path": str(folder), "sequence_length": 24}, seed=0)
    assert splits.spec.class_names == CLASSES
    assert splits.spec.input_kind == "tokens"
    assert splits.spec.sequence_length == 24
    train, validation, test = splits.train, splits.validation, splits.test
    assert len(train[1]) + len(validation[1]) + len(test[1]) == 60  # 3 classes x 20 files
    assert np.bincount(test[1]).tolist() == [4, 4, 4]  # 20 % of each class
    assert sorted(train[0]) == ["padding_mask", "token_ids"]
    assert train[0]["token_ids"].shape == (len(train[1]), 24)
    tokenizer = tokenizer_from_json(splits.artifacts["tokenizer.json"])
    assert tokenizer.kind == "word"
    assert splits.spec.vocabulary_size == tokenizer.vocabulary_size


def test_class_names_order_the_classes_and_must_name_the_sub_folders(folder):
    order = ["sports", "cooking", "space"]
    params = {"path": str(folder), "class_names": order}
    splits = load_data("text_folder", params=params, seed=0)
    assert splits.spec.class_names == order
    from nnzoo.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_data("text_folder", params={**params, "class_names": ["sports", "cooking"]}, seed=0)
    assert str(info.value) == (
        f"data.params.class_names: class_names must name the sub-folders of {str(folder)!r} "
        "once each: sub-folders ['space'] are not in it. Fix: list the sub-folders in the "
        "order of their class ids: ['cooking', 'space', 'sports']"
    )


def test_bert_inputs_are_framed_with_cls_and_sep_and_carry_segment_ids(folder):
    params = {"path": str(folder), "sequence_length": 32, "segments": True}
    splits = load_data("text_folder", params=params, seed=0)
    x = splits.train[0]
    assert splits.spec.input_kind == "tokens_segments"
    assert (x["token_ids"][:, 0] == 2).all()  # [CLS]
    lengths = x["padding_mask"].sum(axis=1)
    assert (x["token_ids"][np.arange(len(lengths)), lengths - 1] == 3).all()  # [SEP]
    assert x["segment_ids"].shape == x["token_ids"].shape and not x["segment_ids"].any()


def test_wordpiece_vocabulary_is_learned_on_the_training_split_only(tmp_path):
    """Each file has its own word, 12 times: the words of training files are in the
    vocabulary, those of held-out files are not, unless one starts a training file's word (a
    sub-word learned on the way: "zqsports1" on the way to "zqsports10")."""
    root = write_text_folder(tmp_path / "marked", marker=True)
    params = {"path": str(root), "tokenizer": "wordpiece", "sequence_length": 200}
    splits = load_data("text_folder", params=params, seed=3)
    tokenizer = tokenizer_from_json(splits.artifacts["tokenizer.json"])
    assert isinstance(tokenizer, WordPieceTokenizer)
    vocabulary = set(tokenizer.vocabulary)

    def markers(part) -> set[str]:
        text = " ".join(tokenizer.decode(row) for row in part[0]["token_ids"])
        return set(re.findall(r"zq[a-z]+[0-9]+", text))

    trained, held_out = markers(splits.train), markers(splits.validation) | markers(splits.test)
    assert len(trained) == len(splits.train[1]) == 43
    assert len(held_out) == 17
    assert trained <= vocabulary
    unseen = {word for word in held_out if not any(t.startswith(word) for t in trained)}
    assert len(unseen) >= 10
    assert not unseen & vocabulary


def test_csv_text_column_by_name_or_index(reviews):
    by_name = load_data(
        "csv",
        params={"path": str(reviews), "text_column": "review", "label_column": "topic"},
        seed=0,
    )
    assert by_name.spec.class_names == CLASSES
    assert by_name.spec.input_kind == "tokens"
    assert by_name.spec.table == {
        "columns": ["id", "review", "stars", "topic"],
        "label_column": 3,
        "delimiter": ",",
        "text_column": 1,
        "width": 4,
    }
    by_index = load_data("csv", params={"path": str(reviews), "text_column": 1}, seed=0)
    assert by_index.spec.table == by_name.spec.table  # the header found, the label last
    assert (by_index.train[0]["token_ids"] == by_name.train[0]["token_ids"]).all()


def test_a_header_above_text_and_string_labels_is_found(tmp_path):
    """No numbers tell a header by; a first row whose label no other row has is the header."""
    rows = [
        f"{'good' if i % 2 else 'bad'} film {i},{'pos' if i % 2 else 'neg'}" for i in range(20)
    ]
    for first, header in (("text,label", ["text", "label"]), ("", None)):
        path = tmp_path / "t.csv"
        path.write_text("\n".join([first, *rows] if first else rows) + "\n")
        splits = load_data("csv", params={"path": str(path), "text_column": 0}, seed=0)
        assert splits.spec.class_names == ["neg", "pos"]
        assert splits.spec.table["columns"] == header


# --------------------------------------------------------------------------- end to end


def _train(tmp_path: Path, config: str, *sets: str) -> Path:
    args = ["train", str(ROOT / "configs" / config), "--runs-dir", str(tmp_path / "runs"), "-q"]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").glob("*/*/")
    return run_dir


def _predict(run_dir: Path, inputs: Path) -> tuple[list[list[str]], str]:
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(inputs)])
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()], result.stderr


NEW_TEXTS = [
    ("The team scored a late goal in the match.", "sports"),
    ("Bake the flour and sugar in the oven.", "cooking"),
    ("A rocket will launch to orbit the moon.", "space"),
    ("The referee and the coach of the league.", "sports"),
    ("Simmer the sauce with some spice.", "cooking"),
    ("An astronaut saw a comet through the telescope.", "space"),
]


@pytest.mark.slow
def test_lstm_trains_on_a_text_folder_and_predicts_new_text(folder, tmp_path):
    run_dir = _train(
        tmp_path,
        "text_folder_lstm.yaml",
        f"data.params.path={folder}",
        "data.params.sequence_length=32",
        "model.params.embedding_dim=16",
        "model.params.hidden_units=[16]",
        "train.epochs=4",
        "data.batch_size=8",
        "train.optimizer.learning_rate=0.01",
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.75  # chance is 1/3
    lines = tmp_path / "new.txt"
    lines.write_text("".join(text + "\n" for text, _ in NEW_TEXTS))
    rows, _ = _predict(run_dir, lines)
    assert [row[0] for row in rows] == [text[:40] for text, _ in NEW_TEXTS]
    predicted = [row[1] for row in rows]
    assert sum(p == t for p, (_, t) in zip(predicted, NEW_TEXTS)) >= 5, predicted
    # A folder of .txt files in class sub-folders: one example per file, scored.
    new_folder = write_text_folder(tmp_path / "new", per_class=4, seed=7)
    rows, stderr = _predict(run_dir, new_folder)
    assert len(rows) == 12
    assert rows[0][0] == str(new_folder / "cooking" / "00.txt")
    correct = sum(row[1] == Path(row[0]).parent.name for row in rows)
    assert f"accuracy: {correct / 12:.4f} ({correct} of 12 labelled examples)" in stderr
    assert correct >= 9
    # --output: the class names and their probabilities.
    out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(lines), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text().splitlines()
    assert written[0] == "input,class,probability,p_cooking,p_space,p_sports"
    assert [line.split(",")[1] for line in written[1:]] == predicted


def test_init_writes_valid_configs_for_the_text_sources(folder, reviews, tmp_path):
    cases = [
        ("lstm", "text_folder", [f"data.params.path={folder}"]),
        ("bert_tiny", "csv", [f"data.params.path={reviews}", "data.params.text_column=review"]),
    ]
    for model, source, sets in cases:
        args = ["init", model, "--data", source]
        for item in sets:
            args += ["--set", item]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        config = tmp_path / f"{model}.yaml"
        config.write_text(result.stdout)
        checked = CliRunner().invoke(cli, ["validate", str(config)])
        assert checked.exit_code == 0, checked.output
        assert f"ok ({model} on {source}" in checked.output


@pytest.mark.slow
def test_bert_tiny_trains_on_a_csv_text_column_with_wordpiece(reviews, tmp_path):
    run_dir = _train(
        tmp_path,
        "bert_tiny.yaml",
        "data.source=csv",
        f"data.params={{path: {reviews}, text_column: review, label_column: topic, "
        "tokenizer: wordpiece, vocabulary_size: 200, sequence_length: 24}",
        "train.epochs=4",
        "data.batch_size=16",
        "train.optimizer.learning_rate=0.002",
        "train.schedule={name: constant}",
        "train.jit_compile=false",
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.75  # chance is 1/3
    tokenizer = tokenizer_from_json((run_dir / "tokenizer.json").read_text())
    assert tokenizer.kind == "wordpiece" and tokenizer.vocabulary_size <= 200
    # A CSV of new texts: the text column found by its header name, in another position,
    # with the label column (the accuracy) and a column the model never saw.
    table = tmp_path / "new.csv"
    table.write_text("topic,note,review\n" + "".join(f'{t},x,"{text}"\n' for text, t in NEW_TEXTS))
    rows, stderr = _predict(run_dir, table)
    assert [row[0] for row in rows] == [f"new.csv[{i}]" for i in range(6)]
    correct = sum(row[1] == t for row, (_, t) in zip(rows, NEW_TEXTS))
    assert correct >= 5, rows
    assert f"accuracy: {correct / 6:.4f} ({correct} of 6 labelled examples)" in stderr
    lines = tmp_path / "new.txt"
    lines.write_text("".join(text + "\n" for text, _ in NEW_TEXTS))
    assert [row[1] for row in _predict(run_dir, lines)[0]] == [row[1] for row in rows]
    # A CSV without the text column: one line naming the columns it has.
    other = tmp_path / "other.csv"
    other.write_text("text,topic\nrocket launch,space\n")
    result = CliRunner().invoke(cli, ["predict", str(run_dir), str(other)])
    assert result.exit_code == 2
    assert result.output == (
        f"nnzoo: error: {other}: no column 'review' (columns: text, topic). Fix: give a "
        "','-separated CSV whose header names the text column 'review', as the training "
        "file's did\n"
    )


# --------------------------------------------------------------------------- bad inputs


def _files(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


GOOD = {f"{c}/{i}.txt": f"{c} text number {i}".encode() for c in ("a", "b") for i in range(3)}

# Each case: (source[:model], params, the line after "nnzoo: error: {config}: ") with {T} for
# tmp; the model is lstm unless named.
BAD_CASES = {
    "a non-UTF-8 file": lambda t: (
        "text_folder",
        {"path": _files(t / "f", {**GOOD, "b/x.txt": "one\ncafé".encode("latin-1")})},
        "data.params.path: {T}/f/b/x.txt line 2: not UTF-8 text (byte 0xe9 at character 4). "
        "Fix: save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in > out)",
    ),
    "an empty file": lambda t: (
        "text_folder",
        {"path": _files(t / "f", {**GOOD, "a/empty.txt": b" \n"})},
        "data.params.path: {T}/f/a/empty.txt is empty (no text). Fix: give each .txt file the "
        "text of one example, or remove the file",
    ),
    "no .txt files": lambda t: (
        "text_folder",
        {"path": _files(t / "f", {"a/x.md": b"hi", "b/y.csv": b"1"})},
        "data.params.path: no .txt files in class sub-folders of '{T}/f'. Fix: put the texts "
        "of each class in its own sub-folder: path/<class>/<name>.txt",
    ),
    "a class without .txt files": lambda t: (
        "text_folder",
        {"path": _files(t / "f", {**GOOD, "c/notes.md": b"hi"})},
        "data.params.path: class sub-folder 'c' of '{T}/f' has no .txt files. Fix: give every "
        "class some .txt files, or remove its sub-folder",
    ),
    "one class": lambda t: (
        "text_folder",
        {"path": _files(t / "f", {k: v for k, v in GOOD.items() if k.startswith("a/")})},
        "data.source: {T}/f has 1 class (every label is 'a'); a classifier needs two or more. "
        "Fix: give examples of at least two classes",
    ),
    "an unknown tokenizer": lambda t: (
        "text_folder",
        {"path": _files(t / "f", GOOD), "tokenizer": "bpe"},
        "data.params.tokenizer: must be one of byte, word, wordpiece. Received: tokenizer='bpe'",
    ),
    "an unknown text column": lambda t: (
        "csv",
        {
            "path": _files(t, {"r.csv": b"text,label\nhello,a\nbye,b\n"}) / "r.csv",
            "text_column": "review",
        },  # fmt: skip
        "data.params.text_column: no column 'review' (columns: text, label). Fix: name a "
        "column of the header, or give its index",
    ),
    "an empty text cell": lambda t: (
        "csv",
        {
            "path": _files(t, {"r.csv": b"text,label\nhello,a\n  ,b\n"}) / "r.csv",
            "text_column": "text",
        },  # fmt: skip
        "data.params.path: {T}/r.csv line 3: the text (column 'text') is empty. Fix: give every "
        "row a text, or remove the rows without one",
    ),
    "a NaN text cell": lambda t: (
        "csv",
        {
            "path": _files(t, {"r.csv": b"text,label\nhello,a\nNaN,b\n"}) / "r.csv",
            "text_column": "text",
        },  # fmt: skip
        "data.params.path: {T}/r.csv line 3: the text (column 'text') is 'NaN'. Fix: give every "
        "row a text, or remove the rows without one",
    ),
    "the text column is the label column": lambda t: (
        "csv",
        {
            "path": _files(t, {"r.csv": b"label,text\na,hello\nb,bye\n"}) / "r.csv",
            "text_column": "text",
        },  # fmt: skip
        "data.params.text_column: the text column and the label column are both column 'text'. "
        "Fix: set data.params.label_column to the column of the labels (the last by default)",
    ),
    "a tokenizer without a text column": lambda t: (
        "csv:mlp",
        {"path": _files(t, {"r.csv": b"x,label\n1,a\n2,b\n"}) / "r.csv", "tokenizer": "byte"},
        "data.params.tokenizer: applies to a text column, and data.params.text_column is not "
        "set. Received: tokenizer='byte'. Fix: set data.params.text_column to the column that "
        "holds the text",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_text_data_is_one_line_naming_the_file(case, tmp_path):
    source, params, expected = BAD_CASES[case](tmp_path)
    source, _, model = f"{source}:lstm".partition(":")
    model = model.split(":")[0]
    params = {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}
    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: bad\nmodel: {{name: {model}}}\ndata: {{source: {source}, params: {params!r}}}\n"
        "train: {epochs: 1}\n"
    )
    result = CliRunner().invoke(cli, ["train", str(config), "--runs-dir", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert (
        result.output
        == f"nnzoo: error: {config}: " + expected.replace("{T}", str(tmp_path)) + "\n"
    )
    assert not (tmp_path / "r").exists()


JAX_SCRIPT = """
import json, sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("TensorFlow is not installed (blocked by the test)")
sys.meta_path.insert(0, NoTensorFlow())
import nnzoo
from nnzoo.run.bind import load_config
folder, tokenizer, runs, new = sys.argv[1:]
config = load_config("configs/text_folder_lstm.yaml", [
    f"data.params={{path: {folder}, tokenizer: {tokenizer}, sequence_length: 16}}",
    "model.params={embedding_dim: 16, hidden_units: [16], bidirectional: false}",
    "train.epochs=4", "train.optimizer.learning_rate=0.01"])
run = nnzoo.train(config, runs_dir=runs, quiet=True)
rows = nnzoo.predict(run.run_dir, new)
print(json.dumps({"backend": run.metrics["backend"], "tf": "tensorflow" in sys.modules,
                  "accuracy": run.metrics["test"]["accuracy"],
                  "classes": [r["class"] for r in rows]}))
"""


@pytest.mark.slow
def test_jax_trains_and_predicts_with_a_wordpiece_tokenizer_without_tensorflow(folder, tmp_path):
    """A saved wordpiece tokenizer.json encodes without TensorFlow (Hugging Face
    tokenizers): training and predict on JAX with TensorFlow absent (as on the GPU machine)."""
    import os
    import subprocess
    import sys

    words = sorted({w for topic in TOPICS.values() for w in topic} | {"the", "a", "."})
    tokenizer = tmp_path / "tokenizer.json"
    WordPieceTokenizer([*words, "##s"]).save(str(tokenizer))
    new = tmp_path / "new.txt"
    new.write_text("".join(text + "\n" for text, _ in NEW_TEXTS))
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(folder), str(tokenizer), str(tmp_path), str(new)],
        capture_output=True,
        text=True,
        env=dict(os.environ, KERAS_BACKEND="jax"),
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (out["backend"], out["tf"]) == ("jax", False)
    assert out["accuracy"] >= 0.75
    assert sum(c == t for c, (_, t) in zip(out["classes"], NEW_TEXTS)) >= 5, out["classes"]
