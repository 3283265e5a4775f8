"""GPT: the published GPT-2 count, causality, and a tied LM head that survives saving."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model


def test_gpt2_has_the_published_parameter_count():
    # GPT-2 small (Radford et al. 2019, Hugging Face GPT2Model / GPT2LMHeadModel with the
    # tied head): 124,439,808.
    assert build_model("gpt2").count_params() == 124_439_808


@pytest.mark.slow
def test_gpt2_medium_has_the_published_parameter_count():
    """The one build of a GPT-2 size beyond small (1.4 GB of weights); large and XL are checked
    by the closed form only (tests/models/test_hyperparameters.py)."""
    assert build_model("gpt2_medium").count_params() == 354_823_168


@pytest.mark.parametrize(
    ("name", "layers", "hidden", "heads", "published"),
    [
        ("gpt2", 12, 768, 12, 124_439_808),
        ("gpt2_medium", 24, 1024, 16, 354_823_168),
        ("gpt2_large", 36, 1280, 20, 774_030_080),
        ("gpt2_xl", 48, 1600, 25, 1_557_611_200),
    ],
)
def test_gpt2_sizes_have_the_published_counts_by_the_closed_form(
    name, layers, hidden, heads, published
):
    """Radford et al. 2019's four sizes (Hugging Face / KerasHub: the same counts), without
    building them: the card's closed form, which equals Keras' count on small sizes."""
    from nnzoo.registry import get_card

    card = get_card(name)
    sizes = (card.defaults["num_layers"], card.defaults["hidden_dim"], card.defaults["num_heads"])
    assert sizes == (layers, hidden, heads)
    assert card.defaults["intermediate_dim"] == 4 * hidden
    assert (card.defaults["vocabulary_size"], card.defaults["max_sequence_length"]) == (
        50257,
        1024,
    )
    assert card.count_params(**card.defaults) == card.num_params == published


def test_gpt_nano_is_cpu_sized():
    assert build_model("gpt_nano").count_params() < 1_000_000


@pytest.fixture(scope="module")
def nano():
    return build_model("gpt_nano", vocabulary_size=64)


def _tokens(seed, batch_size=2, length=12):
    return np.random.default_rng(seed).integers(1, 64, size=(batch_size, length)).astype("int32")


@pytest.mark.parametrize("pad", [False, True])
def test_logits_at_t_do_not_depend_on_later_tokens(nano, pad):
    token_ids = _tokens(0)
    padding_mask = np.ones_like(token_ids)
    if pad:
        padding_mask[1, 9:] = 0
    base = np.asarray(nano({"token_ids": token_ids, "padding_mask": padding_mask}))
    assert base.shape == (2, 12, 64)
    for t in (0, 4, 8, 10):
        changed = token_ids.copy()
        changed[:, t + 1 :] = _tokens(t + 1)[:, t + 1 :]
        out = np.asarray(nano({"token_ids": changed, "padding_mask": padding_mask}))
        np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-5)
        # Control: the later positions do see the change.
        assert np.abs(out[0, t + 1 :] - base[0, t + 1 :]).max() > 1e-4


def test_lm_head_is_tied_to_the_token_embedding(nano, tmp_path):
    import keras

    vocab_matrices = [w for w in nano.weights if 64 in tuple(w.shape)]
    assert [w.path for w in vocab_matrices] == ["token_embedding/embeddings"]
    inputs = {"token_ids": _tokens(3), "padding_mask": np.ones((2, 12), "int32")}
    path = tmp_path / "gpt_nano.keras"
    nano.save(path)
    loaded = keras.saving.load_model(path)
    expected = np.asarray(nano(inputs))
    np.testing.assert_allclose(np.asarray(loaded(inputs)), expected, atol=1e-6)
    # Still tied after loading: changing the embedding changes the logits.
    embedding = loaded.get_layer("token_embedding").embeddings
    embedding.assign(np.zeros(embedding.shape, "float32"))
    np.testing.assert_allclose(np.asarray(loaded(inputs)), 0.0, atol=1e-6)


def test_hidden_dim_must_be_a_multiple_of_num_heads():
    with pytest.raises(ConfigError) as err:
        build_model("gpt_nano", num_heads=5)
    assert str(err.value) == (
        "params.num_heads: `hidden_dim` must be a positive multiple of `num_heads`. "
        "Received: hidden_dim=128, num_heads=5. Fix: use a num_heads that divides "
        "hidden_dim=128, e.g. 2, 4 or 8"
    )
