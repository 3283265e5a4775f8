"""``nnzoo runs [DIR]`` lists every run under DIR (tuning trials included) from its files:
name, model, data, status, best epoch, the test metric (accuracy, r2 for regression), wall
time and size, as a table or ``--json``, sorted by ``--sort``; a damaged run is listed as
``unreadable``, and listing never imports Keras.

One real tiny iris run is trained per module; the other runs are copies of it with the files
the trainer writes (``status.json``, ``metrics.json``, ``config.yaml``) changed by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.run.listing import SUMMARY_KEYS


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2))
    return data


def _edit_yaml(path, edit):
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def runs(real_run, tmp_path_factory):
    """``runs/`` with: the real run, a better copy, a regression, an interrupted, a failed
    run, a study's trial and a damaged run; ``updated`` stamps set so the newest is known."""
    root = tmp_path_factory.mktemp("listing") / "runs"
    made = {}

    def copy(rel, updated, **status):
        dest = root / rel
        shutil.copytree(real_run, dest)
        _edit_json(dest / "status.json", updated=updated, **status)
        made[rel] = dest
        return dest

    copy("tiny/20260101-000000", "2026-01-01T00:00:00")
    better = copy("tiny/20260102-000000", "2026-01-02T00:00:00")
    metrics = json.loads((better / "metrics.json").read_text())
    _edit_json(
        better / "metrics.json",
        test={"accuracy": 0.9, "loss": 0.3},
        best={**metrics["best"], "epoch": 1},
        wall_seconds=30.5,
    )
    regression = copy("diabetes_mlp/20260103-000000", "2026-01-03T00:00:00")
    _edit_json(
        regression / "metrics.json",
        test={"loss": 3000.0, "mae": 44.0, "rmse": 55.0, "r2": 0.41},
        wall_seconds=4.0,
    )

    def as_regression(config):
        config["name"] = "diabetes_mlp"
        config["data"]["source"] = "diabetes"

    _edit_yaml(regression / "config.yaml", as_regression)
    interrupted = copy("tiny/20260104-000000", "2026-01-04T00:00:00", state="running")
    (interrupted / "metrics.json").unlink()
    failed = copy("tiny/20260105-000000", "2026-01-05T00:00:00", state="failed", reason="NaN")
    (failed / "metrics.json").unlink()
    copy("tiny/tune/trials/0003", "2026-01-06T00:00:00")
    damaged = copy("tiny/20260107-000000", "2026-01-07T00:00:00")
    (damaged / "status.json").write_text('{"state": "finis')
    return root, made


