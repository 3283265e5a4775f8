"""Hyperparameters are checked before anything is built, in one line naming the key and a fix.

The choices and ranges live on each builder's annotations (``nnzoo.cards``: ``PositiveInt``,
``Rate``, ``Activation``, ...), the rules between parameters in each card's ``check``, the
memory estimate in each card's closed-form ``count_params``. ``nnzoo validate`` (without Keras)
and ``nnzoo.build_model`` refuse the same mistakes; the closed forms equal Keras' own count.
"""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import sys
import typing

import pytest
from click.testing import CliRunner

from nnzoo import memory
from nnzoo.cli import cli
from nnzoo.errors import ConfigError
from nnzoo.hyperparameters import check_hyperparameters, check_params
from nnzoo.memory import estimate_memory_bytes, optimizer_slots
from nnzoo.registry import build_checked, build_model, get_card, list_models

ALL = list_models()

#: (model, data source, the bad params as YAML, the key, the one-line message after the key).
BAD = [
    (
        "resnet18",
        "shapes",
        "stem: cifr",
        "stem",
        "must be one of 'imagenet', 'cifar'. Received: stem='cifr'. Fix: did you mean 'cifar'?",
    ),
    (
        "mlp",
        "digits",
        "activation: relux",
        "activation",
        "must be one of 'elu', 'exponential', 'gelu', 'hard_sigmoid', 'hard_silu', "
        "'hard_swish', 'leaky_relu', 'linear', 'log_softmax', 'mish', 'relu', 'relu6', 'selu', "
        "'sigmoid', 'silu', 'softmax', 'softplus', 'softsign', 'swish', 'tanh'. "
        "Received: activation='relux'. Fix: did you mean 'relu'?",
    ),
    (
        "mlp",
        "digits",
        "hidden_units: [0]",
        "hidden_units",
        "each item must be greater than 0. Received: hidden_units=[0]. "
        "Fix: e.g. hidden_units: [128, 64] (the default)",
    ),
    (
        "mlp",
        "digits",
        "dropout: -0.1",
        "dropout",
        "must be in [0, 1). Received: dropout=-0.1. Fix: e.g. dropout: 0.0 (the default)",
    ),
    (
        "mlp",
        "digits",
        "dropout: 1.5",
        "dropout",
        "must be in [0, 1). Received: dropout=1.5. Fix: e.g. dropout: 0.0 (the default)",
    ),
    (
        "cnn_cifar",
        "shapes",
        "padding: smae",
        "padding",
        "must be one of 'valid', 'same'. Received: padding='smae'. Fix: did you mean 'same'?",
    ),
    (
        "lstm",
        "text_corpus",
        "cell: lsmt",
        "cell",
        "must be one of 'lstm', 'gru'. Received: cell='lsmt'. Fix: did you mean 'lstm'?",
    ),
    (
        "vit_tiny",
        "shapes",
        "num_heads: 3",
        "num_heads",
        "`hidden_dim` must be a positive multiple of `num_heads`. Received: hidden_dim=128, "
        "num_heads=3. Fix: use a num_heads that divides hidden_dim=128, e.g. 1, 2 or 4",
    ),
    (
        "vit_tiny",
        "shapes",
        "input_shape: [32, 32, 3]\n    patch_size: 5",
        "patch_size",
        "The image height and width must be multiples of `patch_size`. Received: "
        "input_shape=(32, 32, 3), patch_size=5. Fix: use a patch_size that divides 32, "
        "e.g. 2, 4 or 8",
    ),
    (
        "gpt_nano",
        "text_corpus",
        "num_layers: 2.5",
        "num_layers",
        "must be a whole number. Received: num_layers=2.5. Fix: e.g. num_layers: 4 (the default)",
    ),
]
IDS = [f"{model}-{key}-{params.split(':')[-1].strip()}" for model, _, params, key, _ in BAD]


