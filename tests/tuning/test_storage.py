"""Where a study lives: passwords never printed nor written, malformed URLs refused in one line,
a database that goes away mid-study ends in one line (exit 1) and the study resumes."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from nnzoo.cli import cli
from nnzoo.tuning import _study
from nnzoo.tuning._storage import mask_url, resolve

TUNE_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tune" / "mlp_digits.yaml"
SECRET = "Zq9-pw"
TINY = ["--set", "model.params.hidden_units=[16]", "--set", "train.epochs=2"]


def _tune(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["tune", str(TUNE_CONFIG), *args], env=env)


def _error_line(result) -> str:
    """The one error line a failed command ends with (and no traceback)."""
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("nnzoo: error:")]
    assert len(errors) == 1 and result.output.strip().endswith(errors[0]), result.output
    return errors[0]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:s3cret@db:5432/optuna", "postgresql://bob:***@db:5432/optuna"),
        ("postgresql://bob:p%40ss@db/optuna", "postgresql://bob:***@db/optuna"),
        ("postgresql://bob@db/optuna?password=s3cret&sslmode=require",
         "postgresql://bob@db/optuna?password=***&sslmode=require"),
        ("postgresql//bob:s3cret@db/optuna", "postgresql//bob:***@db/optuna"),
        ("postgresql://bob:s3c@ret@db/optuna", "postgresql://bob:***@db/optuna"),
        ("sqlite:///runs/x.db", "sqlite:///runs/x.db"),
    ],
)  # fmt: skip
def test_passwords_are_masked_even_in_urls_sqlalchemy_cannot_read(url, shown):
    assert mask_url(url) == shown


def test_default_storage_is_sqlite_for_one_worker_and_a_journal_for_several(tmp_path):
    assert resolve(None, tune_dir=tmp_path, workers=1).url == f"sqlite:///{tmp_path}/study.db"
    spec = resolve(None, tune_dir=tmp_path, workers=3)
    assert (spec.kind, spec.url) == ("journal", f"journal:{tmp_path}/journal.log")
    assert "SQLite is not safe for parallel writers" in spec.note


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"postgresql//nnzoo:{SECRET}@127.0.0.1/db",
         "--storage: not a storage URL; received 'postgresql//nnzoo:***@127.0.0.1/db'."),
        (f"postgresql//nnzoo@127.0.0.1/db?password={SECRET}",
         "--storage: not a storage URL; received 'postgresql//nnzoo@127.0.0.1/db?password=***'."),
        (f"postgresql://nnzoo:a@{SECRET}@127.0.0.1/db",
         "--storage: not a valid URL, more than one '@' (write an '@' in the password as %40); "
         "received 'postgresql://nnzoo:***@127.0.0.1/db'."),
        (f"postgresql://nnzoo:{SECRET}@127.0.0.1:port/db?password={SECRET}",
         "--storage: not a valid URL, ValueError: invalid literal for int() with base 10: "
         "'port'; received 'postgresql://nnzoo:***@127.0.0.1:port/db?password=***'."),
    ],
    ids=["no-scheme-separator", "password-parameter", "at-sign-in-password", "port-not-a-number"],
)  # fmt: skip
def test_a_malformed_url_is_one_line_exit_2_without_its_password(tmp_path, url, said):
    result = _tune("--storage", url, "--runs-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip() == f"nnzoo: error: {said} Fix: give an SQLAlchemy URL " + (
        "(sqlite:///study.db, postgresql://user@host:5432/db) or journal:PATH; keep the "
        "password out of it with PGPASSWORD, ~/.pgpass or --storage env:VAR"
    )
    assert SECRET not in result.output
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_an_unset_environment_variable_is_one_line_exit_2(tmp_path):
    result = _tune("--storage", "env:NNZOO_TEST_STORAGE", env={"NNZOO_TEST_STORAGE": None})
    assert result.exit_code == 2
    assert _error_line(result).startswith(
        "nnzoo: error: --storage env:NNZOO_TEST_STORAGE: the environment variable "
        "'NNZOO_TEST_STORAGE' is not set to a storage URL. Fix: export NNZOO_TEST_STORAGE="
    )


def test_an_unreachable_server_is_an_environment_error_without_the_password(tmp_path):
    url = f"postgresql://nnzoo:{SECRET}@127.0.0.1:1/optuna"
    result = _tune("--storage", url, "--runs-dir", str(tmp_path))
    assert result.exit_code == 1
    line = _error_line(result)
    assert line.startswith(
        "nnzoo: error: cannot reach the study storage "
        "postgresql+psycopg://nnzoo:***@127.0.0.1:1/optuna: OperationalError: "
    )
    assert line.endswith("then rerun the same command to resume the study")
    assert SECRET not in result.output


@pytest.mark.slow
@pytest.mark.postgres
def test_the_database_going_away_mid_study_is_one_line_and_the_study_resumes(
    tmp_path, postgres, monkeypatch
):
    trains = []
    real_train = _study.train_trial

    def train(config, options):  # the server stops as the second trial starts
        trains.append(options.run_dir)
        if len(trains) == 2:
            postgres.stop()
        return real_train(config, options)

    monkeypatch.setattr(_study, "train_trial", train)  # as the objective imports it
    args = ["--trials", "3", "--runs-dir", str(tmp_path), "--heartbeat", "1", *TINY]
    result = _tune("--storage", postgres.url, *args)
    assert result.exit_code == 1, result.output
    assert _error_line(result).startswith(
        "nnzoo: error: cannot reach the study storage "
        f"postgresql+psycopg://nnzoo:***@127.0.0.1:{postgres.port}/postgres: OperationalError: "
    )
    assert postgres.password not in result.output
    first = (trains[0] / "metrics.json").read_bytes()

    # Rerun once the server is back: the URL from the environment, the password from PGPASSWORD.
    postgres.start()
    env = {
        "NNZOO_TEST_STORAGE": f"postgresql://nnzoo@127.0.0.1:{postgres.port}/postgres",
        "PGPASSWORD": postgres.password,
    }
    result = _tune("--storage", "env:NNZOO_TEST_STORAGE", *args, env=env)
    assert result.exit_code == 0, result.output
    assert "resuming, 1 of 3 trials finished" in result.output
    assert "3 finished" in result.output
    assert (trains[0] / "metrics.json").read_bytes() == first  # nothing written is lost
    assert postgres.password not in result.output
