"""Offline tabular sources: scikit-learn's bundled sets and generated logic gates."""

from __future__ import annotations

import numpy as np

from nnzoo.data._prepare import STANDARDIZE
from nnzoo.data._sources import (
    SourceData,
    classification_data,
    register_source,
    regression_data,
)

#: Features whose range is known: pixel intensities 0..16 of the 8x8 digits.
_RANGES = {"digits": [0.0, 16.0]}


def _sklearn(name: str, *, scale: bool):
    def load(*, seed: int, standardize: bool = scale) -> SourceData:
        """The raw features; the model scales them (``standardize``: with the mean and
        variance of the training split; digits otherwise map 0..16 to [0, 1])."""
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{name}")()
        x = bunch.data.astype("float32")
        names = [str(n) for n in bunch.target_names]
        columns = [str(c) for c in bunch.feature_names] + ["target"]
        return classification_data(
            x,
            bunch.target.astype("int32"),
            names,
            input_kind="features",
            feature_scaling=STANDARDIZE if standardize else _RANGES.get(name),
            table={"columns": columns, "label_column": len(columns) - 1, "delimiter": ","},
        )

    load.__name__ = f"load_{name}"
    return load


for _name, _summary in (
    ("digits", "8x8 handwritten digits, 1,797 examples, 10 classes (scikit-learn)"),
    ("iris", "Fisher's iris, 150 examples, 4 features, 3 classes (scikit-learn)"),
    ("wine", "Wine recognition, 178 examples, 13 features, 3 classes (scikit-learn)"),
    ("breast_cancer", "Wisconsin breast cancer, 569 examples, 30 features, 2 classes"),
):
    register_source(
        _name,
        _sklearn(_name, scale=_name != "digits"),
        input_kind="features",
        summary=_summary,
        offline=True,
    )


def load_diabetes(*, seed: int, standardize: bool = True) -> SourceData:
    """Efron et al.'s diabetes set (scikit-learn): 442 patients, 10 raw baseline features (age,
    sex, BMI, blood pressure, six serum measurements), the target a measure of disease
    progression one year later (25 .. 346). ``standardize``: the model standardises the
    features with the mean and variance of the training split."""
    import sklearn.datasets

    bunch = sklearn.datasets.load_diabetes(scaled=False)
    columns = [str(c) for c in bunch.feature_names] + ["target"]
    return regression_data(
        bunch.data.astype("float32"),
        bunch.target.astype("float32"),
        input_kind="features",
        feature_scaling=STANDARDIZE if standardize else None,
        table={"columns": columns, "label_column": len(columns) - 1, "delimiter": ","},
        where="data source 'diabetes'",
    )


register_source(
    "diabetes",
    load_diabetes,
    input_kind="features",
    summary="Diabetes progression, 442 examples, 10 features, regression (scikit-learn)",
    offline=True,
)

_GATES = {
    "xor": lambda a, b: a ^ b,
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
}


def _gate(name: str):
    def load(*, seed: int) -> SourceData:
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="int32")
        y = _GATES[name](x[:, 0], x[:, 1]).astype("int32")
        return classification_data(
            x.astype("float32"), y, ["0", "1"], input_kind="features", full_batch=True
        )

    load.__name__ = f"load_{name}"
    return load


for _name in _GATES:
    register_source(
        _name,
        _gate(_name),
        input_kind="features",
        summary=f"The {_name.upper()} truth table (4 examples; train = validation = test)",
        offline=True,
    )
