"""An interpolation that resizes on TensorFlow only is refused by every image family before
anything is built (issue 27, item 9: ``area`` passed validate and failed on JAX's first step)."""

from __future__ import annotations

import pytest

from nnzoo import build_model
from nnzoo.errors import ConfigError


@pytest.mark.parametrize("name", ["vit_tiny", "resnet18", "vgg16"])
def test_area_interpolation_is_refused_naming_the_key_and_the_backend(name):
    with pytest.raises(ConfigError) as err:
        build_model(name, interpolation="area", image_size=(32, 32), num_classes=2)
    assert err.value.key == "params.interpolation"
    assert err.value.message == (
        "`interpolation` 'area' resizes on TensorFlow only (Keras's JAX, NumPy and PyTorch "
        "backends have no area resize), so the model would not run on JAX. "
        "Received: interpolation='area'"
    )
    assert err.value.fix == (
        "use bilinear with antialias: true (an area-weighted average when shrinking)"
    )
