"""BERT: published parameter counts, the attention mask is honoured, the masked-LM head."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.errors import ConfigError
from nnzoo.registry import build_model

# BERT-base with its pooler (Devlin et al. 2018; Hugging Face BertModel): 109,482,240.
BERT_BASE = 109_482_240


def test_bert_base_has_the_published_count_plus_its_head():
    # num_classes=2 -> one logit: a 768 -> 1 Dense adds 769 parameters.
    assert build_model("bert_base").count_params() == BERT_BASE + 769 == 109_483_009


def test_bert_base_masked_lm_count():
    # No pooler (-768*768-768); transform dense (+768*768+768) and layer norm (+2*768);
    # the output projection is the token embedding (tied), plus a 30522 bias:
    # 109,514,298 as Hugging Face BertForMaskedLM.
    model = build_model("bert_base", task="masked_lm")
    assert model.count_params() == BERT_BASE + 2 * 768 + 30522 == 109_514_298


def _inputs(seed=0, batch_size=2, length=10, vocabulary_size=1000):
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(1, vocabulary_size, size=(batch_size, length)).astype("int32")
    padding_mask = np.ones((batch_size, length), dtype="int32")
    padding_mask[1, 6:] = 0
    segment_ids = np.zeros_like(token_ids)
    segment_ids[:, 3:] = 1
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


@pytest.mark.parametrize("task", ["classification", "masked_lm"])
def test_changing_padded_tokens_does_not_change_real_outputs(task):
    model = build_model("bert_tiny", task=task, num_classes=3)
    inputs = _inputs()
    base = np.asarray(model(inputs, training=False))
    changed = {k: v.copy() for k, v in inputs.items()}
    rng = np.random.default_rng(1)
    changed["token_ids"][1, 6:] = rng.integers(1, 1000, size=4)
    changed["segment_ids"][1, 6:] = 0
    out = np.asarray(model(changed, training=False))
    if task == "classification":
        np.testing.assert_allclose(out, base, atol=1e-5)
    else:
        np.testing.assert_allclose(out[0], base[0], atol=1e-5)
        np.testing.assert_allclose(out[1, :6], base[1, :6], atol=1e-5)
    # Control: changing a real token does change the outputs.
    changed["token_ids"][1, 2] = (changed["token_ids"][1, 2] + 1) % 1000
    assert np.abs(np.asarray(model(changed, training=False))[1] - base[1]).max() > 1e-4


def test_masked_lm_outputs_vocabulary_logits_with_a_tied_projection(tmp_path):
    import keras

    model = build_model("bert_tiny", task="masked_lm", vocabulary_size=300)
    inputs = _inputs(vocabulary_size=300)
    out = np.asarray(model(inputs, training=False))
    assert out.shape == (2, 10, 300)
    # One (vocabulary_size, hidden_dim) matrix in the whole model: the tied token embedding.
    vocab_matrices = [w for w in model.weights if tuple(w.shape) == (300, 128)]
    assert [w.path for w in vocab_matrices] == ["token_embedding/embeddings"]
    path = tmp_path / "bert_mlm.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(inputs, training=False)), out, atol=1e-6)
    assert len(loaded.weights) == len(model.weights)


@pytest.mark.parametrize(
    ("name", "layers", "hidden"),
    [
        ("bert_tiny", 2, 128),
        ("bert_mini", 4, 256),
        ("bert_small", 4, 512),
        ("bert_medium", 8, 512),
    ],
)
def test_compact_sizes(name, layers, hidden):
    from nnzoo.registry import get_card

    card = get_card(name)
    assert card.defaults["num_layers"] == layers
    assert card.defaults["hidden_dim"] == hidden
    assert card.defaults["num_heads"] == hidden // 64
    assert card.defaults["intermediate_dim"] == 4 * hidden
    assert card.input_kind == "tokens_segments"


def test_unknown_task_is_rejected():
    with pytest.raises(ConfigError) as err:
        build_model("bert_tiny", task="language_modeling")
    assert str(err.value) == (
        "params.task: must be one of 'classification', 'masked_lm'. "
        "Received: task='language_modeling'. Fix: use one of them"
    )


def test_bert_large_has_the_published_count_by_the_closed_form():
    """BERT-large (24 layers, 1024 hidden, 16 heads): 335,141,888 with the pooler (Hugging Face
    BertModel, KerasHub's bert_large_en_uncased), plus a 1024 -> 1 head; not built here."""
    from nnzoo.registry import get_card

    card = get_card("bert_large")
    assert card.count_params(**card.defaults) == card.num_params == 335_141_888 + 1025
