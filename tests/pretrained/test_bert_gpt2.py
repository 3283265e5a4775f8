"""BERT and GPT-2 presets: KerasHub saves a tiny preset with random weights to a directory
(tests/pretrained/conftest.py), ``nnzoo.build_model(name, weights="keras_hub:<dir>")`` loads it,
and raw text through both full pipelines (KerasHub's task with its preprocessor; nnzoo's
tokenizer made from the preset's, then nnzoo's model) gives the same outputs within 1e-4.
Offline: every preset here is written by ``save_to_preset`` in the test session."""

from __future__ import annotations

import logging

import keras
import keras_hub
import numpy as np
import pytest

import nnzoo
from nnzoo.data.tokenizers import from_keras_hub
from nnzoo.pretrained import bert as bert_adapter
from nnzoo.pretrained import gpt2 as gpt2_adapter
from nnzoo.registry import build_model

ATOL = 1e-4
TINY = dict(num_layers=2, num_heads=4, hidden_dim=32, intermediate_dim=64, dropout=0.0)
#: Texts of the kind the presets' vocabularies were learned on (the json package's source).
TEXTS = ["def loads(s):", "import json"]
BERT_VOCABULARY = [
    # Special tokens where the published BERT vocabularies have them (not nnzoo's ids).
    "[PAD]", *[f"[unused{i}]" for i in range(3)], "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".", "##s", "d", "##o", "##g",
]  # fmt: skip


def _task(preset):
    """KerasHub's task model of a preset directory (the class its ``task.json`` names)."""
    from keras_hub.src.utils.preset_utils import TASK_CONFIG_FILE, check_config_class, load_json

    return check_config_class(load_json(str(preset), TASK_CONFIG_FILE)).from_preset(str(preset))


def _load(name, preset, caplog, **params):
    """nnzoo's model for ``preset`` and how many tensors it loaded (from the log line)."""
    with caplog.at_level(logging.INFO, logger="nnzoo.pretrained"):
        model = nnzoo.build_model(name, weights=f"keras_hub:{preset}", **params)
    [count] = [r.args[1] for r in caplog.records if r.msg.startswith("init_from")][-1:]
    return model, count


def _numpy(inputs):
    return {k: np.asarray(v) for k, v in inputs.items()}


def _bert_classifier_preset(path, num_classes, seed):
    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=BERT_VOCABULARY)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(BERT_VOCABULARY), max_sequence_length=24, **TINY
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=12)
    classifier = keras_hub.models.BertTextClassifier(
        backbone=backbone, preprocessor=preprocessor, num_classes=num_classes
    )
    # A trained head, not a near-zero one: its copy must show in the logits.
    kernel, bias = classifier.output_dense.weights
    rng = np.random.default_rng(seed)
    kernel.assign(rng.normal(size=kernel.shape).astype("float32"))
    bias.assign(rng.normal(size=bias.shape).astype("float32"))
    classifier.save_to_preset(str(path))
    return path


# --------------------------------------------------------------------------- to_params


def test_bert_config_becomes_the_builder_parameters():
    config = keras_hub.models.BertBackbone(
        vocabulary_size=21, max_sequence_length=24, num_segments=3, **TINY
    ).get_config()
    assert bert_adapter.to_params(config) == dict(
        vocabulary_size=21,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        dropout=0.0,
        max_sequence_length=24,
        num_segments=3,  # nnzoo's builder takes any number of segments
    )


def test_gpt2_config_becomes_the_builder_parameters():
    config = keras_hub.models.GPT2Backbone(
        vocabulary_size=267, max_sequence_length=32, **TINY
    ).get_config()
    assert gpt2_adapter.to_params(config) == dict(
        vocabulary_size=267,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        dropout=0.0,
        max_sequence_length=32,
    )