def write_config(tmp_path, model, source, params, name="c.yaml"):
    """A config whose first model parameter is on line 5."""
    path = tmp_path / name
    path.write_text(
        "name: demo\n"
        "model:\n"
        f"  name: {model}\n"
        "  params:\n"
        f"    {params}\n"
        f"data: {{source: {source}}}\n"
    )
    return path


def validate(path, *args):
    result = CliRunner().invoke(cli, ["validate", str(path), *args])
    return result.exit_code, result.output.splitlines()


@pytest.mark.parametrize(("model", "source", "params", "key", "message"), BAD, ids=IDS)
def test_validate_refuses_in_one_line(tmp_path, model, source, params, key, message):
    """``nnzoo validate``: exit 2, one line naming the file, line, dotted key and a fix."""
    path = write_config(tmp_path, model, source, params)
    line = 5 + params.count("\n")  # the line of the key under model.params
    code, lines = validate(path)
    assert code == 2
    assert lines == [f"nnzoo: error: {path}:{line}: model.params.{key}: {message}"]


@pytest.mark.parametrize(("model", "source", "params", "key", "message"), BAD, ids=IDS)
def test_build_model_refuses_the_same(model, source, params, key, message):
    """``nnzoo.build_model`` raises the same ConfigError (on ``params.<key>``), unbuilt."""
    import yaml

    with pytest.raises(ConfigError) as err:
        build_model(model, **yaml.safe_load(params.replace("\n    ", "\n")))
    assert str(err.value) == f"params.{key}: {message}"


