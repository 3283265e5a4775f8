"""Shared serialisable Keras layers (imported by the family builders only, never at start-up)."""

from nnzoo.layers.embeddings import Bias, ClassToken, MaskedMeanPooling, PositionEmbedding
from nnzoo.layers.image_preprocess import ImagePreprocess
from nnzoo.layers.regression import TARGET_SCALE, TargetScale
from nnzoo.layers.tabular import FeatureTokenizer, FTTransformerBlock, TrailingClassToken
from nnzoo.layers.transformer import (
    CachedMultiHeadAttention,
    TransformerLayer,
    attention_mask,
    causal_cache_mask,
    key_dim,
    transformer_stack,
)
from nnzoo.layers.vgg_preprocess import VGGPreprocess

__all__ = [
    "Bias",
    "CachedMultiHeadAttention",
    "ClassToken",
    "FTTransformerBlock",
    "FeatureTokenizer",
    "ImagePreprocess",
    "MaskedMeanPooling",
    "PositionEmbedding",
    "TrailingClassToken",
    "TARGET_SCALE",
    "TargetScale",
    "TransformerLayer",
    "attention_mask",
    "causal_cache_mask",
    "key_dim",
    "transformer_stack",
    "VGGPreprocess",
]
