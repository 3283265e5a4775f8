"""Helpers for writing a source, as ``nnzoo.data`` exports them."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import classification_data, regression_data
from nnzoo.errors import ConfigError


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
    }  # "target" only for regression, so a classifier's data_spec.json reads as before
    assert data.x is x and data.y is y and data.test is test and not data.full_batch


def test_regression_data_has_no_classes_float_targets_and_their_statistics():
    x = np.zeros((4, 3), dtype="float32")
    y = np.array([1, 2, 3, 6], dtype="int64")
    test = (x[:2], np.array([0.0, 8.0]))
    data = regression_data(x, y, input_kind="features", feature_scaling="standardize", test=test)
    spec = data.spec
    assert (spec.task, spec.num_classes, spec.class_names) == ("regression", None, None)
    assert data.y.dtype == np.float32 and data.test[1].dtype == np.float32
    values = np.array([1, 2, 3, 6, 0, 8], dtype="float64")  # its own and its test targets
    assert spec.target == pytest.approx(
        {"mean": values.mean(), "std": values.std(), "min": 0.0, "max": 8.0}
    )
    with pytest.raises(ConfigError, match=r"\(test\): the target of row 1 is inf"):
        regression_data(x, y, input_kind="features", test=(x[:2], np.array([0.0, np.inf])))
