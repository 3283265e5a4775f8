"""The ``synthetic`` source: every input kind and task, deterministic, slightly learnable."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import get_source, load_data
from nnzoo.data.synthetic import load_synthetic
from nnzoo.data.tokenizers import NUM_SPECIAL, SPECIAL_TOKENS
from nnzoo.errors import ConfigError

CLS, SEP = SPECIAL_TOKENS.index("[CLS]"), SPECIAL_TOKENS.index("[SEP]")


def _fit_accuracy(x, y, seed=0):
    """Held-out accuracy of a logistic regression: is there something to learn?"""
    from sklearn.linear_model import LogisticRegression

    x = x.reshape(len(x), -1)
    half = len(x) // 2
    model = LogisticRegression(max_iter=500).fit(x[:half], y[:half])
    return model.score(x[half:], y[half:])


def test_features_default_shape_and_learnable_labels():
    data = load_synthetic(seed=0, input_kind="features", num_examples=400, num_classes=3)
    assert data.x.shape == (400, 16) and data.x.dtype == np.float32
    assert data.y.dtype == np.int32 and set(np.unique(data.y)) == {0, 1, 2}
    assert data.spec.input_kind == "features" and data.spec.input_shape == (16,)
    assert data.spec.num_classes == 3 and data.spec.class_names == [
        "class_0",
        "class_1",
        "class_2",
    ]
    assert _fit_accuracy(data.x, data.y) > 0.8


def test_any_feature_shape():
    data = load_synthetic(seed=0, input_shape=[4, 5], num_examples=10)
    assert data.x.shape == (10, 4, 5) and data.spec.input_shape == (4, 5)


def test_images_in_unit_range_and_learnable():
    data = load_synthetic(
        seed=1, input_kind="image", input_shape=[12, 10, 3], num_classes=4, num_examples=200
    )
    assert data.x.shape == (200, 12, 10, 3) and data.x.dtype == np.float32
    assert data.x.min() >= 0.0 and data.x.max() <= 1.0
    assert np.bincount(data.y).tolist() == [50] * 4  # balanced
    assert data.spec.input_kind == "image" and data.spec.input_shape == (12, 10, 3)
    assert _fit_accuracy(data.x, data.y) > 0.8
    default = load_synthetic(seed=1, input_kind="image", num_examples=2)
    assert default.x.shape == (2, 32, 32, 3)


def test_token_classification_padding_and_keywords():
    data = load_synthetic(
        seed=2, input_kind="tokens", input_shape=[20], vocabulary_size=50, num_examples=300
    )
    ids, mask = data.x["token_ids"], data.x["padding_mask"]
    assert set(data.x) == {"token_ids", "padding_mask"}
    assert ids.shape == (300, 20) and ids.dtype == np.int32 and mask.dtype == np.int32
    np.testing.assert_array_equal(mask, (ids != 0).astype(np.int32))
    assert mask.sum(axis=1).min() >= 10 and ids.max() < 50
    assert ids[mask == 1].min() >= NUM_SPECIAL
    # Real tokens first, then padding.
    assert np.all(np.diff(mask, axis=1) <= 0)
    assert data.spec.input_kind == "tokens" and data.spec.vocabulary_size == 50
    assert data.spec.sequence_length == 20 and data.spec.input_shape == (20,)
    counts = np.stack([np.bincount(row, minlength=50) for row in ids])[:, NUM_SPECIAL:]
    assert _fit_accuracy(counts.astype("float32"), data.y) > 0.8  # bag of words


def test_segments_frame_cls_sep_with_two_segments():
    data = load_synthetic(seed=3, input_shape=[12], segments=True, num_examples=40)
    assert data.spec.input_kind == "tokens_segments"  # auto: segments -> tokens_segments
    ids, mask, seg = (data.x[k] for k in ("token_ids", "padding_mask", "segment_ids"))
    np.testing.assert_array_equal(ids[:, 0], CLS)
    for row in range(len(ids)):
        n = int(mask[row].sum())
        assert ids[row, n - 1] == SEP and (ids[row, :n] == SEP).sum() == 2
        first_sep = int(np.argmax(ids[row] == SEP))
        assert seg[row, : first_sep + 1].max() == 0 and seg[row, first_sep + 1 : n].min() == 1
        assert seg[row, n:].max(initial=0) == 0
    explicit = load_synthetic(seed=3, input_kind="tokens_segments", num_examples=4)
    assert "segment_ids" in explicit.x


def test_language_modeling_targets_are_next_tokens():
    data = load_synthetic(
        seed=4, task="language_modeling", input_shape=[16], vocabulary_size=40, num_examples=64
    )
    ids, mask, y = data.x["token_ids"], data.x["padding_mask"], data.y
    assert data.spec.input_kind == "tokens" and data.spec.task == "language_modeling"
    assert data.spec.num_classes is None and data.spec.class_names is None
    assert y.shape == (64, 16) and y.dtype == np.int32
    np.testing.assert_array_equal(y == -1, mask == 0)
    np.testing.assert_array_equal(ids[:, 1:][mask[:, 1:] == 1], y[:, :-1][mask[:, 1:] == 1])
    # The walks follow a fixed successor table most of the time: learnable.
    pairs = {}
    for a, b in zip(ids[mask == 1], y[mask == 1], strict=True):
        pairs.setdefault(int(a), []).append(int(b))
    hits = sum(max(np.bincount(v)) for v in pairs.values())
    assert hits / int(mask.sum()) > 0.8


def test_masked_lm_targets_only_at_masked_positions():
    data = load_synthetic(seed=5, task="masked_lm", input_shape=[32], num_examples=64)
    assert data.spec.input_kind == "tokens_segments" and data.spec.task == "masked_lm"
    x, y = data.x, data.y
    assert set(x) == {"token_ids", "padding_mask", "segment_ids"}
    np.testing.assert_array_equal(x["token_ids"][:, 0], CLS)
    chosen = y != -1
    assert 0.05 < chosen.sum() / x["padding_mask"].sum() < 0.3
    assert np.all(x["padding_mask"][chosen] == 1) and y[chosen].min() >= NUM_SPECIAL


def test_deterministic_from_the_seed():
    a = load_synthetic(seed=7, input_kind="tokens", num_examples=20)
    b = load_synthetic(seed=7, input_kind="tokens", num_examples=20)
    c = load_synthetic(seed=8, input_kind="tokens", num_examples=20)
    np.testing.assert_array_equal(a.x["token_ids"], b.x["token_ids"])
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x["token_ids"], c.x["token_ids"])


def test_bad_params_are_config_errors():
    with pytest.raises(ConfigError, match="data.params.input_kind"):
        load_synthetic(seed=0, input_kind="audio")
    with pytest.raises(ConfigError, match="data.params.input_shape"):
        load_synthetic(seed=0, input_kind="image", input_shape=[8, 8])
    with pytest.raises(ConfigError, match="data.params.input_kind: task language_modeling"):
        load_synthetic(seed=0, input_kind="features", task="language_modeling")
    with pytest.raises(ConfigError, match="data.params.num_classes"):
        load_synthetic(seed=0, num_classes=1)


def test_registered_and_splits_through_load_data():
    source = get_source("synthetic")
    assert source.offline
    assert {"task", "segments", "input_kind", "input_shape"} <= set(source.parameters)
    splits = load_data("synthetic", params={"input_shape": [8], "num_examples": 100}, seed=0)
    assert splits.spec.input_shape == (8,)
    assert len(splits.train[0]) + len(splits.validation[0]) + len(splits.test[0]) == 100
    lm = load_data("synthetic", params={"task": "language_modeling", "num_examples": 50}, seed=0)
    assert lm.spec.task == "language_modeling" and lm.train[1].ndim == 2
