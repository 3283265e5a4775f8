"""BERT and GPT-2 presets: KerasHub saves a tiny preset with random weights to a directory,
nnzoo loads it, and raw text through both pipelines gives the same outputs (1e-4). Offline:
every preset here is written by ``save_to_preset`` in the test itself."""

from __future__ import annotations

import json

import keras
import keras_hub
import numpy as np
import pytest

from nnzoo.pretrained import bert as bert_adapter
from nnzoo.pretrained import gpt2 as gpt2_adapter
from nnzoo.registry import build_model, get_card

ATOL = 1e-4
TEXTS = ["the cat sat on the mat.", "a dog ran"]
TINY = dict(num_layers=2, num_heads=4, hidden_dim=32, intermediate_dim=64, dropout=0.0)

# --------------------------------------------------------------------------- presets


def _gpt2_tokenizer():
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

    _, chars = bytes_to_unicode()
    merges = ["Ġ t", "h e", "Ġt he", "a t", "Ġ c", "Ġc at", "Ġ s", "Ġs at", "Ġ m", "Ġm at"]
    merged = [m.replace(" ", "") for m in merges]
    vocabulary = {token: i for i, token in enumerate(["<|endoftext|>", *chars, *merged])}
    return keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)


BERT_VOCABULARY = [
    # Special tokens where the published BERT vocabularies have them (not nnzoo's ids).
    "[PAD]", *[f"[unused{i}]" for i in range(3)], "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "cat", "sat", "on", "mat", "a", "dog", "ran", ".", "##s", "d", "##o", "##g",
]  # fmt: skip


@pytest.fixture(scope="module")
def gpt2_preset(tmp_path_factory):
    keras.utils.set_random_seed(1)
    tokenizer = _gpt2_tokenizer()
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), max_sequence_length=32, **TINY
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer, sequence_length=16)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=preprocessor)
    path = tmp_path_factory.mktemp("presets") / "gpt2_tiny"
    causal_lm.save_to_preset(str(path))
    return path


def _bert_classifier_preset(path, num_classes, seed=2):
    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=BERT_VOCABULARY)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(BERT_VOCABULARY), max_sequence_length=24, **TINY
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=12)
    classifier = keras_hub.models.BertTextClassifier(
        backbone=backbone, preprocessor=preprocessor, num_classes=num_classes
    )
    # A trained head, not a zero one: its copy must show in the logits.
    kernel, bias = classifier.output_dense.weights
    rng = np.random.default_rng(seed)
    kernel.assign(rng.normal(size=kernel.shape).astype("float32"))
    bias.assign(rng.normal(size=bias.shape).astype("float32"))
    classifier.save_to_preset(str(path))
    return path


@pytest.fixture(scope="module")
def bert_preset(tmp_path_factory):
    return _bert_classifier_preset(tmp_path_factory.mktemp("presets") / "bert_tiny", 3)


def _task(preset):
    """KerasHub's task model of a preset directory (the class its ``task.json`` names)."""
    from keras_hub.src.utils.preset_utils import TASK_CONFIG_FILE, check_config_class, load_json

    return check_config_class(load_json(str(preset), TASK_CONFIG_FILE)).from_preset(str(preset))


def _load(name, preset, **params):
    """nnzoo's model for ``preset``: the card with the preset's sizes, its weights copied."""
    task = _task(preset)
    adapter = bert_adapter if get_card(name).family == "bert" else gpt2_adapter
    model = build_model(name, **adapter.to_params(task.backbone.get_config()), **params)
    count = adapter.copy_weights(model, task.backbone, task)
    return model, task, count


# --------------------------------------------------------------------------- to_params


def test_bert_config_becomes_the_builder_parameters(bert_preset):
    config = json.loads((bert_preset / "config.json").read_text())["config"]
    assert bert_adapter.to_params(config) == dict(
        vocabulary_size=21,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        dropout=0.0,
        max_sequence_length=24,
        num_segments=2,
    )


def test_gpt2_config_becomes_the_builder_parameters(gpt2_preset):
    config = json.loads((gpt2_preset / "config.json").read_text())["config"]
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


