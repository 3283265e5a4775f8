"""The config contract: every user mistake is one ConfigError naming file, line, key and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from nnzoo.config import dump_config
from nnzoo.errors import ConfigError
from nnzoo.run.bind import config_from_dict, load_config

GOOD = """\
name: demo
seed: 7
model:
  name: mlp
  params:
    hidden_units: [32]
data:
  source: digits
  batch_size: 16
train:
  epochs: 3
  optimizer: {name: adam, learning_rate: 0.01}
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path, overrides=()):
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return str(info.value)


def test_good_config_loads_with_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.model.params == {"hidden_units": [32]}
    assert config.train.optimizer.learning_rate == 0.01
    assert config.data.validation_split == 0.1
    assert config.train.monitor.metric == "val_loss"


def test_set_overrides_any_key_with_yaml_values(tmp_path):
    config = load_config(
        write(tmp_path, GOOD),
        ["train.epochs=9", "model.params.hidden_units=[8, 4]", "train.schedule.name=cosine"],
    )
    assert config.train.epochs == 9
    assert config.model.params["hidden_units"] == [8, 4]
    assert config.train.schedule.name == "cosine"


def test_flags_override_file_and_set_overrides_flags(tmp_path):
    path = write(tmp_path, GOOD)
    assert load_config(path, flags={"train.epochs": 4}).train.epochs == 4
    assert load_config(path, ["train.epochs=5"], flags={"train.epochs": 4}).train.epochs == 5


def test_unknown_key_names_line_and_suggests(tmp_path):
    path = write(tmp_path, GOOD.replace("  epochs: 3", "  epocs: 3"))
    assert error_of(path) == f"{path}:11: train.epocs: unknown key. Fix: did you mean 'epochs'?"


def test_unknown_model_suggests_the_closest(tmp_path):
    path = write(tmp_path, GOOD.replace("name: mlp", "name: resnet81"))
    msg = error_of(path)
    assert msg.startswith(f"{path}:4: model.name: unknown model 'resnet81'")
    assert "did you mean" in msg


def test_wrong_type_and_out_of_range(tmp_path):
    path = write(tmp_path, GOOD.replace("batch_size: 16", "batch_size: many"))
    msg = error_of(path)
    assert msg.startswith(f"{path}:9: data.batch_size: input should be a valid integer")
    assert msg.endswith("Fix: write a whole number, e.g. 10")
    path = write(tmp_path, GOOD.replace("learning_rate: 0.01", "learning_rate: -1"), "d.yaml")
    assert error_of(path).startswith(
        f"{path}:12: train.optimizer.learning_rate: input should be greater than 0"
    )


def test_literal_lists_the_allowed_values(tmp_path):
    msg = error_of(write(tmp_path, GOOD), ["train.optimizer.name=adagrad"])
    assert msg == (
        "--set: train.optimizer.name: must be one of 'adam', 'adamw', 'sgd' or 'rmsprop'; "
        "received 'adagrad'. Fix: use one of the listed values"
    )


def test_model_param_the_builder_does_not_take(tmp_path):
    path = write(tmp_path, GOOD.replace("hidden_units: [32]", "hiden_units: [32]"))
    assert error_of(path) == (
        f"{path}:6: model.params.hiden_units: model 'mlp' takes no parameter 'hiden_units'. "
        "Fix: did you mean 'hidden_units'?"
    )


def test_missing_file_and_missing_key(tmp_path):
    assert error_of(tmp_path / "nope.yaml").startswith(f"{tmp_path / 'nope.yaml'}: file not found")
    path = write(tmp_path, "name: x\nmodel: {name: mlp}\n")
    assert error_of(path).startswith(f"{path}: data: required key is missing")


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = write(tmp_path, "name: x\nmodel:\n  name: [mlp\ndata: {source: digits}\n")
    msg = error_of(path)
    assert msg.startswith(f"{path}:4: YAML syntax error")


def test_python_tags_are_refused(tmp_path):
    path = write(tmp_path, GOOD + "extra: !!python/object/apply:os.system ['echo hi']\n")
    msg = error_of(path)
    assert msg.startswith(f"{path}:13:")
    assert "tag:yaml.org,2002:python/object/apply:os.system is not allowed" in msg


def test_bad_set_syntax():
    with pytest.raises(ConfigError, match=r"^--set: expected KEY=VALUE; received 'epochs'"):
        load_config("configs/quickstart.yaml", ["epochs"])


def test_unknown_data_source_and_param(tmp_path):
    msg = error_of(write(tmp_path, GOOD.replace("source: digits", "source: digit")))
    assert "data.source: unknown data source 'digit'. Fix: did you mean 'digits'?" in msg
    msg = error_of(write(tmp_path, GOOD), ["data.params.size=3"])
    assert msg.startswith("--set: data.params.size: data source 'digits' takes no parameter")


def test_extends_overrides_only_what_differs(tmp_path):
    write(tmp_path, GOOD, "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nname: child\ntrain: {epochs: 8}\n", "child.yaml")
    config = load_config(child)
    assert (config.name, config.train.epochs, config.data.batch_size) == ("child", 8, 16)
    assert config.train.optimizer.learning_rate == 0.01  # merged, not replaced


def test_extends_error_points_into_the_base_file(tmp_path):
    base = write(tmp_path, GOOD.replace("epochs: 3", "epochz: 3"), "base.yaml")
    child = write(tmp_path, "extends: base.yaml\nname: child\n", "child.yaml")
    assert error_of(child).startswith(f"{base}:11: train.epochz: unknown key")