def test_a_config_nnzoo_cannot_reproduce_is_refused():
    config = dict(
        vocabulary_size=99, num_layers=2, num_heads=4, hidden_dim=32, intermediate_dim=64,
        dropout=0.1, max_sequence_length=16, name="gpt2_backbone", trainable=True,
    )  # fmt: skip
    with pytest.raises(ValueError) as err:
        gpt2_adapter.to_params({**config, "rotary_max_wavelength": 10000})
    assert str(err.value) == (
        "GPT2Backbone has rotary_max_wavelength=10000, which nnzoo does not reproduce"
    )
    with pytest.raises(ValueError) as err:
        gpt2_adapter.to_params({**config, "num_heads": 5})
    assert str(err.value) == (
        "GPT2Backbone's hidden_dim is not a multiple of num_heads. Received: hidden_dim=32, "
        "num_heads=5"
    )


# --------------------------------------------------------------------------- parity


def _keras_hub_inputs(preprocessor, texts):
    """What KerasHub's own ``fit`` / ``predict`` feed the model: the preprocessor in tf.data."""
    import tensorflow as tf

    def features(batch):
        out = preprocessor(batch)
        return out[0] if isinstance(out, tuple) else out

    data = tf.data.Dataset.from_tensor_slices(texts).batch(len(texts)).map(features)
    return _numpy(next(iter(data)))


def _nnzoo_inputs(rows, pad_id, length):
    """Token id rows padded to ``length``; the mask from the rows' lengths (GPT-2 pads with an
    ordinary id, so ``!= pad_id`` would not do)."""
    token_ids = np.full((len(rows), length), pad_id, dtype="int32")
    padding_mask = np.zeros((len(rows), length), dtype="int32")
    for i, row in enumerate(rows):
        token_ids[i, : len(row)] = row[:length]
        padding_mask[i, : len(row)] = 1
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def test_gpt2_logits_match_with_and_without_padding(gpt2_preset, caplog):
    """Raw text through KerasHub's GPT2CausalLM and through nnzoo (the preset's byte-pair
    tokenizer as an nnzoo tokenizer, then nnzoo's ``gpt2`` with the preset's weights): the same
    ids, and the same logits at every real position, padded in a batch or alone."""
    model, count = _load("gpt2", gpt2_preset, caplog)
    assert count == 2 + 2 * 16 + 2  # 2 embeddings, 2 layers of 16 tensors, the final norm
    causal_lm = _task(gpt2_preset)
    x = _keras_hub_inputs(causal_lm.preprocessor, TEXTS)
    lengths = x["padding_mask"].sum(axis=1)
    assert lengths[0] != lengths[1] and max(lengths) < 16  # the shorter text is padded
    expected = np.asarray(causal_lm(x))  # (2, 16, V): what causal_lm.predict(TEXTS) gives

    tokenizer = from_keras_hub(causal_lm.preprocessor.tokenizer)
    rows = [[tokenizer.bos_id, *tokenizer.encode(t), tokenizer.eos_id] for t in TEXTS]
    ours = _nnzoo_inputs(rows, tokenizer.pad_id, 16)
    np.testing.assert_array_equal(ours["padding_mask"], x["padding_mask"])
    mask = ours["padding_mask"].astype(bool)
    np.testing.assert_array_equal(ours["token_ids"][mask], x["token_ids"][mask])
    actual = np.asarray(model(ours))
    assert actual.shape == expected.shape == (2, 16, model.output_shape[-1])
    diff = np.abs(actual[mask] - expected[mask]).max()
    assert diff < ATOL, diff
    # Without padding: each text alone, cut to its length.
    for i, n in enumerate(lengths):
        alone = {k: v[i : i + 1, :n] for k, v in ours.items()}
        np.testing.assert_allclose(np.asarray(model(alone))[0], expected[i, :n], atol=ATOL)


