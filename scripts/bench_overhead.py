"""nnzoo train vs a bare Keras script: steady-state seconds per epoch (goal: <= 1.05x).

Same model, data, batch size and epochs in one process; nnzoo's epoch includes everything it
adds per epoch (tf.data pipeline, learning-rate logging, best checkpoint, CSV history and the
resume checkpoint with optimizer state). Epoch 1 (tracing) is left out of the median.

    python scripts/bench_overhead.py [--config configs/cnn_cifar.yaml] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))
from _bench import epoch_clock, steady  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/cnn_cifar.yaml")
    parser.add_argument("--source", default="shapes", help="an offline data source")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    import keras

    from nnzoo.config import load_config
    from nnzoo.training import train
    from nnzoo.training.losses import loss_and_metrics
    from nnzoo.training.resolve import prepare

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

    # The bare script: build the same model, compile the same way, fit NumPy arrays.
    keras.utils.set_random_seed(config.seed)
    model = card.builder(**params)
    loss, metrics = loss_and_metrics(task="classification", output_units=model.output_shape[-1])
    model.compile(
        optimizer=keras.optimizers.Adam(config.train.optimizer.learning_rate),
        loss=loss,
        metrics=metrics,
    )
    bare = epoch_clock()
    model.fit(
        *splits.train,
        batch_size=config.data.batch_size,
        epochs=args.epochs,
        validation_data=splits.validation,
        callbacks=[bare],
        verbose=0,
    )

    clock = epoch_clock()
    train(config, runs_dir=tempfile.mkdtemp(), quiet=True, callbacks=[clock])

    b, n = steady(bare.times), steady(clock.times)
    print(
        f"model {config.model.name} on {args.source}: {len(splits.train[1])} train examples, "
        f"batch {config.data.batch_size}, {args.epochs} epochs"
    )
    print(f"bare keras   {b:.3f} s/epoch")
    print(f"nnzoo train  {n:.3f} s/epoch")
    print(f"ratio nnzoo / bare: {n / b:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
