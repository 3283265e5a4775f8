"""nnzoo train vs a bare Keras script: steady-state seconds per epoch (goal: <= 1.05x).

Same model, data, batch size and epochs in one process, in ``--repeat`` interleaved rounds
(the median over every round's epochs); nnzoo's epoch includes everything it adds per epoch
(tf.data pipeline, learning-rate logging, best checkpoint, CSV history and the resume
checkpoint with optimizer state, written as ``train.checkpoint_every_seconds`` says:
``--intervals 0,5`` trains once per value, 0 being a checkpoint every epoch). Epoch 1
(tracing) is left out of the median. Tiny epochs (~0.1 s), where the overhead shows:

    python scripts/bench_overhead.py [--config configs/cnn_cifar.yaml] [--epochs 5]
    python scripts/bench_overhead.py --config configs/quickstart.yaml --source digits \
        --epochs 30 --repeat 3 --intervals 0,5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))
from _bench import epoch_clock  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/cnn_cifar.yaml")
    parser.add_argument("--source", default="shapes", help="an offline data source")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds")
    parser.add_argument(
        "--intervals",
        default="5",
        help="comma-separated train.checkpoint_every_seconds values, one nnzoo run each",
    )
    args = parser.parse_args()

    import keras

    from nnzoo.run.bind import load_config, prepare
    from nnzoo.run.losses import loss_and_metrics
    from nnzoo.training import train

    overrides = [
        f"data.source={args.source}",
        f"train.epochs={args.epochs}",
        "train.callbacks.early_stopping=false",
        "data.augment={}",
        "train.schedule.name=constant",
        "data.params={}",
    ]
    config = load_config(args.config, overrides)
    card, params, splits = prepare(config)

    def bare_fit() -> list[float]:
        """The bare script: build the same model, compile the same way, fit NumPy arrays."""
        keras.utils.set_random_seed(config.seed)
        model = card.builder(**params)
        loss, metrics = loss_and_metrics(
            task="classification", output_units=model.output_shape[-1]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(config.train.optimizer.learning_rate),
            loss=loss,
            metrics=metrics,
        )
        clock = epoch_clock()
        model.fit(
            *splits.train,
            batch_size=config.data.batch_size,
            epochs=args.epochs,
            validation_data=splits.validation,
            callbacks=[clock],
            verbose=0,
        )
        return clock.times[1:]

    def nnzoo_fit(interval: str) -> list[float]:
        clock = epoch_clock()
        config.train.checkpoint_every_seconds = float(interval)
        train(config, runs_dir=tempfile.mkdtemp(), quiet=True, callbacks=[clock])
        return clock.times[1:]

    # Interleaved rounds, so that a busy moment of the machine hits every variant.
    bare_times: list[float] = []
    nnzoo_times: dict[str, list[float]] = {i: [] for i in args.intervals.split(",")}
    for _ in range(args.repeat):
        bare_times += bare_fit()
        for interval, times in nnzoo_times.items():
            times += nnzoo_fit(interval)
    nnzoo = {interval: statistics.median(times) for interval, times in nnzoo_times.items()}

    b = statistics.median(bare_times)
    print(
        f"model {config.model.name} on {args.source}: {len(splits.train[1])} train examples, "
        f"batch {config.data.batch_size}, {args.epochs} epochs x {args.repeat} rounds"
    )
    print(f"bare keras   {b:.4f} s/epoch")
    for interval, n in nnzoo.items():
        print(
            f"nnzoo train  {n:.4f} s/epoch (checkpoint_every_seconds={interval}): "
            f"ratio nnzoo / bare {n / b:.3f}, +{1000 * (n - b):.1f} ms/epoch (goal <= 1.05)"
        )


if __name__ == "__main__":
    main()