def test_bert_sequence_pooled_and_head_match(bert_preset, caplog):
    """Raw text through KerasHub's BertTextClassifier and through nnzoo (the preset's WordPiece
    tokenizer, BERT's ids: [CLS] = 101, ...): the same ids; the sequence output at real
    positions, the pooled output and the 3-class logits (the preset's head) are equal."""
    model, count = _load("bert_tiny", bert_preset, caplog, num_classes=3)
    assert count == 3 + 2 + 2 * 16 + 2 + 2  # 3 embeddings, their norm, 2 layers, pooler, head
    classifier = _task(bert_preset)
    x = _keras_hub_inputs(classifier.preprocessor, TEXTS)
    expected = np.asarray(classifier(x))  # (2, 3): what classifier.predict(TEXTS) gives
    theirs = classifier.backbone(x)

    from nnzoo.data.text import encode_texts

    tokenizer = from_keras_hub(classifier.preprocessor.tokenizer)
    assert (tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id) == (101, 102, 0)
    ours = encode_texts(tokenizer, TEXTS, x["token_ids"].shape[1], segments=True)
    for key in ("token_ids", "padding_mask", "segment_ids"):
        np.testing.assert_array_equal(ours[key], x[key])
    mask = ours["padding_mask"].astype(bool)
    assert mask.sum(axis=1)[0] != mask.sum(axis=1)[1]

    sequence = keras.Model(model.inputs, model.get_layer("transformer_layer_1").output)
    np.testing.assert_allclose(
        np.asarray(sequence(ours))[mask], np.asarray(theirs["sequence_output"])[mask], atol=ATOL
    )
    pooled = keras.Model(model.inputs, model.get_layer("pooled_dense").output)
    np.testing.assert_allclose(
        np.asarray(pooled(ours)), np.asarray(theirs["pooled_output"]), atol=ATOL
    )
    np.testing.assert_allclose(np.asarray(model(ours)), expected, atol=ATOL)


def test_a_two_class_head_becomes_one_binary_logit(tmp_path, caplog):
    """KerasHub's two logits [a, b] become nnzoo's single binary logit b - a: the same
    probability of class 1 (softmax([a, b])[1] = sigmoid(b - a))."""
    preset = _bert_classifier_preset(tmp_path / "bert_binary", 2, seed=3)
    model, count = _load("bert_tiny", preset, caplog, num_classes=2)
    assert count == 41
    classifier = _task(preset)
    x = _keras_hub_inputs(classifier.preprocessor, ["the cat sat on the mat.", "a dog ran"])
    theirs = np.asarray(classifier(x))  # (2, 2)
    ours = np.asarray(model(x))  # (2, 1)
    assert np.abs(theirs[:, 1] - theirs[:, 0]).min() > 0.1  # a head that decides something
    np.testing.assert_allclose(ours[:, 0], theirs[:, 1] - theirs[:, 0], atol=ATOL)


def test_a_new_head_stays_freshly_initialised(bert_preset):
    """A 5-class model from a 3-class preset: every backbone tensor is copied, the head keeps
    exactly the weights it was built with."""
    task = _task(bert_preset)
    sizes = bert_adapter.to_params(task.backbone.get_config())
    keras.utils.set_random_seed(5)
    expected = build_model("bert_tiny", **sizes, num_classes=5).get_layer("logits").get_weights()
    keras.utils.set_random_seed(5)
    model = build_model("bert_tiny", **sizes, num_classes=5)
    assert bert_adapter.copy_weights(model, task.backbone, task) == 39  # no head
    for actual, want in zip(model.get_layer("logits").get_weights(), expected, strict=True):
        np.testing.assert_array_equal(actual, want)
    pooled = task.backbone.get_layer("pooled_dense").get_weights()
    np.testing.assert_array_equal(model.get_layer("pooled_dense").get_weights()[0], pooled[0])


