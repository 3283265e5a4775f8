import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnzoo.run.bind import load_config

ROOT = Path(__file__).resolve().parents[2]
TUNE_CONFIG = ROOT / "configs" / "tune" / "mlp_digits.yaml"
TINY = ["train.epochs=2", "model.params.hidden_units=[16]", "train.callbacks.checkpoint=true"]


@pytest.fixture
def tiny_config():
    """The mlp_digits tune config, shrunk so a trial takes about a second."""

    def make(*overrides: str):
        return load_config(TUNE_CONFIG, [*TINY, *overrides])

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1, which a test may stop and start again."""

    bindir: Path
    base: Path
    port: int
    as_user: list[str]
    user: str = "nnzoo"
    password: str = "s3cret-pw"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout}")

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-w", *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        self._ctl("-l", str(self.base / "log"), "-o", options, "start")

    def stop(self) -> None:
        """Stop the server at once, as a crash or a lost network would."""
        self._ctl("-m", "immediate", "stop")


@pytest.fixture
def postgres():
    """A :class:`Postgres` with a password (initdb refuses root: it runs as postgres)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or (
        [shutil.which("initdb")] if shutil.which("initdb") else []
    )
    if not found:
        pytest.skip("no PostgreSQL server binaries (initdb); `apt-get install postgresql`")
    # Directly under /tmp: pytest's tmp dirs are private to root, postgres cannot enter them.
    base = Path(tempfile.mkdtemp(prefix="nnzoo-pg-"))
    as_user: list[str] = []
    server = Postgres(Path(found[-1]).parent, base, _free_port(), as_user)
    pwfile = base / "pw"
    pwfile.write_text(server.password + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
        os.chmod(base, 0o700)
        as_user += ["runuser", "-u", "postgres", "--"]
    initdb = [str(server.bindir / "initdb"), "-D", str(base / "data"), "-U", server.user]
    server._run(*initdb, f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8")
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # a test may have left it stopped
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