def test_validate_does_not_import_keras(tmp_path):
    """Checking values, rules and memory needs neither Keras nor TensorFlow."""
    good = write_config(tmp_path, "resnet18", "shapes", "stem: cifar")
    bad = write_config(tmp_path, "mlp", "digits", "hidden_units: [0]", name="bad.yaml")
    code = (
        "import sys\nfrom nnzoo.cli import cli\n"
        "try:\n    cli(prog_name='nnzoo', args=sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]\n"
        "    print('HEAVY=' + ','.join(heavy), 'EXIT=' + str(e.code))\n"
    )
    for path, want in ((good, "EXIT=0"), (bad, "EXIT=2")):
        proc = subprocess.run(
            [sys.executable, "-c", code, "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.stdout.splitlines()[-1] == f"HEAVY= {want}", proc.stderr


def test_tune_space_values_are_checked(tmp_path):
    """Every value a search may try is a value the model takes."""
    path = write_config(tmp_path, "mlp", "digits", "dropout: 0.1")
    with path.open("a") as f:
        f.write("tune:\n  space:\n    model.params.activation: {choice: [relu, relux]}\n")
    code, lines = validate(path)
    assert code == 2
    assert lines == [
        f"nnzoo: error: {path}:9: tune.space.model.params.activation: must be one of "
        "'elu', 'exponential', 'gelu', 'hard_sigmoid', 'hard_silu', 'hard_swish', 'leaky_relu', "
        "'linear', 'log_softmax', 'mish', 'relu', 'relu6', 'selu', 'sigmoid', 'silu', "
        "'softmax', 'softplus', 'softsign', 'swish', 'tanh'. Received: activation='relux'. "
        "Fix: did you mean 'relu'?"
    ]


def test_rules_on_data_filled_parameters_wait_for_the_data(tmp_path):
    """Before the data is loaded its shape is unknown: validate leaves the patch rule to the
    build, where the data's shape is known and the same rule refuses it."""
    path = write_config(tmp_path, "vit_tiny", "shapes", "patch_size: 5")
    code, lines = validate(path)
    assert (code, len(lines)) == (0, 1)
    card = get_card("vit_tiny")
    with pytest.raises(ConfigError) as err:
        build_checked(card, {**card.defaults, "patch_size": 5, "input_shape": (28, 28, 1)})
    assert str(err.value) == (
        "model.params.patch_size: The image height and width must be multiples of "
        "`patch_size`. Received: input_shape=(28, 28, 1), patch_size=5. Fix: use a "
        "patch_size that divides 28, e.g. 2, 4 or 7"
    )


def test_the_rule_names_the_parameter_that_was_changed():
    """``hidden_dim: 130`` blames hidden_dim; ``num_heads: 3`` blames num_heads."""
    card = get_card("gpt_nano")
    for params, key in (({"hidden_dim": 130}, "hidden_dim"), ({"num_heads": 3}, "num_heads")):
        with pytest.raises(ConfigError) as err:
            check_hyperparameters(card, params, file="c.yaml")
        assert err.value.key == f"model.params.{key}"


def test_describe_refuses_in_one_line():
    result = CliRunner().invoke(cli, ["describe", "mlp", "--set", "hidden_units=[0]"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "nnzoo: error: --set.hidden_units: each item must be greater than 0. Received: "
        "hidden_units=[0]. Fix: e.g. hidden_units: [128, 64] (the default)"
    ]


def test_a_builder_value_error_becomes_a_config_error():
    """What a builder still raises as ValueError is one ConfigError on model.params."""
    card = get_card("mlp")

    @functools.wraps(card.builder)
    def broken(**params):
        raise ValueError("no such\nlayer. Received: units=3")

    with pytest.raises(ConfigError) as err:
        build_checked(dataclasses.replace(card, builder=broken), {}, file="c.yaml")
    assert str(err.value) == (
        "c.yaml: model.params: model 'mlp' cannot be built with these parameters: no such "
        "layer. Received: units=3. Fix: check them against `nnzoo describe mlp`"
    )


# --------------------------------------------------------------------------- the whole catalog


@pytest.mark.parametrize("name", ALL)
def test_every_parameter_is_annotated_and_the_defaults_pass(name):
    """Each builder parameter has a type to check, and the card's defaults satisfy every
    check (values and rules), without Keras."""
    card = get_card(name)
    hints = typing.get_type_hints(card.builder, include_extras=True)
    assert set(card.parameters) <= set(hints)
    check_params(card, card.defaults)
    check_hyperparameters(card, card.defaults)


@pytest.mark.parametrize("name", ALL)
def test_closed_form_count_equals_the_cards_count(name):
    """``count_params`` at the defaults is the card's ``num_params`` (Keras' count, checked by
    building every entry in test_catalog)."""
    card = get_card(name)
    assert card.count_params is not None
    assert card.count_params(**card.defaults) == card.num_params


#: Small sizes per entry, built with Keras: the closed form must give Keras' count exactly.
SIZES = [
    ("perceptron", dict(input_shape=(5,))),
    ("mlp", dict(input_shape=(3, 4), hidden_units=(7, 5), num_classes=2)),
    ("mlp", dict(input_shape=(6,), hidden_units=(4,), batch_norm=True, num_classes=3)),
    ("mlp", dict(input_shape=(6,), hidden_units=(), num_classes=4)),
    (
        "ft_transformer",
        dict(input_shape=(2, 3), d_token=12, num_blocks=2, num_heads=3, ffn_hidden_dim=5),
    ),
    ("cnn_cifar", dict(input_shape=(20, 24, 1), filters=(4, 6), convs_per_block=(1, 2))),
    (
        "cnn_cifar",
        dict(
            input_shape=(16, 16, 3),
            filters=(4,),
            convs_per_block=(2,),
            kernel_size=5,
            padding="same",
            dense_units=6,
            batch_norm=True,
            num_classes=2,
        ),
    ),
    ("vgg16_transfer", dict(dense_units=8, num_classes=3)),
    ("vgg16", dict(input_shape=(32, 48, 3), num_classes=2)),
    (
        "resnet18",
        dict(
            input_shape=(32, 32, 1),
            num_blocks=(1, 2, 1),
            num_filters=(8, 16, 16),
            stem="cifar",
            num_classes=2,
        ),
    ),
    ("resnet34", dict(input_shape=(64, 64, 3), num_blocks=(1, 1), num_filters=(8, 8))),
    (
        "vit_tiny",
        dict(
            input_shape=(16, 24, 1),
            patch_size=8,
            num_layers=2,
            num_heads=2,
            hidden_dim=12,
            intermediate_dim=10,
            num_classes=2,
        ),
    ),
    ("lstm", dict(vocabulary_size=50, embedding_dim=6, hidden_units=(5, 3), num_classes=3)),
    ("lstm", dict(vocabulary_size=50, embedding_dim=6, hidden_units=(4,), bidirectional=True)),
    ("gru", dict(vocabulary_size=30, embedding_dim=5, hidden_units=(4, 6), num_classes=4)),
    ("gru", dict(vocabulary_size=30, embedding_dim=5, hidden_units=(3, 2), bidirectional=True)),
    (
        "transformer",
        dict(vocabulary_size=40, max_sequence_length=9, num_layers=3, hidden_dim=8, num_heads=4),
    ),
    (
        "bert_tiny",
        dict(vocabulary_size=40, max_sequence_length=9, hidden_dim=8, intermediate_dim=12),
    ),
    (
        "bert_tiny",
        dict(
            vocabulary_size=40,
            max_sequence_length=9,
            num_layers=1,
            hidden_dim=8,
            num_segments=3,
            task="masked_lm",
        ),
    ),
    ("gpt_nano", dict(vocabulary_size=33, max_sequence_length=7, num_layers=3, hidden_dim=12)),
]


@pytest.mark.parametrize(("name", "params"), SIZES)
def test_closed_form_count_equals_keras(name, params):
    card = get_card(name)
    full = {**card.defaults, **params}
    assert card.count_params(**full) == card.builder(**full).count_params()


@pytest.mark.skipif(
    "feature_normalization" not in get_card("mlp").parameters,
    reason="features models without a Normalization layer",
)
@pytest.mark.parametrize("name", ["perceptron", "mlp", "ft_transformer"])
def test_closed_form_counts_the_feature_normalization(name):
    card = get_card(name)
    full = {**card.defaults, "input_shape": (7,), "feature_normalization": True}
    assert card.count_params(**full) == card.builder(**full).count_params()


# --------------------------------------------------------------------------- memory


def test_memory_estimate_is_weights_times_one_plus_slots():
    """float32 weights, plus the optimizer's slots: adam 2, sgd with momentum 1."""
    card = get_card("mlp")
    assert estimate_memory_bytes(card, {}, optimizer_slots("adam")) == 17_226 * 4 * 3
    assert estimate_memory_bytes(card, {}, optimizer_slots("sgd", momentum=0.9)) == 17_226 * 8
    assert [optimizer_slots(n) for n in ("adam", "adamw", "sgd", "rmsprop")] == [2, 2, 0, 1]


def test_available_memory_is_known_here():
    available = memory.available_memory_bytes()
    assert isinstance(available, int) and available > 0


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(tmp_path, monkeypatch):
    """Over half the available memory: validate and build refuse, with the estimate and the
    memory; validate counts the config's optimizer (adam: 2 slots), build only the weights."""
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 300_000)
    path = write_config(tmp_path, "mlp", "digits", "hidden_units: [128, 64, 32]")
    code, lines = validate(path)
    assert code == 2
    assert lines == [
        f"nnzoo: error: {path}:4: model.params: model 'mlp' would have 18,986 parameters: "
        "222.5 KiB for its float32 weights and the optimizer's 2 slot(s) per weight "
        "(4 bytes x 3), more than half of the 293.0 KiB of memory available. "
        "Fix: use smaller sizes than hidden_units=[128, 64, 32]"
    ]
    # Weights only (75,944 bytes) fit in half of 300,000 bytes; weights and adam's slots do not.
    build_checked(get_card("mlp"), {"hidden_units": (128, 64, 32)}, optimizer_slots=0)
    with pytest.raises(ConfigError) as err:
        build_checked(get_card("mlp"), {"hidden_units": (128, 64, 32)}, optimizer_slots=2)
    assert err.value.key == "model.params"
    assert "18,986 parameters" in str(err.value)
