"""Language-model accuracy counts the positions that have a target, as the loss does."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import IGNORE_INDEX
from nnzoo.run.losses import TokenAccuracy, loss_and_metrics


def test_ignored_positions_are_not_counted_as_misses():
    y = np.array([[1, IGNORE_INDEX, 2, IGNORE_INDEX], [0, 0, IGNORE_INDEX, 2]])
    logits = np.full((2, 4, 3), -1.0, dtype="float32")
    for row, col, cls in [(0, 0, 1), (0, 2, 0), (1, 0, 0), (1, 1, 2), (1, 3, 2), (0, 1, 1)]:
        logits[row, col, cls] = 5.0
    metric = TokenAccuracy(name="accuracy")
    metric.update_state(y, logits)
    assert float(metric.result()) == pytest.approx(3 / 5)  # 5 real targets, 3 right


@pytest.mark.parametrize("task", ["language_modeling", "masked_lm"])
def test_language_models_report_token_accuracy(task):
    _, metrics = loss_and_metrics(task=task, output_units=7)
    assert [type(m).__name__ for m in metrics] == ["TokenAccuracy"]
    assert metrics[0].name == "accuracy"