def test_a_model_of_another_size_is_refused(bert_preset):
    task = _task(bert_preset)
    sizes = bert_adapter.to_params(task.backbone.get_config())
    model = build_model("bert_tiny", **{**sizes, "num_layers": 3})
    with pytest.raises(ValueError) as err:
        bert_adapter.copy_weights(model, task.backbone, task)
    assert str(err.value) == "the preset has 2 transformer layers, the model 3"
    model = build_model("bert_tiny", **{**sizes, "intermediate_dim": 48})
    with pytest.raises(ValueError) as err:
        bert_adapter.copy_weights(model, task.backbone, task)
    assert str(err.value) == (
        "transformer_layer_0.feedforward_intermediate_dense: KerasHub weights [(32, 64), (64,)] "
        "do not fit nnzoo's [(32, 48), (48,)]"
    )


# --------------------------------------------------------------------------- nnzoo -> KerasHub


def test_an_nnzoo_bert_becomes_a_keras_hub_preset_and_back(tmp_path, caplog):
    """``to_keras_hub``: a masked-LM BERT trained by nnzoo and its WordPiece tokenizer become a
    KerasHub BertMaskedLM preset; loading that preset gives back exactly the same model, and a
    classifier from it has the same encoder (KerasHub's backbone computes the same sequence)."""
    from nnzoo.data.tokenizers import WordPieceTokenizer

    words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".", "##s"]
    tokenizer = WordPieceTokenizer(words)
    keras.utils.set_random_seed(7)
    sizes = dict(TINY, vocabulary_size=7 + len(words), max_sequence_length=16)
    model = build_model("bert_tiny", task="masked_lm", **sizes)
    # Not a fresh model: every weight moved, the MLM output bias too.
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.05, w.shape) for w in model.get_weights()])

    task = bert_adapter.to_keras_hub(model, tokenizer, sequence_length=12)
    assert type(task).__name__ == "BertMaskedLM"
    preset = tmp_path / "pretrained"
    task.save_to_preset(str(preset))

    loaded, count = _load("bert_tiny", preset, caplog, task="masked_lm")
    assert count == 3 + 2 + 2 * 16 + 2 + 2 + 1  # embeddings, norm, layers, transform, norm, bias
    for ours, back in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(back.numpy(), ours.numpy(), err_msg=ours.path)

    from nnzoo.data.text import encode_texts

    texts = ["the cats sat on a mat.", "a dog ran"]
    inputs = encode_texts(tokenizer, texts, 12, segments=True)
    theirs = from_keras_hub(_task(preset).preprocessor.tokenizer)
    np.testing.assert_array_equal(encode_texts(theirs, texts, 12, segments=True)["token_ids"],
                                  inputs["token_ids"])  # fmt: skip
    np.testing.assert_array_equal(np.asarray(loaded(inputs)), np.asarray(model(inputs)))

    classifier, count = _load("bert_tiny", preset, caplog, num_classes=3)
    assert count == 3 + 2 + 2 * 16 + 2  # the pooler too (KerasHub's); a fresh 3-class head
    encoder = keras.Model(model.inputs, model.get_layer("transformer_layer_1").output)
    mask = inputs["padding_mask"].astype(bool)
    expected = np.asarray(task.backbone(inputs)["sequence_output"])[mask]
    np.testing.assert_allclose(np.asarray(encoder(inputs))[mask], expected, atol=ATOL)
    encoder = keras.Model(classifier.inputs, classifier.get_layer("transformer_layer_1").output)
    np.testing.assert_allclose(np.asarray(encoder(inputs))[mask], expected, atol=ATOL)


def test_to_keras_hub_needs_a_wordpiece_tokenizer():
    from nnzoo.data.tokenizers import ByteTokenizer

    model = build_model("bert_tiny", **dict(TINY, vocabulary_size=30, max_sequence_length=8))
    with pytest.raises(ValueError) as err:
        bert_adapter.to_keras_hub(model, ByteTokenizer())
    assert str(err.value) == (
        "a KerasHub BERT preset needs a WordPiece tokenizer. Received: tokenizer='byte'"
    )
