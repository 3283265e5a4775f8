"""``nnzoo evaluate``: the metrics of a run's best model on its test split, or on other data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnzoo.config import Config
from nnzoo.data import num_examples
from nnzoo.errors import ConfigError
from nnzoo.inference.load import load_run, self_contained
from nnzoo.run.bind import effective_task, prepare
from nnzoo.run.directory import CONFIG_FILE

__all__ = ["evaluate"]


def evaluate(
    run_dir: str | Path, *, data: str | None = None, data_params: dict[str, Any] | None = None
) -> dict[str, float]:
    """Metrics of a saved run's model on its test split, or on the test split of ``data``."""
    from nnzoo.data.pipeline import make_dataset, read_errors
    from nnzoo.run.losses import compile_for_evaluation, with_perplexity

    run = load_run(run_dir)
    config = run.config
    if data is not None:
        config = config.model_copy(deep=True)
        config.data.source = data
        config.data.params = dict(data_params or {})
    else:
        _check_run_data(run_dir, config)
    config = self_contained(Path(run_dir), config, run.spec)
    card, _, splits = prepare(config)  # also checks the data against the model
    task = effective_task(card, config.model.params)
    compile_for_evaluation(run.model, run.config, card, task)
    ds = make_dataset(*splits.test, batch_size=config.data.batch_size, training=False, cache=False)
    with read_errors():
        result = run.model.evaluate(ds, return_dict=True, verbose=0)
    result = with_perplexity({k: float(v) for k, v in result.items()}, task)
    result["examples"] = int(num_examples(splits.test[0]))
    return result


def _check_run_data(run_dir: str | Path, config: Config) -> None:
    """A copied run whose data file stayed behind: say to pass the data to evaluate on."""
    from nnzoo.data import check_required_params, get_source

    source = get_source(config.data.source)
    try:
        check_required_params(source, config.data.params)
    except ConfigError as err:
        raise ConfigError(
            f"the data this run was trained on is not there: {config.data.params.get('path')!r}",
            file=str(Path(run_dir) / CONFIG_FILE),
            key=err.key,
            fix=f"evaluate on your copy of it: nnzoo evaluate {run_dir} --data {source.name} "
            "--set path=PATH",
        ) from None
