"""``--workers K``: K worker processes on this machine sharing one study.

Each worker is this module run as a program, reading its job (config, settings) as JSON on
stdin, so the storage URL never shows in ``ps``; ``python -m nnzoo.tuning._lifeline`` starts
it, having tied its life to the parent's (on Linux it dies with the parent, however the parent
ends). Threads are split so the workers share the cores; with several GPUs visible each worker
gets one. A worker that dies leaves its trial RUNNING; the others (and the parent, at the end)
mark it FAIL and queue it again. When every worker dies before the study is done, the parent
fails in one line naming their logs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

import optuna

from nnzoo.config import Config
from nnzoo.errors import NnzooError
from nnzoo.run.bind import config_from_dict
from nnzoo.tuning import _storage
from nnzoo.tuning._lifeline import PARENT_ENV
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import Settings, TuningEnvironmentError
from nnzoo.tuning._study import count_trials, open_study, run_trials, storage_spec

log = logging.getLogger(__name__)

ERROR_PREFIX = "nnzoo: error: "
WORKER_COMMAND = [sys.executable, "-m", "nnzoo.tuning._lifeline"]  # which runs this module
# A SIGTERMed worker has this long to record its trial FAIL; then SIGALRM ends it, and the
# trial, left RUNNING by a dead process, is failed and queued again by fail_stale.
STOP_GRACE_SECONDS = 3


def env_threads() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """GPU ids visible to this process, without importing a framework."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU")]


def worker_env(index: int, workers: int, *, cores: int, gpus: list[str]) -> dict[str, str]:
    """The environment of worker ``index``: its share of the threads and its GPU."""
    threads = str(max(1, cores // workers))
    env = dict(os.environ)
    env.update(
        TF_NUM_INTRAOP_THREADS=threads,
        TF_NUM_INTEROP_THREADS="1" if cores // workers <= 2 else "2",
        OMP_NUM_THREADS=threads,
        XLA_FLAGS=(
            env.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen=false"
            f" intra_op_parallelism_threads={threads}"
        ).strip()
        if not gpus
        else env.get("XLA_FLAGS", ""),
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if len(gpus) > 1:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    return env


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    log: Path
    offset: int  # where this run's lines start in the log (the logs are appended to)

    def last_error(self) -> str | None:
        """The worker's own one-line error, if it wrote one in this run."""
        try:
            with self.log.open("rb") as f:
                f.seek(self.offset)
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            if line.startswith(ERROR_PREFIX):
                return line.removeprefix(ERROR_PREFIX)
        return None


def run_parallel(
    config: Config, settings: Settings, study: optuna.Study, *, reporter: TrialReporter
) -> None:
    """Start ``settings.workers`` workers, print their trials, wait for them.

    Raises the error a worker stopped on, or :class:`TuningEnvironmentError` when every worker
    died before the study had its trials.
    """
    cores = env_threads()
    gpus = visible_gpus()
    log_dir = settings.path / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    job = {
        "config": config.model_dump(mode="json"),
        "label": (config.source_file or "<config>"),
        "settings": asdict(settings),
    }
    reporter.note(
        f"{settings.workers} workers, {max(1, cores // settings.workers)} thread(s) each"
        + (f", one GPU each of {len(gpus)}" if len(gpus) > 1 else "")
        + f"; logs in {log_dir}"
    )
    workers: list[_Worker] = []
    try:
        for i in range(settings.workers):
            path = log_dir / f"worker-{i}.log"
            env = worker_env(i, settings.workers, cores=cores, gpus=gpus)
            env[PARENT_ENV] = str(os.getpid())
            with path.open("ab") as out:
                offset = out.tell()
                proc = subprocess.Popen(
                    WORKER_COMMAND,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            workers.append(_Worker(i, proc, path, offset))
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it died at once: _watch says how
                proc.stdin.write(json.dumps({**job, "worker": i}).encode())
                proc.stdin.close()
        _watch(workers, study, reporter)
    finally:
        _stop(workers)  # none is left running, however this ends (an error, Ctrl-C)
        _storage.fail_stale(study)
    for worker in workers:
        code = worker.proc.returncode
        error = worker.last_error() if code in (1, 2) else None
        if error:  # the worker's own one line: a user mistake (2) or the environment (1)
            raise TuningEnvironmentError(error) if code == 1 else NnzooError(error)
    finished, _, _ = count_trials(study, settings)
    codes = [worker.proc.returncode for worker in workers]
    if finished < settings.trials and 0 not in codes:
        how = ", ".join(_how(code) for code in codes)
        raise TuningEnvironmentError(
            f"study '{settings.study}': every worker stopped ({how}) with {finished} of "
            f"{settings.trials} trials finished. Fix: see the workers' logs in {log_dir}, "
            "then rerun the same command to resume the study"
        )


def _how(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"


def _watch(workers: list[_Worker], study: optuna.Study, reporter: TrialReporter) -> None:
    """Print trials as they finish until every worker has ended; when one stops on its own
    error line, stop the others (the study cannot go on for them either)."""
    reported: set[int] = set()
    while True:
        reporter.update(study)
        for worker in workers:
            code = worker.proc.poll()
            if code is not None and code != 0 and worker.index not in reported:
                reported.add(worker.index)
                reporter.note(
                    f"worker {worker.index} (pid {worker.proc.pid}) stopped with {_how(code)}; "
                    f"see {worker.log}"
                )
                if code in (1, 2) and worker.last_error():
                    _stop(workers, wait=False)
        if all(worker.proc.poll() is not None for worker in workers):
            return
        time.sleep(1.0)


def _stop(workers: list[_Worker], *, wait: bool = True) -> None:
    """SIGTERM the running workers (each records its trial FAIL); SIGKILL those that hang."""
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    if not wait:
        return
    for worker in workers:
        try:
            worker.proc.wait(timeout=STOP_GRACE_SECONDS + 30)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()


def _worker_main() -> int:
    """Entry point of one worker process: the job arrives as JSON on stdin."""

    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        # The interrupt can be lost (raised inside a gc callback it is only printed), or the
        # way out can hang: SIGALRM's default action ends the process either way.
        signal.alarm(STOP_GRACE_SECONDS)
        raise KeyboardInterrupt  # the running trial is recorded FAIL, not left RUNNING

    signal.signal(signal.SIGTERM, _on_sigterm)
    job = json.loads(sys.stdin.read())
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    try:
        config = config_from_dict(job["config"], label=job["label"], check_catalog=False)
        settings = Settings(**job["settings"])
        with _storage.connection_guard(storage_spec(settings)):
            study, _ = open_study(config, settings, worker=int(job["worker"]))
            outcome = run_trials(study, config, settings)
        _say(f"worker {job['worker']}: {outcome}")
    except NnzooError as err:
        _say(ERROR_PREFIX + err.one_line())
        return err.exit_code
    except KeyboardInterrupt:
        _say("worker interrupted")
        return 130
    return 0


def _say(line: str) -> None:
    """A line of the worker protocol on stdout (the parent process reads it)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    code = _worker_main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # every result is stored already; TensorFlow's teardown can take seconds
