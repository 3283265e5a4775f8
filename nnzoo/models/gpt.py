"""GPT-2 style decoder-only language models (Radford et al. 2019, "Language Models are
Unsupervised Multitask Learners").

Token + learned position embeddings, pre-norm transformer layers with a causal mask (a position
never sees later tokens) and a tanh-approximate GELU MLP, a final layer norm, and a language-model
head tied to the token embedding (no bias). Outputs next-token logits
``(B, T, vocabulary_size)``. ``gpt2`` is GPT-2 small: 124,439,808 parameters; ``gpt2_medium``,
``gpt2_large`` and ``gpt2_xl`` the larger published sizes (354,823,168, 774,030,080 and
1,557,611,200), each with its KerasHub preset.
``gpt_nano`` and ``gpt_mini`` are CPU-sized presets with a byte-sized vocabulary.

Generation calls the same layers with a key/value cache (:class:`CachedGPT`, as KerasHub's
``GPT2CausalLM.call_with_cache``); the cards name it as their ``cached_forward``.
"""

from __future__ import annotations

import functools
from typing import Any

from nnzoo.cards import PositiveInt, Rate, register_model
from nnzoo.models import _counts
from nnzoo.models._rules import check_heads

PAPER = "Radford et al. 2019, Language Models are Unsupervised Multitask Learners"


def _check_gpt(*, hidden_dim: int, num_heads: int, **_: Any) -> None:
    check_heads(hidden_dim, num_heads)


def _count_gpt(
    *,
    vocabulary_size: int,
    max_sequence_length: int,
    num_layers: int,
    hidden_dim: int,
    intermediate_dim: int,
    **_: Any,
) -> int:
    # The LM head is the tied token embedding: no weights of its own.
    tokens = _counts.embedding(vocabulary_size, hidden_dim)
    positions = _counts.embedding(max_sequence_length, hidden_dim)
    layers = int(num_layers) * _counts.transformer_layer(hidden_dim, intermediate_dim)
    return tokens + positions + layers + _counts.layer_norm(hidden_dim)


def _build_gpt(
    *,
    vocabulary_size: PositiveInt = 50257,
    max_sequence_length: PositiveInt = 1024,
    num_layers: PositiveInt = 12,
    num_heads: PositiveInt = 12,
    hidden_dim: PositiveInt = 768,
    intermediate_dim: PositiveInt = 3072,
    dropout: Rate = 0.1,
) -> Any:
    import keras

    from nnzoo.layers import PositionEmbedding, transformer_stack
    from nnzoo.models._common import token_inputs

    _check_gpt(hidden_dim=hidden_dim, num_heads=num_heads)
    init = keras.initializers.RandomNormal(stddev=0.02)

    inputs = token_inputs()
    token_embedding = keras.layers.ReversibleEmbedding(
        vocabulary_size,
        hidden_dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
        name="token_embedding",
    )
    tokens = token_embedding(inputs["token_ids"])  # (B, T, hidden_dim)
    positions = PositionEmbedding(
        max_sequence_length, initializer=init, name="position_embedding"
    )(tokens)
    x = keras.layers.Add(name="embeddings_add")([tokens, positions])
    x = keras.layers.Dropout(dropout, name="embeddings_dropout")(x)
    x = transformer_stack(
        x,
        num_layers=num_layers,
        padding_mask=inputs["padding_mask"],
        hidden_dim=hidden_dim,
        num_heads=num_heads,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        activation="gelu_approximate",
        layer_norm_epsilon=1e-5,
        normalize_first=True,
        use_causal_mask=True,
        kernel_initializer=init,
    )  # (B, T, hidden_dim)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="layer_norm")(x)
    # Weight tying: the LM head is the transposed token embedding (GPT-2 has no output bias).
    outputs = token_embedding(x, reverse=True)  # (B, T, vocabulary_size)
    return keras.Model(inputs, outputs, name="gpt")


class CachedGPT:
    """A gpt model's forward pass with a key/value cache per transformer layer.

    The layers :func:`_build_gpt` wires, called in the same order on the new tokens only (as
    KerasHub's ``GPT2CausalLM.call_with_cache``); dropout is left out, as at inference. It
    implements :class:`nnzoo.cards.CachedForward`.

    Args:
        model: the gpt model; the pass uses its layers' weights.
        token_embedding: the ``keras.layers.ReversibleEmbedding`` (also the tied LM head).
        position_embedding: the :class:`~nnzoo.layers.PositionEmbedding`.
        transformer_layers: the :class:`~nnzoo.layers.TransformerLayer` s, in call order.
        layer_norm: the final ``keras.layers.LayerNormalization``.
    """

    def __init__(
        self,
        model: Any,
        *,
        token_embedding: Any,
        position_embedding: Any,
        transformer_layers: list[Any],
        layer_norm: Any,
    ) -> None:
        self.model = model
        self.token_embedding = token_embedding
        self.position_embedding = position_embedding
        self.transformer_layers = list(transformer_layers)
        self.layer_norm = layer_norm
        self.max_sequence_length = int(position_embedding.sequence_length)
        self.vocabulary_size = int(token_embedding.input_dim)

    def init_caches(self, batch_size: Any, length: Any) -> list[Any]:
        """One zero cache ``(B, 2, length, num_heads, key_dim)`` per transformer layer."""
        from keras import ops

        return [
            ops.zeros(
                (batch_size, 2, length, layer.num_heads, layer.key_dim), dtype=layer.compute_dtype
            )
            for layer in self.transformer_layers
        ]

    def call_with_cache(
        self, token_ids: Any, caches: list[Any], cache_update_index: Any
    ) -> tuple[Any, list[Any]]:
        """Logits of ``token_ids`` ``(B, T)`` at positions ``cache_update_index ..`` and the
        updated caches: ``(logits (B, T, vocabulary_size), caches)``."""
        from keras import ops

        x = self.token_embedding(token_ids)  # (B, T, hidden_dim)
        x = ops.add(x, self.position_embedding(x, start_index=cache_update_index))
        new_caches = []
        for layer, cache in zip(self.transformer_layers, caches):
            x, cache = layer(x, cache=cache, cache_update_index=cache_update_index)
            new_caches.append(cache)
        x = self.layer_norm(x)  # (B, T, hidden_dim)
        return self.token_embedding(x, reverse=True), new_caches


