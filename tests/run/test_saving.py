"""Loading a saved nnzoo model elsewhere: ``nnzoo.load_model`` and plain Keras after nnzoo."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo.errors import RunDirError

TINY_VIT = dict(
    input_shape=(8, 8, 3),
    patch_size=4,
    num_layers=1,
    num_heads=2,
    hidden_dim=8,
    intermediate_dim=16,
    num_classes=3,
)


@pytest.fixture(scope="module")
def saved_vit(tmp_path_factory):
    """A ViT uses nnzoo's own layers (ClassToken, PositionEmbedding, TransformerLayer)."""
    model = nnzoo.build_model("vit_tiny", **TINY_VIT)
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 3)).astype("float32")
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    np.save(path.with_suffix(".x.npy"), x)
    np.save(path.with_suffix(".y.npy"), model.predict(x, verbose=0))
    return path


LOAD = """
import sys, numpy as np
{imports}
model = {load}(sys.argv[1])
x = np.load(sys.argv[1][:-6] + ".x.npy")
np.testing.assert_allclose(model.predict(x, verbose=0), np.load(sys.argv[1][:-6] + ".y.npy"),
                           atol=1e-6)
print("same outputs", type(model.layers[1]).__name__)
"""


@pytest.mark.parametrize(
    "imports, load",
    [("import nnzoo", "nnzoo.load_model"), ("import keras, nnzoo", "keras.saving.load_model")],
)
def test_a_fresh_process_loads_a_model_with_nnzoo_layers(saved_vit, imports, load):
    code = LOAD.format(imports=imports, load=load)
    out = subprocess.run(
        [sys.executable, "-c", code, str(saved_vit)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("same outputs")


def test_a_torn_or_missing_model_file_is_one_line(saved_vit, tmp_path):
    torn = tmp_path / "model.keras"
    torn.write_bytes(saved_vit.read_bytes()[:1000])
    with pytest.raises(RunDirError) as err:
        nnzoo.load_model(torn)
    assert str(err.value) == (
        f"{torn}: not a readable .keras file (torn or not a zip archive). Fix: copy it again "
        "from where it was trained, or retrain"
    )
    with pytest.raises(RunDirError) as err:
        nnzoo.load_model(tmp_path / "none.keras")
    assert str(err.value) == (
        f"{tmp_path / 'none.keras'}: no such file. Fix: give the model.keras of a finished run"
    )
