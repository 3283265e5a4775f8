"""The transformer text classifier honours its padding mask and pools only real tokens."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model


@pytest.fixture(scope="module")
def model():
    return build_model("transformer", vocabulary_size=50, num_classes=3)


def test_padding_does_not_change_the_logits(model):
    rng = np.random.default_rng(0)
    token_ids = rng.integers(1, 50, size=(2, 10)).astype("int32")
    padding_mask = np.ones((2, 10), dtype="int32")
    padding_mask[1, 6:] = 0
    base = np.asarray(model({"token_ids": token_ids, "padding_mask": padding_mask}))
    changed = token_ids.copy()
    changed[1, 6:] = rng.integers(1, 50, size=4)  # garbage in the padding only
    out = np.asarray(model({"token_ids": changed, "padding_mask": padding_mask}))
    np.testing.assert_allclose(out, base, atol=1e-5)
    # A padded example scores like the same text without padding.
    short = np.asarray(
        model({"token_ids": token_ids[1:, :6], "padding_mask": padding_mask[1:, :6]})
    )
    np.testing.assert_allclose(short, base[1:], atol=1e-5)


def test_output_is_one_logit_per_class(model):
    out = model({"token_ids": np.ones((4, 7), "int32"), "padding_mask": np.ones((4, 7), "int32")})
    assert tuple(out.shape) == (4, 3)


def test_position_table_is_sized_to_max_sequence_length():
    model = build_model("transformer", max_sequence_length=32)
    assert model.get_layer("position_embedding").embeddings.shape == (32, 64)


def test_hidden_dim_must_be_a_multiple_of_num_heads():
    with pytest.raises(ConfigError) as err:
        build_model("transformer", num_heads=3)
    assert str(err.value) == (
        "params.num_heads: `hidden_dim` must be a positive multiple of `num_heads`. "
        "Received: hidden_dim=64, num_heads=3. Fix: use a num_heads that divides "
        "hidden_dim=64, e.g. 1, 2 or 4"
    )
