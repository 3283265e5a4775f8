"""tf.data pipeline throughput vs in-memory NumPy arrays in model.fit (goal: >= 0.95x).

python scripts/bench_input.py [--config configs/cnn_cifar.yaml] [--epochs 4]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))
from _bench import epoch_clock, steady  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/cnn_cifar.yaml")
    parser.add_argument("--source", default="shapes")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    import keras

    from nnzoo.data.pipeline import make_dataset
    from nnzoo.run.bind import load_config, prepare
    from nnzoo.run.losses import loss_and_metrics

    config = load_config(args.config, [f"data.source={args.source}", "data.params={}"])
    card, params, splits = prepare(config)
    x, y = splits.train
    batch = config.data.batch_size
    results = {}
    for name in ("numpy arrays", "nnzoo tf.data"):
        keras.utils.set_random_seed(0)
        model = card.builder(**params)
        loss, metrics = loss_and_metrics(
            task="classification", output_units=model.output_shape[-1]
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
        clock = epoch_clock()
        if name == "numpy arrays":
            model.fit(x, y, batch_size=batch, epochs=args.epochs, callbacks=[clock], verbose=0)
        else:
            ds = make_dataset(x, y, batch_size=batch, training=True, seed=0)
            model.fit(ds, epochs=args.epochs, callbacks=[clock], verbose=0)
        results[name] = len(y) / steady(clock.times)
        print(f"{name:14s} {results[name]:10.0f} examples/s")
    print(
        f"ratio tf.data / numpy: {results['nnzoo tf.data'] / results['numpy arrays']:.3f} "
        "(goal >= 0.95)"
    )


if __name__ == "__main__":
    main()
