"""Helpers for writing a source, as ``nnzoo.data`` exports them."""

from __future__ import annotations

import numpy as np

from nnzoo.data import classification_data


def test_classification_data_takes_the_spec_from_one_row_and_the_class_names():
    x = np.zeros((5, 8, 6, 3), dtype="float32")
    y = np.array([0, 1, 2, 1, 0], dtype="int32")
    test = (x[:2], y[:2])
    data = classification_data(x, y, ("cat", "dog", "eel"), input_kind="image", test=test)
    assert data.spec.to_dict() == {
        "input_kind": "image",
        "input_shape": [8, 6, 3],
        "num_classes": 3,
        "class_names": ["cat", "dog", "eel"],
        "vocabulary_size": None,
        "sequence_length": None,
        "task": "classification",
        "feature_scaling": None,
        "table": None,
    }
    assert data.x is x and data.y is y and data.test is test and not data.full_batch
