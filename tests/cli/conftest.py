"""What the run-directory commands' tests share: one real tiny run a module."""

from __future__ import annotations

import pytest

#: A 2-epoch MLP on iris, checkpointing every epoch: a run as the trainer writes it.
TINY = [
    "name=tiny",
    "model.params={hidden_units: [8]}",
    "data.source=iris",
    "data.batch_size=16",
    "train.epochs=2",
    "train.schedule.name=constant",
    "train.callbacks.early_stopping.enabled=false",
    "train.checkpoint_every_seconds=0",
]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A finished run trained by ``nnzoo.train`` (once per test module)."""
    from nnzoo.run.bind import load_config
    from nnzoo.training import train

    root = tmp_path_factory.mktemp("real")
    return train(load_config("configs/quickstart.yaml", TINY), runs_dir=root, quiet=True).run_dir
