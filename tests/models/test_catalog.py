"""The catalog harness: every registered entry is tested here for free.

For each entry: builds from its card's defaults with exactly the card's ``num_params``; entries
over ~15M parameters are only built and counted, entries over ~150M (GPT-2 medium / large / XL,
BERT-large) not even built: their closed-form count is checked against the card
(test_hyperparameters, where the closed form is checked against Keras on small sizes), and
``gpt2_medium`` is built once, marked slow (tests/models/test_gpt.py). Smaller ones: a forward
pass on a batch of 2 has the right output shape (for every task the card lists), a few training
steps on one fixed batch lower the loss, and a ``.keras`` round trip gives equal outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo import registry
from nnzoo.cards import FAMILY_MODULES, REGISTRY, register_model
from nnzoo.cli import cli
from nnzoo.models._common import output_units
from nnzoo.registry import get_card

BIG = 15_000_000
ALL = nnzoo.list_models()
#: Entries over ~15M parameters by their cards: only built and counted (their published counts
#: are checked in their family's tests). test_builds_from_card_defaults checks the cards' counts.
LARGE = frozenset(name for name in ALL if get_card(name).num_params > BIG)
SMALL = [name for name in ALL if name not in LARGE]
HUGE = 150_000_000
#: Entries built from their defaults here: every one up to ~150M parameters.
BUILT = [name for name in ALL if get_card(name).num_params <= HUGE]
#: (entry, task) for every task a small entry supports besides its default one.
OTHER_TASKS = [(n, t) for n in SMALL for t in get_card(n).tasks if t != get_card(n).task]


def sample_inputs(card, params, batch_size=2, seed=0):
    rng = np.random.default_rng(seed)
    kind = card.input_kind
    if kind in ("features", "image"):
        shape = tuple(params["input_shape"])
        return rng.uniform(0.0, 1.0, size=(batch_size, *shape)).astype("float32")
    length = min(int(params.get("max_sequence_length", 16)), 12)
    token_ids = rng.integers(1, params["vocabulary_size"], size=(batch_size, length))
    padding_mask = np.ones((batch_size, length), dtype="int32")
    padding_mask[-1, -3:] = 0  # the last example is padded
    token_ids = np.where(padding_mask == 1, token_ids, 0).astype("int32")
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    if kind == "tokens_segments":
        inputs["segment_ids"] = np.zeros_like(token_ids)
    return inputs


def expected_output_shape(card, params, inputs, batch_size=2):
    if params.get("task", card.task) == "regression":
        return (batch_size,)  # one prediction per example, in the target's units
    if params.get("task", card.task) == "classification":
        return (batch_size, output_units(params["num_classes"]))
    return (batch_size, inputs["token_ids"].shape[1], params["vocabulary_size"])


def sample_labels(card, params, inputs, batch_size=2):
    rng = np.random.default_rng(1)
    if card.task == "classification":
        return rng.integers(0, params["num_classes"], size=(batch_size,)).astype("int32")
    return rng.integers(0, params["vocabulary_size"], size=inputs["token_ids"].shape).astype(
        "int32"
    )


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name):
        if name not in cache:
            card = get_card(name)
            cache[name] = (card, card.builder(**card.defaults))
        return cache[name]

    return get


@pytest.mark.parametrize("name", BUILT)
def test_builds_from_card_defaults(name, built):
    card, model = built(name)
    assert model.count_params() == card.num_params
    assert card.input_kind in ("features", "image", "tokens", "tokens_segments")


@pytest.mark.parametrize("name", SMALL)
def test_forward_pass_shape(name, built):
    card, model = built(name)
    inputs = sample_inputs(card, card.defaults)
    outputs = model(inputs, training=False)
    assert tuple(outputs.shape) == expected_output_shape(card, card.defaults, inputs)
    assert np.all(np.isfinite(np.asarray(outputs)))


@pytest.mark.parametrize(("name", "task"), OTHER_TASKS)
def test_every_listed_task_builds(name, task):
    """A card's ``tasks`` are real: the builder builds each one, with its output shape."""
    card = get_card(name)
    params = {**card.defaults, "task": task}
    model = card.builder(**params)
    inputs = sample_inputs(card, params)
    outputs = model(inputs, training=False)
    assert tuple(outputs.shape) == expected_output_shape(card, params, inputs)


@pytest.mark.parametrize("name", SMALL)
def test_few_steps_lower_the_loss(name, built):
    import keras

    from nnzoo.run.losses import loss_and_metrics

    card = get_card(name)
    keras.utils.set_random_seed(0)
    model = card.builder(**card.defaults)
    inputs = sample_inputs(card, card.defaults, batch_size=4)
    labels = sample_labels(card, card.defaults, inputs, batch_size=4)
    units = 1 if card.task != "classification" else output_units(card.defaults["num_classes"])
    loss, _ = loss_and_metrics(task=card.task, output_units=units, loss=card.loss)
    if card.loss == "perceptron":
        # Rosenblatt's rule starts from zero weights, where the criterion is 0 on every
        # example; start from random weights so there are mistakes to correct.
        rng = np.random.default_rng(0)
        model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    # A gentle rate: 1e-3 can overshoot on the larger transformers within 8 steps.
    # Eagerly on TensorFlow: tracing the training step of the larger models takes longer than
    # their five steps (20 s for gpt_mini). JAX compiles fast and runs eager ops slowly.
    eager = keras.backend.backend() == "tensorflow"
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=loss, run_eagerly=eager)
    before = float(model.evaluate(inputs, labels, verbose=0))
    for _ in range(5):
        model.train_on_batch(inputs, labels)
    after = float(model.evaluate(inputs, labels, verbose=0))
    assert after < before, f"{name}: loss {before:.4f} -> {after:.4f}"


