"""Every CI-sized catalog entry exports to SavedModel and computes what Keras computes, at a
batch size and (for text) a sequence length other than the ones it was traced with. The
cards' ONNX / LiteRT table is measured by scripts/export_capabilities.py;
tests/inference/test_export.py verifies ``nnzoo export`` runs in a separate process per
format."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nnzoo
from nnzoo.registry import get_card

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "export_capabilities", ROOT / "scripts" / "export_capabilities.py"
)
capabilities = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(capabilities)

SMALL = [n for n in nnzoo.list_models() if get_card(n).num_params <= capabilities.BIG]


def test_the_sweep_covers_every_family():
    assert {get_card(n).family for n in SMALL} == {get_card(n).family for n in nnzoo.list_models()}
    assert all(get_card(n).export_formats["saved_model"] == "yes" for n in nnzoo.list_models())


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL)
def test_every_small_entry_exports_to_saved_model(name, tmp_path):
    card = get_card(name)
    params = dict(card.defaults)
    model = card.builder(**params)
    inputs = capabilities.sample_inputs(card, params, batch_size=3, length=7, seed=1)
    expected = np.asarray(model(capabilities.keras_inputs(model, inputs), training=False))
    model.export(str(tmp_path / "saved_model"), format="tf_saved_model", verbose=False)
    got = capabilities.run_saved_model(tmp_path / "saved_model", model, inputs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)


#: One entry of each family that tests/inference/test_export.py does not export through
#: `nnzoo export`.
OTHER_FAMILIES = ["vgg16_transfer", "resnet18", "vit_tiny", "lstm", "transformer"]


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHER_FAMILIES)
def test_the_cards_export_table_is_what_the_runtimes_do(name, tmp_path):
    """Each format the card allows converts and matches Keras in its runtime (ResNet-18's
    random logits of ~100 pass at 1e-4 relative); each it refuses really fails or needs Flex."""
    row = capabilities.measure(name, tmp_path)
    card = get_card(name)
    for fmt in capabilities.FORMATS:
        said, entry = card.export_formats[fmt], row[fmt]
        if said == "no":
            assert entry["status"] == "fails", (fmt, entry)
            continue
        if said == "flex":  # converts, with TensorFlow ops the LiteRT interpreter lacks
            assert entry["ops"] == "flex" and entry["flex_ops"], (fmt, entry)
            continue
        assert entry["status"] in ("ok", "differs"), (fmt, entry)
        scale = max(1.0, entry["max_abs_output"])
        assert entry["max_abs_diff"] <= 1e-4 * scale, (fmt, entry)
        if fmt == "litert":
            assert entry["ops"] == said, (fmt, entry)
