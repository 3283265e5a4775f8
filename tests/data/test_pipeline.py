"""Pipelines: seeded shuffling, augmentation only in training, sequence weights."""

from __future__ import annotations

import numpy as np

from nnzoo.config.schema import AugmentConfig
from nnzoo.data.pipeline import make_dataset, sequence_weights


def batches(ds):
    return [tuple(np.asarray(t) for t in b) for b in ds]


def test_training_pipeline_is_shuffled_by_seed_and_eval_keeps_order():
    x = np.arange(20, dtype="float32").reshape(20, 1)
    y = np.arange(20, dtype="int32")
    a = np.concatenate(
        [b[1] for b in batches(make_dataset(x, y, batch_size=8, training=True, seed=1))]
    )
    b = np.concatenate(
        [b[1] for b in batches(make_dataset(x, y, batch_size=8, training=True, seed=1))]
    )
    c = np.concatenate([b[1] for b in batches(make_dataset(x, y, batch_size=8, training=False))])
    assert sorted(a.tolist()) == list(range(20))
    assert a.tolist() == b.tolist()
    assert a.tolist() != list(range(20))
    assert c.tolist() == list(range(20))


def test_augmentation_changes_training_images_only():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 16, 16, 3)).astype("float32")
    y = np.zeros(8, dtype="int32")
    aug = AugmentConfig(flip="horizontal", rotation=0.1, zoom=0.2)
    train = np.concatenate(
        [
            b[0]
            for b in batches(
                make_dataset(x, y, batch_size=8, training=True, seed=0, augment=aug, shuffle=False)
            )
        ]
    )
    evaluation = np.concatenate(
        [b[0] for b in batches(make_dataset(x, y, batch_size=8, training=False, augment=aug))]
    )
    np.testing.assert_array_equal(evaluation, x)
    assert train.shape == x.shape
    assert not np.allclose(train, x)


def test_sequence_targets_get_weights_that_skip_ignored_labels():
    y = np.array([[5, 6, -1], [7, -1, -1]], dtype="int32")
    np.testing.assert_array_equal(sequence_weights(y), [[1, 1, 0], [1, 0, 0]])
    assert sequence_weights(np.array([0, 1], dtype="int32")) is None
    x = {"token_ids": np.ones((2, 3), "int32"), "padding_mask": np.ones((2, 3), "int32")}
    ((_, _, wb),) = batches(make_dataset(x, y, batch_size=2, training=False))
    np.testing.assert_array_equal(np.asarray(wb), [[1, 1, 0], [1, 0, 0]])


def test_large_arrays_are_gathered_from_numpy_in_the_same_batches(monkeypatch):
    """Rule: arrays above IN_GRAPH_BYTES are not copied into the graph; their batches (and
    a dict input's) are the in-graph path's, row for row."""
    from nnzoo.data import pipeline

    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(300, 5)).astype("float32"), "b": np.arange(300).reshape(300, 1)}
    y = np.arange(300) % 3

    def batches():
        ds = pipeline.make_dataset(x, y, batch_size=32, training=True, seed=3)
        return [(xb["a"].numpy(), xb["b"].numpy(), yb.numpy()) for xb, yb in ds]

    in_graph = batches()
    monkeypatch.setattr(pipeline, "IN_GRAPH_BYTES", 16)
    from_numpy = batches()
    assert len(in_graph) == len(from_numpy) == 10
    for got, want in zip(from_numpy, in_graph, strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