def _cached_gpt(model: Any) -> CachedGPT | None:
    """``model``'s :class:`CachedGPT` if it has the layers :func:`_build_gpt` builds, else
    ``None``.

    The layers are recognised by their types, whatever their names (a model saved before the
    cache existed has them too): the two inputs, the embeddings, their sum and dropout, causal
    transformer layers (in the model's order, which is their call order) and the final norm,
    and nothing else.
    """
    import keras

    from nnzoo.layers import PositionEmbedding, TransformerLayer

    try:
        layers = list(model.layers)
    except (AttributeError, TypeError):
        return None
    one_each = (
        keras.layers.ReversibleEmbedding,
        PositionEmbedding,
        keras.layers.Add,
        keras.layers.Dropout,
        keras.layers.LayerNormalization,
    )
    kinds = (keras.layers.InputLayer, TransformerLayer, *one_each)
    found = {kind: [layer for layer in layers if isinstance(layer, kind)] for kind in kinds}
    blocks = found[TransformerLayer]
    if (
        sum(len(group) for group in found.values()) != len(layers)  # nothing else, none twice
        or len(found[keras.layers.InputLayer]) != 2  # token_ids, padding_mask
        or any(len(found[kind]) != 1 for kind in one_each)
        or not blocks
        or not all(block.use_causal_mask for block in blocks)
    ):
        return None
    return CachedGPT(
        model,
        token_embedding=found[keras.layers.ReversibleEmbedding][0],
        position_embedding=found[PositionEmbedding][0],
        transformer_layers=blocks,
        layer_norm=found[keras.layers.LayerNormalization][0],
    )


_register = functools.partial(
    register_model,
    builder=_build_gpt,
    task="language_modeling",
    input_kind="tokens",
    paper=PAPER,
    check=_check_gpt,
    count_params=_count_gpt,
    cached_forward=_cached_gpt,
)
#: The CPU-sized presets read bytes.
BYTES = dict(vocabulary_size=256)

_register(
    "gpt2",
    summary="GPT-2 small: 12 layers, 768 hidden, 12 heads, 1024 positions (124.4M parameters).",
    num_params=124_439_808,
    presets=("gpt2_base_en",),
)

_register(
    "gpt2_medium",
    summary="GPT-2 medium: 24 layers, 1024 hidden, 16 heads, 1024 positions (354.8M).",
    num_params=354_823_168,
    defaults=dict(num_layers=24, num_heads=16, hidden_dim=1024, intermediate_dim=4096),
    presets=("gpt2_medium_en",),
)

_register(
    "gpt2_large",
    summary="GPT-2 large: 36 layers, 1280 hidden, 20 heads, 1024 positions (774.0M).",
    num_params=774_030_080,
    defaults=dict(num_layers=36, num_heads=20, hidden_dim=1280, intermediate_dim=5120),
    presets=("gpt2_large_en",),
)

_register(
    "gpt2_xl",
    summary="GPT-2 XL: 48 layers, 1600 hidden, 25 heads, 1024 positions (1.56B).",
    num_params=1_557_611_200,
    defaults=dict(num_layers=48, num_heads=25, hidden_dim=1600, intermediate_dim=6400),
    presets=("gpt2_extra_large_en",),
)

_register(
    "gpt_mini",
    summary="Small GPT for byte-level text: 6 layers, 256 hidden, 8 heads, 256 positions.",
    num_params=4_870_144,
    defaults=dict(
        BYTES,
        max_sequence_length=256,
        num_layers=6,
        num_heads=8,
        hidden_dim=256,
        intermediate_dim=1024,
    ),
)

_register(
    "gpt_nano",
    summary="CPU-sized GPT for byte-level text: 4 layers, 128 hidden, 4 heads, 128 positions.",
    num_params=842_496,
    defaults=dict(
        BYTES,
        max_sequence_length=128,
        num_layers=4,
        num_heads=4,
        hidden_dim=128,
        intermediate_dim=512,
    ),
)