def _list(root, *args):
    result = CliRunner().invoke(cli, ["runs", str(root), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_lists_every_run_newest_first_with_stable_keys(runs):
    root, made = runs
    rows = _list(root)
    assert [r["path"] for r in rows] == [
        str(made[k])
        for k in (
            "tiny/20260107-000000",
            "tiny/tune/trials/0003",
            "tiny/20260105-000000",
            "tiny/20260104-000000",
            "diabetes_mlp/20260103-000000",
            "tiny/20260102-000000",
            "tiny/20260101-000000",
        )
    ]
    assert all(list(r) == list(SUMMARY_KEYS) for r in rows)
    by_id = {(r["name"], r["run_id"]): r for r in rows}
    assert set(by_id) == {
        ("tiny", "20260101-000000"),
        ("tiny", "20260102-000000"),
        ("diabetes_mlp", "20260103-000000"),
        ("tiny", "20260104-000000"),
        ("tiny", "20260105-000000"),
        ("tiny", "tune/trials/0003"),
        ("tiny", "20260107-000000"),  # damaged: named by its folder
    }


def test_each_row_reports_the_runs_own_files(runs):
    root, made = runs
    rows = {r["path"]: r for r in _list(root)}
    for key in ("tiny/20260101-000000", "tiny/20260102-000000", "diabetes_mlp/20260103-000000"):
        metrics = json.loads((made[key] / "metrics.json").read_text())
        row = rows[str(made[key])]
        assert row["status"] == "finished"
        assert row["model"] == "mlp"
        assert row["test"] == metrics["test"]
        assert row["best_epoch"] == metrics["best"]["epoch"]
        assert row["epochs"] == 2
        assert row["params"] == metrics["params"]
        assert row["wall_seconds"] == metrics["wall_seconds"]
        size = sum(p.stat().st_size for p in made[key].rglob("*") if p.is_file())
        assert row["size_bytes"] == size
    first = rows[str(made["tiny/20260101-000000"])]
    assert (first["data"], first["metric"]) == ("iris", "accuracy")
    assert first["value"] == first["test"]["accuracy"]
    better = rows[str(made["tiny/20260102-000000"])]
    assert (better["best_epoch"], better["value"]) == (1, 0.9)
    regression = rows[str(made["diabetes_mlp/20260103-000000"])]
    assert (regression["data"], regression["metric"], regression["value"]) == (
        "diabetes",
        "r2",
        0.41,
    )


def test_states_are_read_and_a_damaged_run_is_listed_unreadable(runs):
    root, made = runs
    rows = {r["path"]: r for r in _list(root)}
    # Marked running, but no process holds its lock: its process is gone.
    interrupted = rows[str(made["tiny/20260104-000000"])]
    assert (interrupted["status"], interrupted["best_epoch"], interrupted["test"]) == (
        "interrupted",
        None,
        {},
    )
    assert rows[str(made["tiny/20260105-000000"])]["status"] == "failed"
    assert rows[str(made["tiny/tune/trials/0003"])]["status"] == "finished"
    damaged = rows[str(made["tiny/20260107-000000"])]
    assert damaged["status"] == "unreadable"
    assert damaged["error"].startswith(
        f"{made['tiny/20260107-000000']}/status.json: not valid JSON"
    )
    assert damaged["model"] is None


def test_sort_by_a_metric_best_first_and_runs_without_it_last(runs):
    root, made = runs
    rows = _list(root, "--sort", "accuracy")
    accuracies = [r["test"].get("accuracy") for r in rows]
    have = [a for a in accuracies if a is not None]
    assert have[0] == 0.9 and have == sorted(have, reverse=True) and len(have) == 3
    assert accuracies[: len(have)] == have  # the runs without accuracy come after
    rmse = _list(root, "--sort", "rmse")
    assert rmse[0]["path"] == str(made["diabetes_mlp/20260103-000000"])
    wall = [r["wall_seconds"] for r in _list(root, "--sort", "wall") if r["wall_seconds"]]
    assert wall[0] == 30.5 and wall == sorted(wall, reverse=True)
    oldest = _list(root, "--sort", "oldest")
    assert oldest[0]["path"] == str(made["tiny/20260101-000000"])


def test_an_unknown_sort_key_is_one_line_exit_2(runs):
    root, _ = runs
    result = CliRunner().invoke(cli, ["runs", str(root), "--sort", "bogus"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "nnzoo: error: --sort: no run has a key or test metric named 'bogus'. Fix: sort by one "
        "of newest, oldest, name, model, data, status, best_epoch, wall, size, accuracy, loss,"
    )
    assert result.stderr.count("\n") == 1


def test_a_missing_folder_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["runs", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"nnzoo: error: {tmp_path / 'nope'}: no such folder, so there are no runs to list. "
        "Fix: train one (nnzoo train CONFIG), or give the folder your runs are in (nnzoo runs "
        "DIR)\n"
    )


def test_the_table_shows_one_row_per_run(runs):
    root, made = runs
    wide = {"COLUMNS": "200"}  # rich reads the width of a console that is not a terminal
    result = CliRunner().invoke(cli, ["runs", str(root), "--sort", "accuracy"], env=wide)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(lines) == 7
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in lines]
    assert cells[0] == [
        "tiny/20260102-000000",
        "mlp",
        "iris",
        "finished",
        "1/2",
        "test accuracy 0.9",
        "30.5 s",
        cells[0][7],
    ]
    assert cells[0][7].endswith(" kB")
    unreadable = [c for c in cells if c[3] == "unreadable"]
    assert [c[0] for c in unreadable] == ["tiny/20260107-000000"]
    assert result.stderr == (
        f"nnzoo: note: {made['tiny/20260107-000000']}: unreadable: "
        f"{made['tiny/20260107-000000']}/status.json: not valid JSON (line 1), so the run "
        "directory is damaged. Fix: copy the whole run directory again\n"
    )


def test_runs_and_compare_never_import_keras(runs, tmp_path):
    root, made = runs
    code = (
        "import sys; from nnzoo.cli import cli\n"
        "try:\n    cli(prog_name='nnzoo', args=sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('keras', 'tensorflow', 'optuna', 'jax') if m in sys.modules]\n"
        "    sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n'); raise\n"
    )
    for args in (
        ["runs", str(root)],
        ["runs", str(root), "--json", "--sort", "accuracy"],
        [
            "compare",
            str(made["tiny/20260101-000000"]),
            str(made["tiny/20260102-000000"]),
            "--output",
            str(tmp_path / "cmp"),
        ],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.endswith("HEAVY=\n"), proc.stderr
    assert (tmp_path / "cmp" / "compare.md").is_file()


def test_a_diverged_runs_nan_is_null_in_json(real_run, tmp_path):
    run = tmp_path / "runs" / "tiny" / "20260101-000000"
    shutil.copytree(real_run, run)
    _edit_json(run / "metrics.json", test={"accuracy": 0.25, "loss": float("nan")})
    result = CliRunner().invoke(cli, ["runs", str(tmp_path / "runs"), "--json"])
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout
    (row,) = json.loads(result.stdout)
    assert row["test"] == {"accuracy": 0.25, "loss": None}
    assert (row["metric"], row["value"]) == ("accuracy", 0.25)


def test_a_lean_trial_without_test_metrics_is_listed_by_its_monitored_best(real_run, tmp_path):
    """A lean tuning trial writes ``"test": {}``: its val_loss at the best epoch (what the
    study ranks it by) is listed, named and marked as such, never as a test metric."""
    run = tmp_path / "runs" / "tiny" / "tune" / "trials" / "0001"
    shutil.copytree(real_run, run)
    metrics = _edit_json(run / "metrics.json", test={})
    result = CliRunner().invoke(cli, ["runs", str(tmp_path / "runs"), "--json"])
    (row,) = json.loads(result.stdout)
    assert (row["run_id"], row["test"]) == ("tune/trials/0001", {})
    assert (row["metric"], row["value"], row["metric_from"]) == (
        "val_loss",
        metrics["best"]["val_loss"],
        "best_epoch",
    )
    table = CliRunner().invoke(cli, ["runs", str(tmp_path / "runs")], env={"COLUMNS": "200"})
    assert f"best val_loss {metrics['best']['val_loss']:.4g}" in table.stdout


def test_a_run_whose_process_holds_its_lock_is_running(real_run, tmp_path):
    from nnzoo.run.directory import locked

    run = tmp_path / "runs" / "tiny" / "20260101-000000"
    shutil.copytree(real_run, run)
    _edit_json(run / "status.json", state="running")
    with locked(run):
        (held,) = _list(tmp_path / "runs")
    (after,) = _list(tmp_path / "runs")
    assert (held["status"], after["status"]) == ("running", "interrupted")


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ({"loss": 0.5, "accuracy": 0.8}, ("accuracy", 0.8)),
        ({"loss": 9.0, "mae": 2.0, "rmse": 3.0, "r2": 0.4}, ("r2", 0.4)),
        ({"loss": 9.0, "rmse": 3.0}, ("rmse", 3.0)),
        ({"loss": 4.0, "perplexity": 54.6}, ("perplexity", 54.6)),
        ({"loss": 4.0}, ("loss", 4.0)),
        ({}, (None, None)),
    ],
)
def test_the_headline_metric_is_accuracy_then_r2_then_rmse(test, expected):
    from nnzoo.run.listing import headline

    assert headline(test) == expected


def test_an_empty_folder_says_so_and_a_run_folder_lists_itself(real_run, tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["runs", str(tmp_path / "empty")])
    assert (result.exit_code, result.stdout) == (0, f"no runs under {tmp_path / 'empty'}\n")
    (row,) = _list(real_run)
    assert (row["path"], row["name"], row["run_id"]) == (str(real_run), "tiny", real_run.name)


def test_odd_values_in_a_hand_edited_run_are_null_and_sorting_still_works(real_run, tmp_path):
    for name, wall in (("a", "slow"), ("b", 3.0), ("c", True)):
        run = tmp_path / "runs" / "tiny" / name
        shutil.copytree(real_run, run)
        _edit_json(run / "metrics.json", wall_seconds=wall, epochs="two", params=None)
    rows = _list(tmp_path / "runs", "--sort", "wall")
    assert [(r["run_id"], r["wall_seconds"], r["epochs"]) for r in rows] == [
        ("b", 3.0, None),
        ("a", None, None),
        ("c", None, None),
    ]
    assert {r["status"] for r in rows} == {"finished"}
