"""``nnzoo compare RUN RUN… [--output DIR]`` writes, into a folder of its own, ``compare.md``
(a metric table from each run's ``metrics.json`` and exactly the ``config.yaml`` keys whose
values differ) and one overlaid ``curves_<metric>.png`` per ``history.csv`` column every run
has. It refuses, in one line with exit code 2, a RUN that is not a run, fewer than two runs,
an output inside a run, and a non-empty output without ``--force``.

One real tiny iris run is trained per module; the others are copies of it with the files the
trainer writes changed by hand.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.image import imread

from nnzoo.cli import cli
from nnzoo.inference.compare import config_differences


def _scale_history(path, factor, learning_rate, extra_column=False):
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0]) + (["extra"] if extra_column else [])
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        for row in rows:
            out = {k: (v if k == "epoch" else float(v) * factor) for k, v in row.items()}
            out["learning_rate"] = learning_rate
            if extra_column:
                out["extra"] = 1.0
            writer.writerow(out)


@pytest.fixture(scope="module")
def pair(real_run, tmp_path_factory):
    """Two runs of a study (``runs/tiny/tune/trials/0000`` and ``0001``): the second with a
    larger learning rate and batch size, other metrics and curves, and a history column of
    its own."""
    root = tmp_path_factory.mktemp("compare") / "runs"
    a = root / "tiny" / "tune" / "trials" / "0000"
    b = root / "tiny" / "tune" / "trials" / "0001"
    shutil.copytree(real_run, a)
    shutil.copytree(real_run, b)
    config = yaml.safe_load((b / "config.yaml").read_text())
    config["train"]["optimizer"]["learning_rate"] = 0.01
    config["data"]["batch_size"] = 32
    (b / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    metrics = json.loads((b / "metrics.json").read_text())
    metrics.update(test={"accuracy": 0.9, "loss": 0.25}, wall_seconds=12.0, params=99)
    metrics["best"]["epoch"] = 1
    (b / "metrics.json").write_text(json.dumps(metrics))
    _scale_history(b / "history.csv", 0.5, 0.01, extra_column=True)
    return a, b


def digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def written(pair, tmp_path_factory):
    a, b = pair
    before = [digests(a), digests(b)]
    out = tmp_path_factory.mktemp("out") / "cmp"
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [digests(a), digests(b)] == before  # nothing written into a run
    return out, result


def test_prints_where_it_wrote_one_picture_per_shared_history_column(written):
    out, result = written
    assert result.stdout == f"compare: {out}/compare.md and 5 curves_*.png\n"
    names = {"accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"}  # not "extra"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["compare.md", *(f"curves_{n}.png" for n in names)]
    )
    for name in names:
        image = imread(out / f"curves_{name}.png")
        assert image.shape == (378, 630, 4)  # 7 x 4.2 inches at 90 dpi, RGBA
        assert image[..., :3].std() > 0.05  # not blank
        # Both runs' lines: matplotlib's first two colours, blue (#1f77b4) and orange (#ff7f0e).
        rgb = (image[..., :3] * 255).round()
        for colour in ((31, 119, 180), (255, 127, 14)):
            assert (np.abs(rgb - colour).sum(axis=-1) < 10).sum() > 50, (name, colour)


def test_the_metric_table_holds_each_runs_metrics(written, pair):
    out, _ = written
    a, _ = pair
    first = json.loads((a / "metrics.json").read_text())
    text = (out / "compare.md").read_text()
    table = text.split("## Metrics")[1].split("## Config differences")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows == [
        "| run | model | data | status | best epoch | test accuracy | test loss | params | wall |",
        f"| tiny/tune/trials/0000 | mlp | iris | finished | 2 | {first['test']['accuracy']:.4g} "
        f"| {first['test']['loss']:.4g} | {first['params']} | {first['wall_seconds']:.1f} s |",
        "| tiny/tune/trials/0001 | mlp | iris | finished | 1 | 0.9 | 0.25 | 99 | 12.0 s |",
    ]


def test_the_config_differences_are_exactly_the_keys_that_differ(written):
    out, _ = written
    text = (out / "compare.md").read_text()
    section = text.split("## Config differences")[1].split("## Curves")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows == [
        "| key | tiny/tune/trials/0000 | tiny/tune/trials/0001 |",
        "| data.batch_size | 16 | 32 |",
        "| train.optimizer.learning_rate | 0.002 | 0.01 |",
    ]
    assert "The 2 keys of `config.yaml` whose values differ." in section
    assert text.split("## Curves")[1].split() == [
        f"![{n}](curves_{n}.png)"
        for n in ("accuracy", "learning_rate", "loss", "val_accuracy", "val_loss")
    ]


def test_config_differences_show_a_key_one_config_lacks():
    differences = config_differences(
        [{"a": {"b": 1, "c": [1, 2]}, "d": None}, {"a": {"b": 1, "c": [1, 3]}, "e": 0}]
    )
    assert differences == {"a.c": [[1, 2], [1, 3]], "d": [None, "(absent)"], "e": ["(absent)", 0]}


def test_default_output_is_a_new_timestamped_folder_here(pair, tmp_path, monkeypatch):
    a, b = pair
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    second = CliRunner().invoke(cli, ["compare", str(a), str(b)])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and all(f.startswith("compare-") for f in folders)
    assert all((tmp_path / f / "compare.md").is_file() for f in folders)


def _error(args):
    result = CliRunner().invoke(cli, ["compare", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_a_run_that_is_not_a_run_is_named_in_one_line(pair, tmp_path):
    a, _ = pair
    assert _error([str(a), str(tmp_path), "--output", str(tmp_path / "o")]) == (
        f"nnzoo: error: {tmp_path}: not a run directory (no config.yaml). Fix: give a "
        "directory under runs/<name>/\n"
    )
    assert not (tmp_path / "o").exists()


def test_fewer_than_two_runs_is_one_line(pair):
    a, _ = pair
    assert _error([str(a)]) == (
        f"nnzoo: error: compare needs at least 2 runs; received 1 run ({a}). Fix: name two or "
        "more run directories, e.g. nnzoo compare runs/a/<run-id> runs/b/<run-id> (nnzoo runs "
        "lists them)\n"
    )
    assert _error([]).startswith("nnzoo: error: compare needs at least 2 runs; received none.")


def test_never_writes_into_a_run_nor_over_a_folder_without_force(pair, tmp_path):
    a, b = pair
    before = digests(a)
    inside = a / "cmp"
    assert _error([str(a), str(b), "--output", str(inside)]) == (
        f"nnzoo: error: {inside}: inside the run directory {a}; compare never writes into a "
        "run. Fix: write it elsewhere, e.g. --output compare\n"
    )
    assert digests(a) == before and not inside.exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    assert _error([str(a), str(b), "--output", str(full)]) == (
        f"nnzoo: error: {full}: exists and is not empty. Fix: choose another --output, or pass "
        "--force to replace the files compare writes there (compare.md, curves_*.png)\n"
    )
    assert sorted(p.name for p in full.iterdir()) == ["notes.txt"]
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--output", str(full), "--force"])
    assert result.exit_code == 0, result.output
    assert (full / "notes.txt").read_text() == "mine"
    assert (full / "compare.md").is_file()


def test_runs_of_different_configs_compare_on_the_columns_they_share(real_run, tmp_path):
    """A run of another model whose history lacks val_accuracy: only the shared columns that
    vary are drawn, and the model's width is among the differences."""
    other = tmp_path / "runs" / "other" / "20260101-000000"
    shutil.copytree(real_run, other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["name"] = "other"
    config["model"]["params"]["hidden_units"] = [16, 16]
    (other / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with (other / "history.csv").open(newline="") as f:
        rows = [{k: v for k, v in r.items() if k != "val_accuracy"} for r in csv.DictReader(f)]
    with (other / "history.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["compare", str(real_run), str(other), "--output", str(out)])
    assert result.exit_code == 0, result.output
    # Both keep the constant learning rate 0.002: named, not drawn.
    assert sorted(p.name for p in out.glob("*.png")) == [
        "curves_accuracy.png",
        "curves_loss.png",
        "curves_val_loss.png",
    ]
    assert (
        (out / "compare.md")
        .read_text()
        .endswith(
            "\n![val_loss](curves_val_loss.png)\n\n"
            "The same in every epoch of every run, so not drawn: learning_rate = 0.002.\n"
        )
    )
    assert result.stdout == f"compare: {out}/compare.md and 3 curves_*.png\n"
    section = (out / "compare.md").read_text().split("## Config differences")[1]
    keys = [line.split(" | ")[0][2:] for line in section.splitlines() if line.startswith("| ")]
    assert keys == ["key", "model.params.hidden_units", "name"]


def test_a_star_marks_each_runs_kept_epoch_on_its_monitored_metric(pair, tmp_path):
    from nnzoo.inference.compare import plot_metric
    from nnzoo.run.directory import read_history

    histories = [read_history(run) for run in pair]
    orange = np.array([255, 127, 14])

    def orange_pixels(best):
        path = tmp_path / f"{best}.png"
        plot_metric(histories, ["a", "b"], "val_loss", path, best=best)
        rgb = (imread(path)[..., :3] * 255).round()
        return int((np.abs(rgb - orange).sum(axis=-1) < 10).sum())

    plain, starred = orange_pixels([None, None]), orange_pixels([None, 1])
    assert starred - plain > 40, (plain, starred)  # a 14-point star is ~100 pixels at 90 dpi


def test_a_run_named_twice_is_one_line(pair, tmp_path):
    a, b = pair
    again = a.parent / ".." / "trials" / a.name
    assert _error([str(a), str(b), str(again), "--output", str(tmp_path / "o")]) == (
        f"nnzoo: error: {again}: named twice (as {a} before). Fix: name each run once\n"
    )
    assert not (tmp_path / "o").exists()


def test_config_values_are_shown_exactly_so_close_ones_never_read_the_same(pair, tmp_path):
    a, b = pair
    runs = []
    for name, rate, clip in (("x", 0.000314159, None), ("y", 0.000314158, 1.0)):
        run = tmp_path / "runs" / name / "1"
        shutil.copytree(a, run)
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["name"] = name
        config["train"]["optimizer"].update(learning_rate=rate, clipnorm=clip)
        (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        runs.append(str(run))
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["compare", *runs, "--output", str(out)]).exit_code == 0
    section = (out / "compare.md").read_text().split("## Config differences")[1]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows == [
        "| key | x/1 | y/1 |",
        "| name | x | y |",
        "| train.optimizer.clipnorm | null | 1.0 |",
        "| train.optimizer.learning_rate | 0.000314159 | 0.000314158 |",
    ]


def test_a_run_with_a_damaged_config_is_refused_in_one_line(pair, tmp_path):
    a, _ = pair
    damaged = tmp_path / "runs" / "tiny" / "1"
    shutil.copytree(a, damaged)
    (damaged / "config.yaml").write_text("name: [oops\n")
    assert _error([str(a), str(damaged), "--output", str(tmp_path / "o")]) == (
        f"nnzoo: error: {damaged}: unreadable ({damaged}/config.yaml: not valid YAML). Fix: "
        "copy the whole run directory again, or leave it out\n"
    )
    assert not (tmp_path / "o").exists()
