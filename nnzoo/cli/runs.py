"""The commands of a run: ``train``, ``evaluate``, ``predict``, ``generate``, ``export`` and
``benchmark``; and of runs together: ``runs`` (list them) and ``compare`` (side by side), which
read the runs' files only and never load Keras.

Each loads Keras only once it has checked what it can without it: ``train`` imports Keras after
its config's downloads are checked (an offline CIFAR run fails at once); the others load it as
the ``nnzoo`` group resolves them, before they run.
"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Any

import click

from nnzoo._atomic import FULL_DISK_ERRNOS
from nnzoo._cli_options import STATE, import_keras_quietly
from nnzoo.cli._common import AtLeast, avoid_native_aborts, console, runs_dir_option, set_option
from nnzoo.cli._errors import fail, interrupt_exit_code, interrupted, stop_stdout
from nnzoo.errors import NnzooError, ParameterError


def _train_flags(epochs: int | None, batch_size: int | None, seed: int | None) -> dict[str, Any]:
    return {"train.epochs": epochs, "data.batch_size": batch_size, "seed": seed}


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@set_option()
@click.option("--epochs", type=int, help="Shortcut for --set train.epochs=N.")
@click.option("--batch-size", type=int, help="Shortcut for --set data.batch_size=N.")
@click.option("--seed", type=int, help="Shortcut for --set seed=N.")
@runs_dir_option()
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Continue an interrupted run from its last completed epoch (with --epochs N or "
    "--set train.epochs=N: to N epochs).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress and no run line: only the final summary."
)
def train(
    config: str | None,
    overrides: tuple[str, ...],
    epochs: int | None,
    batch_size: int | None,
    seed: int | None,
    runs_dir: str,
    resume_dir: str | None,
    quiet: bool,
) -> None:
    """Train the model of CONFIG and write a run directory.

    Flags override the file; --set overrides both. The run directory is printed first
    (`run: runs/NAME/RUN-ID`); Ctrl-C or SIGTERM (kill, timeout, Docker, SLURM) stops the run
    (exit code 130 or 143), which `--resume` continues, and so does a full disk (exit code
    1) once there is space again. A resume may change only train.epochs and
    train.checkpoint_every_seconds (--epochs, --set). On a terminal
    each epoch shows a live bar (steps, time left, running loss and monitored metric,
    examples/s); otherwise one line per epoch. A finished run keeps model.keras (the best
    weights, no optimizer state) and drops its resume checkpoints.
    """
    from nnzoo.run.bind import load_config

    if resume_dir:
        changes = _resume_changes(resume_dir, config, overrides, epochs, batch_size, seed)
        from nnzoo.run.directory import check_resume_downloads
        from nnzoo.training import resume

        check_resume_downloads(resume_dir)  # offline and not cached: before TensorFlow loads
        avoid_native_aborts(_run_config(resume_dir))
        import_keras_quietly()
        result = _run_training(
            resume, resume_dir, overrides=changes, quiet=quiet, run_dir=Path(resume_dir)
        )
        if result.already_finished:
            click.echo(
                f"{resume_dir}: this run already finished "
                f"({result.metrics.get('epochs')} epochs); nothing to do. To train it longer, "
                f"start a new run from it: nnzoo train {resume_dir}/config.yaml --set "
                f"model.init_from={resume_dir} --set train.epochs=N"
            )
            return
    else:
        if not config:
            raise NnzooError(
                "missing CONFIG. Fix: `nnzoo train my.yaml` (see `nnzoo init`) "
                "or `nnzoo train --resume RUN_DIR`"
            )
        cfg = load_config(config, overrides, flags=_train_flags(epochs, batch_size, seed))
        from nnzoo.run.bind import check_downloads

        check_downloads(cfg)  # offline and not cached: one line, before TensorFlow loads
        avoid_native_aborts(cfg)
        import_keras_quietly()
        from nnzoo.training import train as train_fn

        result = _run_training(train_fn, cfg, runs_dir=runs_dir, quiet=quiet)
    _print_result(result)


def _resume_changes(
    resume_dir: str,
    config: str | None,
    overrides: tuple[str, ...],
    epochs: int | None,
    batch_size: int | None,
    seed: int | None,
) -> tuple[str, ...]:
    """What ``--epochs`` and ``--set`` change in a resumed run (keys of
    :data:`~nnzoo.run.directory.RESUMABLE_KEYS` only), after refusing what a resume cannot
    change; says what will apply, so that no flag is ignored silently."""
    from nnzoo.run.directory import check_run_dir, load_run_config, read_status

    if config:
        raise NnzooError(
            f"--resume continues a run with its own config, so CONFIG ({config}) cannot be "
            "given. Fix: drop CONFIG (change train.epochs with --epochs), or start a new run "
            "without --resume"
        )
    ctx = click.get_current_context()
    if ctx.get_parameter_source("runs_dir") == click.core.ParameterSource.COMMANDLINE:
        raise NnzooError(
            f"--runs-dir does not apply with --resume: the run continues in {resume_dir}. "
            "Fix: drop --runs-dir (to train elsewhere, copy the whole run directory there and "
            "resume the copy)"
        )
    for flag, value in (("--batch-size", batch_size), ("--seed", seed)):
        if value is not None:
            raise NnzooError(
                f"{flag} cannot change when resuming: the run continues with the batches and "
                f"seeds it started with. Fix: drop {flag}, or start a new run from this one: "
                f"nnzoo train {resume_dir}/config.yaml --set model.init_from={resume_dir} "
                f"{flag} {value}"
            )
    changes = (*([f"train.epochs={epochs}"] if epochs is not None else []), *overrides)
    if not changes or read_status(check_run_dir(resume_dir)).get("state") == "finished":
        return changes  # resume() refuses them for a finished run
    before = load_run_config(resume_dir)
    after = load_run_config(resume_dir, changes)
    if after.train.epochs != before.train.epochs:
        # Only cosine has a length (the other schedules change the rate every so many
        # epochs, however many there are): the resumed optimizer keeps the compiled one.
        kept = (
            "; the cosine learning-rate schedule keeps the length it was compiled with "
            f"({before.train.epochs} epochs), then stays at its final rate"
            if after.train.schedule.name == "cosine"
            else ""
        )
        click.echo(
            f"note: training to {after.train.epochs} epochs (was {before.train.epochs}){kept}",
            err=True,
        )
    return changes


def _run_training(
    fit: Any, *args: Any, quiet: bool, run_dir: Path | None = None, **kwargs: Any
) -> Any:
    """Call ``train`` or ``resume``: the run directory is printed as soon as it exists (before
    the first epoch), and Ctrl-C (exit code 130) or SIGTERM (143) then says how to resume it."""
    started: list[Path] = [run_dir] if run_dir is not None else []  # a resumed run exists

    def on_run_dir(path: Path) -> None:
        started[:] = [path]
        if not quiet:
            click.echo(f"run: {path}")
            _echo_data(path)

    try:
        return fit(*args, quiet=quiet, on_run_dir=on_run_dir, **kwargs)
    except KeyboardInterrupt as err:
        if not started:
            raise
        click.echo(
            f"nnzoo: {interrupted(err)} — resume with: nnzoo train --resume {started[0]}",
            err=True,
        )
        sys.exit(interrupt_exit_code(err))
    except OSError as err:
        if not started or err.errno not in FULL_DISK_ERRNOS or STATE["debug"]:
            raise
        from nnzoo.run.directory import epochs_completed

        run = started[0]
        done = epochs_completed(run)
        kept = (
            f"its last good checkpoint (epoch {done}) is kept"
            if done
            else "it had no checkpoint yet"
        )
        limit = " (or raise ulimit -f)" if err.errno == errno.EFBIG else ""
        fail(
            f"{err.filename or run}: {err.strerror}; the run {run} stopped (status failed) and "
            f"{kept}. Fix: free some space{limit}, then resume it: nnzoo train --resume {run}",
            1,
        )


def _run_config(run_dir: str) -> Any:
    """A run directory's config, or ``None`` where it cannot be read (resume says why)."""
    from nnzoo.run.directory import load_run_config

    try:
        return load_run_config(Path(run_dir))
    except Exception:  # noqa: BLE001 - resume reports the damaged or missing config itself
        return None


