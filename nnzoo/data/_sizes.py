"""Whether a split leaves enough to train on (issue 27, item 8).

Validation and test fractions whose sum nearly reaches 1 used to leave a training split too
small to learn from (a test accuracy of 0.19, exit 0). :func:`check_training_split` refuses,
in one line naming ``data.validation_split`` and ``data.test_split`` with the numbers, a
training split with fewer than 2 examples of a class or fewer than one batch, when the held-out
splits take more examples than it keeps. ``train`` calls it on the split it draws and
``validate`` on the sizes :func:`planned_sizes` works out without drawing (for sources whose
size is known cheaply, :mod:`nnzoo.data._precheck`).

NumPy only: ``validate`` imports it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from nnzoo.errors import ConfigError

__all__ = ["check_training_split", "planned_class_counts", "planned_sizes"]


def planned_sizes(
    n: int, validation_split: float, test_split: float, *, n_test: int | None = None
) -> dict[str, int]:
    """The sizes ``load_data`` draws from ``n`` examples: ``test_split`` held out (unless the
    source has its own ``n_test`` test examples), then ``validation_split`` of the rest."""
    if n_test is None:
        n_test = math.ceil(test_split * n)
        n -= n_test
    n_validation = math.ceil(validation_split * n) if validation_split > 0 else 0
    return {"train": n - n_validation, "validation": n_validation, "test": n_test}


def planned_class_counts(
    counts: Sequence[int], validation_split: float, test_split: float, *, own_test: bool = False
) -> list[int]:
    """About how many examples of each class (``counts``: in the whole data) a stratified
    draw keeps for training."""
    keep = (1 - validation_split) * (1 if own_test else 1 - test_split)
    return [int(math.floor(c * keep)) for c in counts]


def check_training_split(
    sizes: Mapping[str, int],
    *,
    batch_size: int,
    validation_split: float,
    test_split: float,
    class_counts: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    file: str | None = None,
) -> None:
    """Refuse a training split of ``sizes["train"]`` examples (``class_counts``: of each class)
    with fewer than 2 examples of a class or fewer than one batch, while the held-out splits
    hold more examples than it does."""
    n_train = int(sizes["train"])
    held = int(sizes["validation"]) + int(sizes["test"])
    total = n_train + held
    fractions = f"data.validation_split={validation_split} and data.test_split={test_split}"
    fix = (
        "lower data.validation_split or data.test_split (together they hold out "
        f"{held} examples), or give more examples"
    )
    key = "data.validation_split" if validation_split > 0 else "data.test_split"
    if class_counts is not None and len(class_counts):
        counts = np.asarray(class_counts)
        fewest = int(counts.argmin())
        # Only where the fractions hold out more than they keep (tiny data sets of a few
        # examples a class split so at the usual 0.1 / 0.2, and train to what they can).
        if counts[fewest] < 2 and held > n_train:
            name = class_names[fewest] if class_names and fewest < len(class_names) else fewest
            raise ConfigError(
                f"{fractions} leave {n_train} of {total} examples to train on, "
                f"{int(counts[fewest])} of class {str(name)!r}: fewer than 2 per class",
                file=file,
                key=key,
                fix=fix,
            )
    if n_train < batch_size and held > n_train:
        raise ConfigError(
            f"{fractions} leave {n_train} of {total} examples to train on, fewer than one "
            f"batch (data.batch_size={batch_size})",
            file=file,
            key=key,
            fix=fix,
        )