@pytest.mark.parametrize("name", SMALL)
def test_keras_round_trip_is_exact(name, built, tmp_path):
    import keras

    card, model = built(name)
    inputs = sample_inputs(card, card.defaults)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    expected = np.asarray(model(inputs, training=False))
    actual = np.asarray(loaded(inputs, training=False))
    np.testing.assert_allclose(actual, expected, atol=1e-6, rtol=0)
    assert loaded.count_params() == model.count_params()


def test_layers_point_one_way():
    """Cards are the bottom layer: nnzoo.cards imports nothing of nnzoo (it loads the families
    by module name), and the family modules import the cards, never the registry (nor Keras)."""
    code = (
        "import importlib, json, sys\n"
        "loaded = lambda: sorted(m.split('.')[0] if m.startswith('keras') else m\n"
        "    for m in sys.modules if m.startswith(('nnzoo', 'keras')))\n"
        "import nnzoo.cards\n"
        "cards = loaded()\n"
        f"for module in {list(FAMILY_MODULES)!r}:\n"
        "    importlib.import_module(module)\n"
        "print(json.dumps([cards, loaded()]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cards, families = json.loads(proc.stdout)
    assert cards == ["nnzoo", "nnzoo.cards"]
    assert not {"nnzoo.registry", "keras"} & set(families)
    assert set(FAMILY_MODULES) <= set(families)


BROKEN_FAMILY = """
from nnzoo.cards import register_model
from nnzoo.models.mlp import _build_mlp

register_model(
    "broken_entry",
    _build_mlp,
    task="classification",
    input_kind="features",
    paper="none",
    summary="registered just before its module fails",
    num_params=17_226,
)
raise RuntimeError("this family is broken")
"""


def test_a_failing_family_fails_every_call(tmp_path, monkeypatch):
    """A family that fails to import fails every catalog call, never serves a partial catalog,
    and leaves none of its entries behind."""
    (tmp_path / "nnzoo_test_broken_family.py").write_text(BROKEN_FAMILY)
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = (*FAMILY_MODULES, "nnzoo_test_broken_family")
    monkeypatch.setattr("nnzoo.cards.FAMILY_MODULES", broken)
    monkeypatch.setattr("nnzoo.cards._LOADED", False)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="this family is broken"):
            registry.list_models()
        assert "broken_entry" not in REGISTRY
    monkeypatch.undo()
    assert registry.list_models() == ALL


BERT = ["bert_tiny", "bert_mini", "bert_small", "bert_medium", "bert_base", "bert_large"]
GPT = ["gpt2", "gpt2_medium", "gpt2_large", "gpt2_xl", "gpt_mini", "gpt_nano"]


def test_task_filter_matches_every_listed_task():
    """``list_models(task=...)`` and ``list-models --task`` match any task a card supports."""
    assert [c for c in ALL if get_card(c).family == "bert"] == BERT
    assert [(n, "masked_lm") for n in BERT if n in SMALL] == [
        (n, t) for n, t in OTHER_TASKS if t == "masked_lm"
    ]
    assert ("mlp", "regression") in OTHER_TASKS
    assert nnzoo.list_models(task="regression") == ["mlp"]
    assert nnzoo.list_models(task="masked_lm") == BERT
    assert set(BERT) <= set(nnzoo.list_models(task="classification"))
    assert nnzoo.list_models(task="language_modeling") == GPT
    result = CliRunner().invoke(cli, ["list-models", "--task", "masked_lm", "--json"])
    assert result.exit_code == 0, result.output
    cards = json.loads(result.output)
    assert [c["name"] for c in cards] == BERT
    assert {(c["task"], tuple(c["tasks"])) for c in cards} == {
        ("classification", ("classification", "masked_lm"))
    }


def test_several_tasks_need_a_task_parameter():
    """A card may list several tasks only when its builder takes ``task`` (default: the card's
    task); a refused card is not registered."""
    from nnzoo.models.cnn import _build_cnn

    with pytest.raises(ValueError) as err:
        register_model(
            "mlp_lm",
            _build_cnn,
            task="classification",
            tasks=("classification", "masked_lm"),
            input_kind="features",
            paper="none",
            summary="none",
            num_params=17_226,
        )
    assert str(err.value) == (
        "'mlp_lm' lists several tasks, so its builder must take `task`, default "
        "'classification'. Received: task=None"
    )
    assert "mlp_lm" not in REGISTRY


def test_cli_shows_num_params():
    """``list-models --json`` and ``describe`` show each card's ``num_params``."""
    listed = CliRunner().invoke(cli, ["list-models", "--json"])
    num_params = {c["name"]: c["num_params"] for c in json.loads(listed.output)}
    assert list(num_params) == ALL
    assert (num_params["mlp_xor"], num_params["resnet18"]) == (17, 11_699_112)
    described = CliRunner().invoke(cli, ["describe", "resnet18", "--no-summary"])
    assert described.exit_code == 0, described.output
    assert "num_params: 11,699,112 at the defaults" in described.output
    assert "parameters: 11,699,112 (11,689,512 trainable)" in described.output
