"""Keras's own layer harness on every custom layer of :mod:`nnzoo.layers` (issue 27, item 9).

``keras.src.testing.TestCase.run_layer_test`` is what Keras runs on its own layers: it builds
each layer from its config, calls it eagerly and symbolically, checks the output shape and
dtype, the number of weights, serialisation (get_config / from_config and a saved model), a
training step and mixed precision. It is private API (``keras.src``): :func:`run_layer_test`
below is the one thin adapter, so a Keras release that moves it breaks this file alone. The
suite runs it on TensorFlow and (with ``KERAS_BACKEND=jax``) on JAX.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

keras_testing = pytest.importorskip("keras.src.testing")

from nnzoo.layers import (  # noqa: E402
    Bias,
    CachedMultiHeadAttention,
    ClassToken,
    ImagePreprocess,
    MaskedMeanPooling,
    PositionEmbedding,
    TransformerLayer,
    VGGPreprocess,
)
from nnzoo.layers.table import TableEncoder  # noqa: E402


class _Harness(keras_testing.TestCase):
    """A ``TestCase`` instance only to borrow its ``run_layer_test`` (private Keras API)."""

    def runTest(self) -> None:  # unittest needs a test method to make an instance
        pass


def run_layer_test(layer_cls, **kwargs) -> None:
    """Keras's ``TestCase.run_layer_test(layer_cls, **kwargs)`` (see the module)."""
    harness = _Harness()
    harness.setUp()
    harness.run_layer_test(layer_cls, **kwargs)


def _tokens(batch_size=2, length=5, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(batch_size, length, dim)).astype("float32")


def test_transformer_layer():
    run_layer_test(
        TransformerLayer,
        init_kwargs=dict(hidden_dim=8, num_heads=2, intermediate_dim=16, dropout=0.1),
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        # query, key, value, output (kernel + bias each), 2 dense x 2, 2 layer norms x 2
        expected_num_trainable_weights=16,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=3,
    )


def test_transformer_layer_causal_pre_norm():
    run_layer_test(
        TransformerLayer,
        init_kwargs=dict(
            hidden_dim=8, num_heads=2, intermediate_dim=16, normalize_first=True,
            use_causal_mask=True, activation="gelu_approximate",
        ),
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=16,
    )  # fmt: skip


def test_cached_multi_head_attention():
    run_layer_test(
        CachedMultiHeadAttention,
        init_kwargs=dict(num_heads=2, key_dim=4),
        input_shape={"query_shape": (2, 5, 8), "value_shape": (2, 5, 8)},
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=8,
        expected_num_seed_generators=0,  # no dropout
        # The harness's training step passes one input; TransformerLayer's test trains it.
        run_training_check=False,
    )


def test_position_embedding():
    run_layer_test(
        PositionEmbedding,
        init_kwargs=dict(sequence_length=7),
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=1,
    )


def test_class_token():
    run_layer_test(
        ClassToken,
        init_kwargs={},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 6, 8),
        expected_num_trainable_weights=1,
    )


def test_bias():
    run_layer_test(
        Bias,
        init_kwargs={},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=1,
    )


def test_masked_mean_pooling():
    run_layer_test(
        MaskedMeanPooling,
        init_kwargs={},
        input_shape={"inputs_shape": (2, 5, 8), "padding_mask_shape": (2, 5)},
        input_dtype={"inputs_shape": "float32", "padding_mask_shape": "int32"},
        expected_output_shape=(2, 8),
        expected_num_trainable_weights=0,
        run_training_check=False,  # no weights to train (and two inputs)
    )
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32")
    x = _tokens()
    expected = np.stack([x[0, :3].mean(axis=0), x[1].mean(axis=0)])
    output = MaskedMeanPooling()(x, padding_mask=mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output), expected, rtol=1e-6)


def test_image_preprocess():
    run_layer_test(
        ImagePreprocess,
        init_kwargs=dict(image_size=(4, 6), scale=1 / 127.5, offset=-1.0),
        input_shape=(2, 8, 12, 3),
        expected_output_shape=(2, 4, 6, 3),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_vgg_preprocess():
    run_layer_test(
        VGGPreprocess,
        init_kwargs={},
        input_shape=(2, 4, 4, 3),
        expected_output_shape=(2, 4, 4, 3),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_table_encoder():
    x = np.array([[1.0, 0, 2.0, 5], [np.nan, 2, -1.0, 19]], "float32")
    run_layer_test(
        TableEncoder,
        init_kwargs=dict(columns=["numeric+missing", "category:3", "numeric", "category:20"]),
        input_data=x,
        expected_num_trainable_weights=1,  # the embedding of the 20-value category
        expected_num_non_trainable_weights=2,  # the numeric columns' mean and variance
        run_training_check=False,
        run_mixed_precision_check=False,
    )


def test_ft_transformer_layers_and_the_target_scale():
    from nnzoo.layers import FeatureTokenizer, FTTransformerBlock, TargetScale, TrailingClassToken

    run_layer_test(
        FeatureTokenizer,
        init_kwargs=dict(num_numeric=3, d_token=4),
        input_shape=(2, 3),
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=2,  # a weight and a bias per numeric feature
    )
    run_layer_test(
        TrailingClassToken,
        init_kwargs={},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 4, 4),
        expected_num_trainable_weights=1,
    )
    run_layer_test(
        FTTransformerBlock,
        init_kwargs=dict(d_token=8, num_heads=2, ffn_hidden_dim=6, first_norm=False),
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
    )
    run_layer_test(
        TargetScale,
        init_kwargs={},
        input_shape=(2, 1),
        expected_output_shape=(2,),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=2,  # the target's mean and std
        run_training_check=False,
    )