def _echo_data(run_dir: Path) -> None:
    """``data: ...``: what the run assumes of its data (:meth:`DataSpec.describe`), then
    ``split: train N / validation N / test N``: the sizes of the split it recorded."""
    import json

    from nnzoo.data import DataSpec
    from nnzoo.errors import RunDirError
    from nnzoo.run.split import read_split

    try:
        spec = DataSpec.from_dict(json.loads((run_dir / "data_spec.json").read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return
    click.echo(f"data: {spec.describe()}")
    try:
        recorded = read_split(run_dir)
    except RunDirError:
        return
    if recorded is not None:
        sizes = " / ".join(f"{name} {len(recorded.indices[name]):,}" for name in recorded.indices)
        click.echo(f"split: {sizes}")


def _run_spec(run_dir: Path) -> Any:
    """The run's data spec, or ``None`` where it has none yet."""
    from nnzoo.data import DataSpec
    from nnzoo.run.directory import SPEC_FILE, read_json

    data = read_json(run_dir, SPEC_FILE, required=False)
    return None if data is None else DataSpec.from_dict(data)


def _print_result(result: Any) -> None:
    from rich.table import Table

    m = result.metrics
    table = Table(title="test metrics", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in m["test"].items():
        table.add_row(k, f"{v:.4f}")
    out = console()
    out.print(table)
    best = m.get("best", {})
    out.print(
        f"best epoch {best.get('epoch')} of {m['epochs']} by {m['monitor']['metric']} "
        f"({m['monitor']['mode']})   params {m['params']:,}   wall {m['wall_seconds']:.1f} s"
    )
    out.print(f"run: {result.run_dir}")
    if "accuracy" in m["test"]:
        click.echo(f"test accuracy: {m['test']['accuracy']:.4f}")
    elif "r2" in m["test"]:
        shown = [f"{k} {m['test'][k]:.4f}" for k in ("mae", "rmse", "r2") if k in m["test"]]
        click.echo(f"test {'   '.join(shown)}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--data",
    "source",
    help="Score this data source instead (with --set path=PATH for files): the recorded test "
    "split if it is the run's data, else every example.",
)
@set_option("Parameters of --data (e.g. --set path=new.csv).", metavar="PARAM=VALUE")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--per-class",
    is_flag=True,
    help="Also print precision, recall, F1 and support per class (a classifier).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    help="Write a report (pictures, tables, report.html) of the scored examples into DIR, "
    "outside the run.",
    metavar="DIR",
)
def evaluate(
    run_dir: str,
    source: str | None,
    overrides: tuple[str, ...],
    as_json: bool,
    per_class: bool,
    report_dir: str | None,
) -> None:
    """Metrics of RUN_DIR's best model on its test split, or on other data (--data).

    Without --data: the test split recorded in the run (split.npz), once the data is checked
    to be what the run was trained on; a changed file is refused, saying what changed. (A run
    saved before splits were recorded draws its split again, as it did.)

    With --data SOURCE --set path=PATH: data with the run's fingerprint (a copy of its data,
    anywhere) is scored on the recorded test split, `examples: N (recorded test split)`; any
    other data is scored whole, every example, `examples: N (whole file)`. Files are read as
    predict reads them, with the run's image size and colour mode, tokenizer, columns and class
    names; every example needs a label of the run's classes.

    --per-class prints each class's precision, recall, F1 and support (scikit-learn's
    classification_report) from one predict pass. --report DIR writes the pictures and tables
    of the scored examples, with report.html, into DIR (never into the run: a finished run has
    its own report/).
    """
    from nnzoo.config.loader import parse_set
    from nnzoo.inference.evaluate import evaluate as evaluate_fn
    from nnzoo.run.report import per_class_lines

    params = dict(parse_set(o) for o in overrides)
    metrics = evaluate_fn(
        run_dir, data=source, data_params=params, per_class=per_class, report=report_dir
    )
    summary = metrics.summary or {}
    if as_json:
        extra = {"per_class": summary["per_class"]} if per_class else {}
        click.echo(json.dumps({**metrics, "scored": metrics.scored, **extra}, indent=2))
        return
    for k, v in metrics.items():
        if k == "examples":
            click.echo(f"examples: {v} ({metrics.scored})")
        else:
            click.echo(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    if per_class:
        for line in per_class_lines(summary):
            click.echo(line)
    if report_dir is not None:
        click.echo(f"report: {Path(report_dir) / 'report.html'}")


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("inputs", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write predictions to a .csv or .json file (not in a run directory).",
)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@click.option(
    "--batch-size",
    default=1024,
    show_default=True,
    type=AtLeast(1),
    help="Examples read and predicted at a time.",
)
def predict(run_dir: str, inputs: str, output: str | None, force: bool, batch_size: int) -> None:
    """Class predictions of RUN_DIR's model for INPUTS, read and written in batches (a
    regression run: `prediction` in the target's units, and MAE, RMSE and R² where INPUTS
    carry the target: a .npz array y).

    RUN_DIR is a run directory, or a folder written by `nnzoo export` (SavedModel, ONNX or
    LiteRT: run with its own runtime, inputs read exactly as the run reads them).

    INPUTS are raw, as the run's data was: a .csv in the training file's format (header,
    delimiter) or a .parquet table of its columns (with the label column, predict also reports
    the accuracy), a .npy/.npz file (one example per row), an image or a folder of images. Text
    models take a .txt file (one text per line), a folder of .txt files (one text per file;
    class sub-folders give the accuracy) or, for a run trained on a CSV text column, a .csv with
    that column (by its header name). The model scales its inputs itself.
    """
    from nnzoo.inference.predict import iter_predictions
    from nnzoo.inference.writers import check_output, write_predictions

    target = check_output(Path(output), force=force) if output else None
    stream = iter_predictions(run_dir, inputs, batch_size=batch_size)
    if target is not None:
        count = write_predictions(stream, target)
        click.echo(f"wrote {count} predictions to {output}", err=True)
    elif not _echo_predictions(stream):
        return  # the reader went away (`nnzoo predict ... | head`): stop quietly
    for note in getattr(stream, "notes", []):
        click.echo(f"note: {note}", err=True)
    if stream.accuracy is not None:
        click.echo(
            f"accuracy: {stream.accuracy:.4f} ({stream.correct} of {stream.labelled} labelled "
            "examples)",
            err=True,
        )
    if stream.metrics is not None:
        shown = "   ".join(f"{k}: {v:.4f}" for k, v in stream.metrics.items())
        click.echo(f"{shown} ({stream.labelled} labelled examples)", err=True)


def _echo_predictions(rows: Any) -> bool:
    """Print ``input  class  probability`` lines, a batch at a time; ``False`` when stdout was
    closed by its reader (a broken pipe), which ends the command quietly with exit code 0."""
    from nnzoo.inference.writers import prediction_lines

    try:
        for lines in prediction_lines(rows):
            click.echo(lines, nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        stop_stdout()
        return False
    return True


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--prompt", default=None, help="Text to continue. Defaults to an empty prompt.")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(dir_okay=True),
    help="A UTF-8 file of prompts, one a line (blank lines skipped): all in one batch.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help='Also write {"prompt", "text"} JSON lines to this .jsonl file (not in a run directory).',
)
@click.option("--max-new-tokens", default=200, show_default=True, type=AtLeast(1))
@click.option(
    "--temperature",
    default=1.0,
    show_default=True,
    type=AtLeast(0, number=float),
    help="0 is greedy (deterministic).",
)
@click.option("--top-k", type=AtLeast(1), help="Sample from the k most likely tokens.")
@click.option("--seed", type=AtLeast(0), help="Seed of the sampler.")
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
def generate(
    run_dir: str,
    prompt: str | None,
    prompts_file: str | None,
    output: str | None,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    seed: int | None,
    force: bool,
) -> None:
    """Sample text from a trained language model (e.g. gpt_nano).

    \b
    nnzoo generate RUN_DIR --prompt "def "        prints the prompt and its continuation
    nnzoo generate RUN_DIR --prompts prompts.txt  one batch; prints "### prompt N" then each
    nnzoo generate RUN_DIR --prompts prompts.txt --output out.jsonl
    """
    from nnzoo.inference.generate import generate_batch, read_prompts, write_generations
    from nnzoo.inference.writers import check_output

    if prompt is not None and prompts_file is not None:
        raise NnzooError(
            "--prompt and --prompts cannot be used together. Fix: give one prompt with "
            "--prompt, or a file of prompts with --prompts"
        )
    # Before generating: as predict's, never into a run, nor over a file without --force.
    if output:
        check_output(Path(output), force=force, suffixes=(".jsonl",), command="generate")
    try:
        prompts = read_prompts(prompts_file) if prompts_file is not None else [prompt or ""]
    except NnzooError as err:  # the library names the file; the user gave it as --prompts
        raise NnzooError(f"--prompts {err}") from None
    try:
        texts = generate_batch(
            run_dir,
            prompts,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
        )
    except ParameterError as err:  # the library names its parameter; the user gave a flag
        raise NnzooError(err.named("--" + err.parameter.replace("_", "-"))) from None
    if output:
        rows = [{"prompt": p, "text": t} for p, t in zip(prompts, texts)]
        write_generations(rows, output)
    if prompts_file is None:
        click.echo(prompts[0] + texts[0])
        return
    for i, (p, t) in enumerate(zip(prompts, texts), start=1):
        click.echo(f"### prompt {i}\n{p}{t}")


@click.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["saved_model", "onnx", "litert"]),
    help="SavedModel (TF Serving), ONNX (ONNX Runtime) or LiteRT (builtin operators only).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    help="The export folder. Defaults to RUN_DIR/export/FORMAT.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Run the artifact in its runtime and compare with model.keras.",
)
@click.option("--force", is_flag=True, help="Replace an existing export folder.")
def export_cmd(run_dir: str, fmt: str, output: str | None, verify: bool, force: bool) -> None:
    """Export RUN_DIR's model to SavedModel, ONNX or LiteRT, verified against the original.

    The folder holds the artifact, data_spec.json (inputs by name, class names), the
    tokenizer of a text run, model.md and export_report.json. Unless --no-verify, a separate
    process that imports neither nnzoo nor Keras runs the artifact with its own runtime on the
    run's test examples (or inputs made from its input spec), at batch sizes and sequence
    lengths the run never trained on; outputs further than 1e-4 from model.keras's end with
    exit code 1 (the artifact is kept, its report says it failed). Float32 only: quantisation
    is out of scope for now.
    """
    from nnzoo.inference.export import export_run
    from nnzoo.inference.verify import examples_phrase

    report = export_run(run_dir, fmt, output=output, verify=verify, force=force)
    folder = report["folder"]
    click.echo(f"exported to {folder} ({report['size_bytes']:,} bytes)")
    if not report["verified"]:
        click.echo("not verified (--no-verify)")
        return
    if report.get("max_abs_diff") is None:
        fail(f"{folder}/{report['artifact']} could not be verified: {report.get('error')}", 1)
    lat = report["latency_ms_per_example"]
    agreement = (
        f", top-1 agreement {report['top1_agreement']:.4f}" if "top1_agreement" in report else ""
    )
    click.echo(
        f"max |difference| {report['max_abs_diff']:.3g} (tolerance {report['tolerance']:g}) on "
        f"{examples_phrase(report)}{agreement}; latency "
        f"per example: keras {lat['keras']:.3f} ms, {report['runtime']['name']} "
        f"{lat['export']:.3f} ms"
    )
    if not report["passed"]:
        fail(
            f"the export differs from model.keras by up to {report['max_abs_diff']:.3g} "
            f"(tolerance {report['tolerance']:g}); the artifact is kept at "
            f"{folder}/{report['artifact']}, marked failing in export_report.json",
            1,
        )


@click.command()
@click.argument("target", metavar="NAME|CONFIG")
@click.option("--batch-size", type=int, help="Examples per step (default: 32, or the config's).")
@click.option("--mode", default="train", show_default=True, help="train or infer.")
@click.option("--steps", default=20, show_default=True, type=int, help="Timed steps.")
@click.option("--warmup", default=5, show_default=True, type=int, help="Untimed steps first.")
@click.option(
    "--sequence-length",
    type=int,
    help="Tokens per example for token models (default: min(128, max_sequence_length)).",
)
@set_option("Override a hyperparameter of NAME, or a dotted key of CONFIG (repeatable).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Append a row here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def benchmark(
    target: str,
    batch_size: int | None,
    mode: str,
    steps: int,
    warmup: int,
    sequence_length: int | None,
    overrides: tuple[str, ...],
    csv_path: str | None,
    as_json: bool,
) -> None:
    """Throughput of NAME (a catalog entry, on a data-free batch) or of CONFIG's model.

    Examples (and tokens) per second and milliseconds per step after --warmup steps, peak
    memory and parameter count. Choose the backend with `nnzoo --backend jax benchmark ...`.
    """
    from nnzoo import benchmark as bench

    if target.endswith((".yaml", ".yml")) or Path(target).is_file():
        if sequence_length is not None:
            raise NnzooError(
                "--sequence-length applies to a catalog NAME. Fix: set the config's "
                "sequence length with --set, or drop --sequence-length"
            )
        result = bench.benchmark_config(
            target, overrides, mode=mode, batch_size=batch_size, steps=steps, warmup=warmup
        )
    else:
        from nnzoo.config.loader import parse_set

        result = bench.benchmark_model(
            target,
            mode=mode,
            batch_size=batch_size,
            steps=steps,
            warmup=warmup,
            params=dict(parse_set(o) for o in overrides),
            sequence_length=sequence_length,
        )
    if csv_path:
        bench.append_csv(csv_path, result)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    from rich.table import Table

    row = result.to_dict()
    table = Table(title=f"nnzoo benchmark: {result.model} ({result.mode}, {result.backend})")
    table.add_column("field")
    table.add_column("value", justify="right")
    for key, value in row.items():
        table.add_row(
            key,
            ""
            if value is None
            else f"{value:,}"
            if isinstance(value, int | float)
            else str(value),
        )
    console().print(table)


def _human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""  # unreachable


def _human_wall(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


_STATUS_STYLE = {
    "finished": "green",
    "running": "cyan",
    "interrupted": "yellow",
    "failed": "red",
    "unreadable": "red",
}


@click.command("runs")
@click.argument("directory", default="runs", required=False, type=click.Path(file_okay=False))
@click.option(
    "--sort",
    "sort_key",
    default="newest",
    show_default=True,
    metavar="KEY",
    help="newest, oldest, name, model, data, status, best_epoch, wall (longest first), size "
    "(largest first), or a test metric (accuracy, r2, rmse, loss...: best first).",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON list of objects (stable keys).")
def runs_cmd(directory: str, sort_key: str, as_json: bool) -> None:
    """List the runs under DIRECTORY (default: runs), tuning trials included.

    One row per run: name/run-id, model, data source, status (finished, running,
    interrupted, failed; unreadable for a damaged run), best epoch, the test metric
    (accuracy for classifiers, r2 for regression, perplexity for language models; for a
    tuning trial without test metrics, its monitored metric at the best epoch), wall time
    and size on disk. Reads only the runs' JSON and YAML files: fast, and Keras is not loaded.
    The run column is the path below DIRECTORY: DIRECTORY/RUN is what `nnzoo compare`,
    `evaluate` and `predict` take.
    """
    from nnzoo.run.listing import list_runs

    rows = list_runs(directory, sort=sort_key)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    if not rows:
        click.echo(f"no runs under {directory}")
        return
    table = Table(title=f"nnzoo runs: {directory} ({len(rows)})")
    for name, justify in (
        ("run", "left"),
        ("model", "left"),
        ("data", "left"),
        ("status", "left"),
        ("best", "right"),
        ("metric", "right"),
        ("wall", "right"),
        ("size", "right"),
    ):
        # The run's path folds (it is what `compare` takes); the short cells never wrap.
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name != "run")  # type: ignore[arg-type]
    root = Path(directory)
    table.columns[0].min_width = min(30, max(len(r["path"]) for r in rows) - len(directory) - 1)
    for row in rows:
        try:
            where = str(Path(row["path"]).relative_to(root))
        except ValueError:
            where = row["path"]
        where = where if where != "." else row["path"]
        status = row["status"] or ""
        best = f"{row['best_epoch']}/{row['epochs']}" if row["best_epoch"] else ""
        where_from = {"test": "test", "best_epoch": "best"}.get(row["metric_from"], "")
        test = f"{where_from} {row['metric']} {row['value']:.4g}" if row["metric"] else ""
        table.add_row(
            where,
            row["model"] or "",
            row["data"] or "",
            f"[{_STATUS_STYLE.get(status, 'default')}]{status}[/]",
            best,
            test,
            _human_wall(row["wall_seconds"]),
            _human_size(row["size_bytes"]),
        )
    console().print(table)
    for row in rows:
        if row["status"] == "unreadable":
            click.echo(f"nnzoo: note: {row['path']}: unreadable: {row['error']}", err=True)


@click.command("compare")
@click.argument("run_dirs", nargs=-1, metavar="RUN RUN...", type=click.Path())
@click.option(
    "--output",
    type=click.Path(),
    help="Folder to write (default: a new compare-<timestamp> in the current folder).",
)
@click.option("--force", is_flag=True, help="Write into an existing, non-empty --output folder.")
def compare_cmd(run_dirs: tuple[str, ...], output: str | None, force: bool) -> None:
    """Compare two or more runs: overlaid curves, metric table, config differences.

    Writes into --output (never into a run): compare.md, with the test metrics, best
    epoch, parameters and wall time of each run and the config.yaml keys whose values
    differ, and curves_<metric>.png per history.csv column the runs share (loss, val_loss,
    accuracy...), a line per run. Works for a study's trials (runs/NAME/tune/trials/N) as for
    runs of any configs. Reads only the runs' files: Keras is not loaded.
    """
    from nnzoo.inference.compare import compare

    out = compare(list(run_dirs), output, force=force)
    pictures = len(list(out.glob("curves_*.png")))
    click.echo(f"compare: {out}/compare.md and {pictures} curves_*.png")


#: The commands this module adds to the ``nnzoo`` group.
COMMANDS = (train, evaluate, predict, generate, export_cmd, benchmark, runs_cmd, compare_cmd)
