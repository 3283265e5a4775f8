"""``--workers K``: K worker processes on this machine sharing one study.

Each worker is ``python -m nnzoo.tuning._workers`` reading its job (config, settings) as
JSON on stdin, so the storage URL never shows in ``ps``. Threads are split so the workers
share the cores; with several GPUs visible each worker gets one. A worker that dies leaves
its trial RUNNING; the others (and the parent, at the end) mark it FAIL and queue it again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import optuna

from nnzoo.config import Config, config_from_dict
from nnzoo.errors import NnzooError
from nnzoo.tuning import _storage
from nnzoo.tuning._report import TrialReporter
from nnzoo.tuning._settings import Settings, TuningEnvironmentError
from nnzoo.tuning._study import open_study, run_trials, storage_spec

log = logging.getLogger(__name__)

ERROR_PREFIX = "nnzoo: error: "


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


def _last_error(path: Path) -> str | None:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith(ERROR_PREFIX):
            return line.removeprefix(ERROR_PREFIX)
    return None


def run_parallel(
    config: Config, settings: Settings, study: optuna.Study, *, reporter: TrialReporter
) -> None:
    """Start ``settings.workers`` workers, print their trials, wait for them."""
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
    procs: list[tuple[int, subprocess.Popen[bytes], Path]] = []
    try:
        for i in range(settings.workers):
            path = log_dir / f"worker-{i}.log"
            with path.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "nnzoo.tuning._workers"],
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=worker_env(i, settings.workers, cores=cores, gpus=gpus),
                )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({**job, "worker": i}).encode())
            proc.stdin.close()
            procs.append((i, proc, path))
        reported: set[int] = set()
        while True:
            reporter.update(study)
            for i, proc, path in procs:
                code = proc.poll()
                if code is not None and code != 0 and i not in reported:
                    reported.add(i)
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    reporter.note(f"worker {i} (pid {proc.pid}) stopped with {how}; see {path}")
                    if code in (1, 2) and _last_error(path):  # the study cannot go on
                        for _, other, _ in procs:
                            if other.poll() is None:
                                other.send_signal(signal.SIGTERM)
            if all(proc.poll() is not None for _, proc, _ in procs):
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        for _, proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        _storage.fail_stale(study)
        raise
    _storage.fail_stale(study)
    for _, proc, path in procs:
        error = _last_error(path) if proc.returncode in (1, 2) else None
        if error:  # the worker's own one line: a user mistake (2) or the environment (1)
            raise TuningEnvironmentError(error) if proc.returncode == 1 else NnzooError(error)


def _worker_main() -> int:
    """Entry point of one worker process: the job arrives as JSON on stdin."""
    job = json.loads(sys.stdin.read())

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # the running trial is recorded FAIL, not left RUNNING

    signal.signal(signal.SIGTERM, _stop)
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
    sys.exit(_worker_main())
