"""The preset core: naming, checking before any download, offline errors, the catalog's presets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo import pretrained
from nnzoo.cli import cli
from nnzoo.errors import ConfigError, DataNotAvailableError
from nnzoo.pretrained._builtin import BUILTIN_PRESETS


def test_builtin_table_is_keras_hubs_own():
    import keras_hub

    expected = {}
    for cls in (
        keras_hub.models.BertBackbone,
        keras_hub.models.GPT2Backbone,
        keras_hub.models.ViTBackbone,
        keras_hub.models.ResNetBackbone,
        keras_hub.models.VGGBackbone,
    ):
        for name, preset in cls.presets.items():
            expected[name] = (cls.__name__, preset["kaggle_handle"], preset["metadata"]["params"])
    assert expected == BUILTIN_PRESETS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "keras_hub:bert_tiny_en_uncase",
            "model.init_from: unknown preset 'bert_tiny_en_uncase'. Fix: did you mean "
            "'bert_tiny_en_uncased'?",
        ),
        ("keras_hub:", "model.init_from: names no preset. Fix: e.g. keras_hub:"),
    ],
)
def test_a_bad_preset_name_is_one_line(value, message):
    with pytest.raises(ConfigError) as err:
        pretrained.locate(value)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_folder_without_config_is_not_a_preset(tmp_path):
    with pytest.raises(ConfigError, match=r"no preset at .* \(no config.json\)"):
        pretrained.locate(f"keras_hub:{tmp_path}")


def test_offline_and_not_cached_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    preset = pretrained.locate("keras_hub:bert_tiny_en_uncased")
    where = tmp_path / "kaggle/models/keras/bert/keras/bert_tiny_en_uncased/3"
    assert preset.cache_dir() == where
    assert preset.report() == f"needs preset bert_tiny_en_uncased: will be downloaded to {where}"
    with pytest.raises(DataNotAvailableError) as err:
        preset.check()
    assert str(err.value) == (
        "preset bert_tiny_en_uncased is not available offline (NNZOO_OFFLINE=1 is set; "
        f"looked in {where}): run once with a network to download it, or save it with "
        "KerasHub's save_to_preset and give the directory: "
        "--set model.init_from=keras_hub:/path/to/preset"
    )
    where.mkdir(parents=True)
    (where / "config.json").write_text("{}")
    assert preset.cached()
    preset.check()  # cached: nothing to refuse


def _config(tmp_path, model, init_from, source="shapes"):
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: t\nmodel:\n  name: {model}\n  init_from: '{init_from}'\n"
        f"data:\n  source: {source}\n"
    )
    return path


def test_validate_refuses_a_preset_of_another_architecture_before_keras(tmp_path):
    """In a fresh process: the refusal needs neither Keras nor a download."""
    path = _config(tmp_path, "resnet18", "keras_hub:vit_base_patch16_224_imagenet")
    code = (
        "import sys\nfrom nnzoo.cli import cli\n"
        "try:\n    cli(['validate', sys.argv[1]], prog_name='nnzoo')\nfinally:\n"
        "    print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert out.stdout == "False False\n", out.stderr
    assert out.stderr == (
        f"nnzoo: error: {path}: model.name: preset vit_base_patch16_224_imagenet is a "
        "ViTBackbone (vit), but model 'resnet18' is a resnet. Fix: use model.name: vit_b16, "
        "or a resnet preset (resnet_18_imagenet)\n"
    )


def test_validate_refuses_a_preset_of_another_size(tmp_path):
    path = _config(tmp_path, "bert_tiny", "keras_hub:bert_base_en_uncased", "stdlib_topics")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "model.name: preset bert_base_en_uncased has the architecture of bert_base, not "
        "bert_tiny. Fix: use model.name: bert_base (the preset fixes the sizes)"
    )


def test_validate_offline_names_the_missing_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    path = _config(tmp_path, "gpt2", "keras_hub:gpt2_base_en", "text_corpus")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert "preset gpt2_base_en is not available offline (NNZOO_OFFLINE=1 is set; looked in " in (
        result.output
    )


def test_validate_reports_a_local_preset(tmp_path, gpt2_preset):
    path = _config(tmp_path, "gpt2", f"keras_hub:{gpt2_preset}", "text_corpus")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"starts from preset {gpt2_preset} (a local directory)" in result.output


def test_build_model_weights_other_than_a_preset():
    with pytest.raises(ConfigError) as err:
        nnzoo.build_model("bert_tiny", weights="imagenet")
    assert str(err.value) == (
        "weights: model 'bert_tiny' loads published weights from KerasHub presets only. "
        "Received: weights='imagenet'. Fix: use weights='keras_hub:<preset>' (see `nnzoo "
        "list-models --pretrained`)"
    )


def test_build_model_refuses_a_size_the_preset_does_not_have(gpt2_preset):
    with pytest.raises(ConfigError) as err:
        nnzoo.build_model("gpt2", weights=f"keras_hub:{gpt2_preset}", hidden_dim=64)
    assert str(err.value) == (
        f"params.hidden_dim: is 64 but preset {gpt2_preset} has 32. "
        "Fix: remove it: the preset fixes the architecture"
    )


def test_list_models_pretrained_lists_presets_and_licences():
    result = CliRunner().invoke(cli, ["list-models", "--pretrained", "--json"])
    assert result.exit_code == 0, result.output
    cards = {c["name"]: c["presets"] for c in json.loads(result.output)}
    assert cards["gpt2"] == ["gpt2_base_en"]
    assert cards["gpt2_xl"] == ["gpt2_extra_large_en"]
    assert cards["bert_tiny"][0] == "bert_tiny_en_uncased"
    assert cards["vit_b16"][0] == "vit_base_patch16_224_imagenet"
    assert cards["resnet18"] == ["resnet_18_imagenet"]
    assert cards["vgg16"] == ["vgg_16_imagenet"]
    assert "mlp" not in cards and all(cards.values())
    every_builtin_listed = {p for presets in cards.values() for p in presets}
    assert every_builtin_listed <= set(BUILTIN_PRESETS)
    table = CliRunner().invoke(cli, ["list-models", "--pretrained"], terminal_width=200)
    assert "gpt2_medium_en" in table.output and "MIT" in table.output


def test_describe_names_presets_and_licence():
    result = CliRunner().invoke(cli, ["describe", "bert_tiny", "--no-summary"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps at the terminal's width
    assert (
        "presets (KerasHub, licence Apache-2.0): bert_tiny_en_uncased, bert_tiny_en_uncased_sst2"
        " — start from one with model.init_from: keras_hub:bert_tiny_en_uncased"
    ) in text


def test_a_backbone_saved_alone_loads_in_python_and_is_refused_for_text_training(tmp_path):
    import keras_hub
    import numpy as np

    from nnzoo.run.bind import config_from_dict, prepare

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
        max_sequence_length=12,
    )  # fmt: skip
    folder = tmp_path / "gpt2_backbone"
    backbone.save_to_preset(str(folder))
    model = nnzoo.build_model("gpt2", weights=f"keras_hub:{folder}")
    ids = np.array([[5, 7, 9, 11]], dtype="int32")
    inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    hidden = backbone(inputs)
    expected = np.asarray(backbone.token_embedding(hidden, reverse=True))
    np.testing.assert_allclose(np.asarray(model(inputs)), expected, atol=1e-5)

    config = config_from_dict(
        {
            "name": "t",
            "model": {"name": "gpt2", "init_from": f"keras_hub:{folder}"},
            "data": {"source": "text_corpus", "params": {"max_chars": 5000}},
        }
    )
    with pytest.raises(ConfigError) as err:
        prepare(config)
    assert str(err.value).startswith(
        f"<config>: model.init_from: preset {folder} has no tokenizer, so its token embeddings "
        "cannot be matched to text. Fix: use a preset saved with its tokenizer"
    )


def test_a_card_default_written_by_init_gives_way_to_the_preset(gpt2_preset, caplog):
    """`nnzoo init gpt2` lists num_layers: 12 (the default); the preset's 2 layers are used."""
    with caplog.at_level("WARNING", logger="nnzoo.pretrained"):
        model = nnzoo.build_model(
            "gpt2", weights=f"keras_hub:{gpt2_preset}", num_layers=12, dropout=0.3
        )
    assert len([layer for layer in model.layers if layer.name.startswith("transformer_")]) == 2
    assert model.get_layer("embeddings_dropout").rate == 0.3  # dropout stays the user's
    assert caplog.messages == [
        f"params.num_layers: 12 is gpt2's default; preset {gpt2_preset} has 2, which is used"
    ]


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]"])
def test_a_corrupt_preset_config_is_one_line(tmp_path, text):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError) as err:
        pretrained.locate(f"keras_hub:{tmp_path}")
    message = str(err.value)
    assert message.startswith(f"model.init_from: {tmp_path / 'config.json'} is not a")
    assert message.endswith("Fix: save the preset again with KerasHub's save_to_preset")
    assert "\n" not in message