def test_gpt2_logits_match_with_and_without_padding(gpt2_preset):
    """Raw text through KerasHub's GPT2CausalLM (its preprocessor pads the shorter text) and
    the same token ids through nnzoo's gpt: equal logits at every real position."""
    model, causal_lm, count = _load("gpt_nano", gpt2_preset)
    assert count == 2 + 2 * 16 + 2  # embeddings, 2 layers of 16 tensors, the final norm
    x, _, _ = causal_lm.preprocessor(keras.ops.convert_to_tensor(TEXTS))
    x = {k: np.asarray(v) for k, v in x.items()}
    mask = x["padding_mask"].astype(bool)
    assert mask.sum(axis=1).tolist() == [12, 11]  # both padded to 16, by 4 and 5
    expected = np.asarray(causal_lm(x))
    actual = np.asarray(model(x))
    assert actual.shape == (2, 16, 267)
    np.testing.assert_allclose(actual[mask], expected[mask], atol=ATOL)
    # Unpadded: the shorter text alone, cut to its length.
    alone = {k: v[1:, :11] for k, v in x.items()}
    np.testing.assert_allclose(np.asarray(model(alone)), np.asarray(causal_lm(alone)), atol=ATOL)
    np.testing.assert_allclose(np.asarray(model(alone))[0], actual[1, :11], atol=ATOL)


def test_bert_sequence_pooled_and_head_match(bert_preset):
    """Raw text through KerasHub's BertTextClassifier: the sequence output at real positions,
    the pooled output and the 3-class logits (the preset's head is copied) equal nnzoo's."""
    model, classifier, count = _load("bert_tiny", bert_preset, num_classes=3)
    assert count == 3 + 2 + 2 * 16 + 2 + 2  # 3 embeddings, their norm, 2 layers, pooler, head
    x = classifier.preprocessor(keras.ops.convert_to_tensor(TEXTS))
    x = {k: np.asarray(v) for k, v in x.items()}
    mask = x["padding_mask"].astype(bool)
    assert mask.sum(axis=1).tolist() == [9, 5]
    theirs = classifier.backbone(x)
    sequence = keras.Model(model.inputs, model.get_layer("transformer_layer_1").output)
    np.testing.assert_allclose(
        np.asarray(sequence(x))[mask], np.asarray(theirs["sequence_output"])[mask], atol=ATOL
    )
    pooled = keras.Model(model.inputs, model.get_layer("pooled_dense").output)
    np.testing.assert_allclose(
        np.asarray(pooled(x)), np.asarray(theirs["pooled_output"]), atol=ATOL
    )
    logits = np.asarray(model(x))
    assert np.abs(logits).max() > 0.5  # the preset's trained head, not a fresh one
    np.testing.assert_allclose(logits, np.asarray(classifier(x)), atol=ATOL)


def test_a_two_class_head_becomes_one_binary_logit(tmp_path):
    """KerasHub's two softmax logits [a, b] become nnzoo's single logit b - a: the same
    probability of class 1."""
    preset = _bert_classifier_preset(tmp_path / "bert_binary", 2, seed=3)
    model, classifier, count = _load("bert_tiny", preset, num_classes=2)
    assert count == 41
    x = {k: np.asarray(v) for k, v in classifier.preprocessor(np.array(TEXTS)).items()}
    theirs = np.asarray(classifier(x))  # (2, 2)
    ours = np.asarray(model(x))  # (2, 1)
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


def _sizes(preset):
    return bert_adapter.to_params(json.loads((preset / "config.json").read_text())["config"])


def test_a_model_of_another_size_is_refused(bert_preset):
    task = _task(bert_preset)
    model = build_model("bert_tiny", **{**_sizes(bert_preset), "num_layers": 3})
    with pytest.raises(ValueError) as err:
        bert_adapter.copy_weights(model, task.backbone, task)
    assert str(err.value) == "the preset has 2 transformer layers, the model 3"
    model = build_model("bert_tiny", **{**_sizes(bert_preset), "intermediate_dim": 48})
    with pytest.raises(ValueError) as err:
        bert_adapter.copy_weights(model, task.backbone, task)
    assert str(err.value) == (
        "transformer_layer_0.feedforward_intermediate_dense: KerasHub weights [(32, 64), (64,)] "
        "do not fit nnzoo's [(32, 48), (48,)]"
    )