def test_extends_cycle(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    assert "`extends` forms a cycle" in error_of(tmp_path / "a.yaml")


def test_resolved_config_round_trips(tmp_path):
    config = load_config(write(tmp_path, GOOD), ["train.schedule.name=cosine"])
    again = write(tmp_path, dump_config(config), "resolved.yaml")
    assert load_config(again) == config
    assert yaml.safe_load(dump_config(config))["train"]["schedule"]["name"] == "cosine"


def test_tune_space_keys_are_checked(tmp_path):
    msg = error_of(
        write(tmp_path, GOOD), ["tune.space={train.optimizer.learning_rat: {float: [0.1, 1]}}"]
    )
    assert (
        "tune.space.train.optimizer.learning_rat: 'train.optimizer.learning_rat' is not a key"
        in msg
    )
    assert "did you mean 'train.optimizer.learning_rate'?" in msg
    msg = error_of(
        write(tmp_path, GOOD), ["tune.space={model.params.dropot: {float: [0.1, 0.5]}}"]
    )
    assert "did you mean 'model.params.dropout'?" in msg
    msg = error_of(write(tmp_path, GOOD), ["tune.space={data.batch_size: {int: [64, 16]}}"])
    assert "low must be below high" in msg


def test_validate_checks_the_data_fits_the_model(tmp_path):
    msg = error_of(write(tmp_path, GOOD.replace("source: digits", "source: shapes")))
    assert msg == (
        f"{tmp_path / 'c.yaml'}:8: data.source: model 'mlp' takes features inputs but data "
        "source 'shapes' yields image. Fix: choose a source that yields features (see "
        "`nnzoo list-sources`)"
    )
    # Sources that yield any kind (synthetic, npz) are checked when they load.
    assert (
        load_config(
            write(tmp_path, GOOD.replace("source: digits", "source: synthetic"), "s.yaml")
        ).data.source
        == "synthetic"
    )


def test_source_file_travels_with_the_config_and_its_copies(tmp_path):
    """Provenance lives on the config (not in a global keyed by id): copies keep it."""
    path = write(tmp_path, GOOD)
    config = load_config(path)
    assert config.source_file == str(path)
    assert config.model_copy(deep=True).source_file == str(path)
    assert config.model_copy().source_file == str(path)
    # It is not a key of the file, and it does not make two equal configs differ.
    assert "source_file" not in dump_config(config)
    assert config_from_dict(config.model_dump()) == config
    assert config_from_dict(config.model_dump()).source_file == "<config>"


@pytest.mark.parametrize(
    "content",
    [
        "root:$6$secretHASH:19000:0:99999:7:::\n",  # /etc/shadow: a plain YAML string
        "root: secretHASH: 19000\n",  # a YAML syntax error on a secret line
        "key: [secretHASH\n",  # an unclosed flow sequence
    ],
)
def test_an_extended_file_is_never_echoed(tmp_path, content):
    """`extends: /etc/shadow` must not print a line of it, whatever the YAML error."""
    (tmp_path / "shadow").write_text(content)
    path = write(tmp_path, "extends: shadow\n" + GOOD)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "secretHASH" not in str(err.value)
    assert str(err.value).startswith(f"{tmp_path / 'shadow'}")


def test_extends_of_a_device_a_binary_or_a_huge_file_is_refused_without_reading_it(tmp_path):
    path = write(tmp_path, "extends: /dev/zero\nname: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)  # would hang reading an endless device
    assert str(err.value) == ("/dev/zero: is not a regular file. Fix: pass a .yaml file")
    (tmp_path / "bin.yaml").write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "bin.yaml")
    assert str(err.value) == (
        f"{tmp_path / 'bin.yaml'}: is not UTF-8 text (byte 6). Fix: save the config as UTF-8 YAML"
    )
    (tmp_path / "big.yaml").write_text("# padding\n" * 200_000)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "big.yaml")
    assert str(err.value) == (
        f"{tmp_path / 'big.yaml'}: is larger than 1 MiB, too large for a config. "
        "Fix: pass a nnzoo YAML config (see `nnzoo init MODEL`)"
    )


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ([], "perceptron-and"),
        (["data.source=xor"], "perceptron-xor"),  # the run is named after the data it trains on
        (["data.source=xor", "name=mine"], "mine"),  # a name given on the command line stays
        (["data.source=and"], "perceptron-and"),
    ],
)
def test_the_run_name_follows_an_overridden_data_source(overrides, name):
    assert load_config("configs/perceptron.yaml", overrides).name == name


def test_a_name_not_made_from_the_source_is_kept(tmp_path):
    path = write(tmp_path, "name: my-run\nmodel: {name: mlp}\ndata: {source: digits}\n")
    assert load_config(path, ["data.source=iris"]).name == "my-run"


def test_augment_null_turns_off_what_a_base_config_switched_on(tmp_path):
    write(
        tmp_path,
        "name: b\nmodel: {name: cnn_cifar}\n"
        "data: {source: shapes, augment: {flip: true, zoom: 0.1}}\n",
        "base.yaml",
    )
    child = write(tmp_path, "extends: base.yaml\ndata: {augment: null}\n", "child.yaml")
    assert load_config(tmp_path / "base.yaml").data.augment.active
    augment = load_config(child).data.augment
    assert (augment.active, augment.flip, augment.zoom) == (False, "none", 0.0)


@pytest.mark.parametrize("path", sorted(Path("configs/offline").glob("*.yaml")))
def test_the_offline_variants_validate_on_offline_data(path):
    config = load_config(path)
    assert config.data.source == "shapes"
    assert config.name.endswith("-shapes")
