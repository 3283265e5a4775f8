"""KerasHub's built-in presets for the backbones nnzoo reproduces, as keras-hub 0.32 lists them
(``Backbone.presets``): name -> (backbone class, Kaggle handle, parameter count). Read without
importing Keras so ``validate``, ``list-models`` and ``describe`` stay fast; a test checks it
against the installed keras-hub (tests/pretrained/test_core.py)."""

from __future__ import annotations

#: name -> (KerasHub backbone class, Kaggle handle, parameters of the backbone)
BUILTIN_PRESETS: dict[str, tuple[str, str, int]] = {
    "bert_tiny_en_uncased": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_tiny_en_uncased/3",
        4_385_920,
    ),
    "bert_small_en_uncased": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_small_en_uncased/3",
        28_763_648,
    ),
    "bert_medium_en_uncased": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_medium_en_uncased/3",
        41_373_184,
    ),
    "bert_base_en_uncased": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_base_en_uncased/3",
        109_482_240,
    ),
    "bert_base_en": ("BertBackbone", "kaggle://keras/bert/keras/bert_base_en/3", 108_310_272),
    "bert_base_zh": ("BertBackbone", "kaggle://keras/bert/keras/bert_base_zh/3", 102_267_648),
    "bert_base_multi": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_base_multi/3",
        177_853_440,
    ),
    "bert_large_en_uncased": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_large_en_uncased/3",
        335_141_888,
    ),
    "bert_large_en": ("BertBackbone", "kaggle://keras/bert/keras/bert_large_en/3", 333_579_264),
    "bert_tiny_en_uncased_sst2": (
        "BertBackbone",
        "kaggle://keras/bert/keras/bert_tiny_en_uncased_sst2/5",
        4_385_920,
    ),
    "all_minilm_l6_v2_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/all_minilm_l6_v2_en/1",
        22_713_216,
    ),
    "all_minilm_l6_v1_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/all_minilm_l6_v1_en/1",
        22_713_216,
    ),
    "all_minilm_l12_v2_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/all_minilm_l12_v2_en/1",
        33_360_000,
    ),
    "paraphrase_minilm_l3_v2_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/paraphrase_minilm_l3_v2_en/1",
        17_066_496,
    ),
    "paraphrase_minilm_l6_v2_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/paraphrase_minilm_l6_v2_en/1",
        22_713_216,
    ),
    "paraphrase_minilm_l12_v2_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/paraphrase_minilm_l12_v2_en/1",
        33_360_000,
    ),
    "multi_qa_minilm_l6_cos_v1_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/multi_qa_minilm_l6_cos_v1_en/1",
        22_713_216,
    ),
    "multi_qa_minilm_l6_dot_v1_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/multi_qa_minilm_l6_dot_v1_en/1",
        22_713_216,
    ),
    "msmarco_minilm_l6_cos_v5_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/msmarco_minilm_l6_cos_v5_en/1",
        22_713_216,
    ),
    "msmarco_minilm_l12_cos_v5_en": (
        "BertBackbone",
        "kaggle://keras/sentence-transformers/keras/msmarco_minilm_l12_cos_v5_en/1",
        33_360_000,
    ),
    "bge_small_en": ("BertBackbone", "kaggle://keras/bge/keras/bge_small_en/1", 33_360_000),
    "bge_base_en": ("BertBackbone", "kaggle://keras/bge/keras/bge_base_en/1", 109_482_240),
    "bge_large_en": ("BertBackbone", "kaggle://keras/bge/keras/bge_large_en/1", 335_141_888),
    "bge_small_v1.5_en": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_small_v1.5_en/1",
        33_360_000,
    ),
    "bge_base_v1.5_en": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_base_v1.5_en/1",
        109_482_240,
    ),
    "bge_large_v1.5_en": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_large_v1.5_en/1",
        335_141_888,
    ),
    "bge_base_zh": ("BertBackbone", "kaggle://keras/bge/keras/bge_base_zh/1", 102_267_648),
    "bge_large_zh": ("BertBackbone", "kaggle://keras/bge/keras/bge_large_zh/1", 325_522_432),
    "bge_small_v1.5_zh": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_small_v1.5_zh/1",
        23_953_920,
    ),
    "bge_base_v1.5_zh": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_base_v1.5_zh/1",
        102_267_648,
    ),
    "bge_large_v1.5_zh": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_large_v1.5_zh/1",
        325_522_432,
    ),
    "bge_llm_embedder": (
        "BertBackbone",
        "kaggle://keras/bge/keras/bge_llm_embedder/1",
        109_482_240,
    ),
    "multilingual_e5_small": (
        "BertBackbone",
        "kaggle://keras/multilingual-e5/keras/multilingual_e5_small/1",
        117_653_760,
    ),
    "mxbai_embed_large_v1_en": (
        "BertBackbone",
        "kaggle://keras/mxbai-embed/keras/mxbai_embed_large_v1_en/1",
        335_141_888,
    ),
    "mxbai_embed_2d_large_v1_en": (
        "BertBackbone",
        "kaggle://keras/mxbai-embed/keras/mxbai_embed_2d_large_v1_en/1",
        335_141_888,
    ),
    "mxbai_embed_xsmall_v1_en": (
        "BertBackbone",
        "kaggle://keras/mxbai-embed/keras/mxbai_embed_xsmall_v1_en/1",
        24_089_472,
    ),
    "gpt2_base_en": ("GPT2Backbone", "kaggle://keras/gpt2/keras/gpt2_base_en/3", 124_439_808),
    "gpt2_medium_en": ("GPT2Backbone", "kaggle://keras/gpt2/keras/gpt2_medium_en/3", 354_823_168),
    "gpt2_large_en": ("GPT2Backbone", "kaggle://keras/gpt2/keras/gpt2_large_en/3", 774_030_080),
    "gpt2_extra_large_en": (
        "GPT2Backbone",
        "kaggle://keras/gpt2/keras/gpt2_extra_large_en/3",
        1_557_611_200,
    ),
    "gpt2_base_en_cnn_dailymail": (
        "GPT2Backbone",
        "kaggle://keras/gpt2/keras/gpt2_base_en_cnn_dailymail/3",
        124_439_808,
    ),
    "vit_base_patch16_224_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_base_patch16_224_imagenet/4",
        85_798_656,
    ),
    "vit_base_patch16_384_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_base_patch16_384_imagenet/4",
        86_090_496,
    ),
    "vit_large_patch16_224_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_large_patch16_224_imagenet/4",
        303_301_632,
    ),
    "vit_large_patch16_384_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_large_patch16_384_imagenet/4",
        303_690_752,
    ),
    "vit_base_patch32_384_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_base_patch32_384_imagenet/3",
        87_528_192,
    ),
    "vit_large_patch32_384_imagenet": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_large_patch32_384_imagenet/3",
        305_607_680,
    ),
    "vit_base_patch16_224_imagenet21k": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_base_patch16_224_imagenet21k/3",
        85_798_656,
    ),
    "vit_base_patch32_224_imagenet21k": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_base_patch32_224_imagenet21k/3",
        87_455_232,
    ),
    "vit_huge_patch14_224_imagenet21k": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_huge_patch14_224_imagenet21k/3",
        630_764_800,
    ),
    "vit_large_patch16_224_imagenet21k": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_large_patch16_224_imagenet21k/3",
        303_301_632,
    ),
    "vit_large_patch32_224_imagenet21k": (
        "ViTBackbone",
        "kaggle://keras/vit/keras/vit_large_patch32_224_imagenet21k/3",
        305_510_400,
    ),
    "resnet_18_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv1/keras/resnet_18_imagenet/3",
        11_186_112,
    ),
    "resnet_50_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv1/keras/resnet_50_imagenet/3",
        23_561_152,
    ),
    "resnet_101_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv1/keras/resnet_101_imagenet/3",
        42_605_504,
    ),
    "resnet_152_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv1/keras/resnet_152_imagenet/3",
        58_295_232,
    ),
    "resnet_v2_50_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv2/keras/resnet_v2_50_imagenet/3",
        23_561_152,
    ),
    "resnet_v2_101_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnetv2/keras/resnet_v2_101_imagenet/3",
        42_605_504,
    ),
    "resnet_vd_18_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_18_imagenet/2",
        11_722_824,
    ),
    "resnet_vd_34_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_34_imagenet/2",
        21_838_408,
    ),
    "resnet_vd_50_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_50_imagenet/2",
        25_629_512,
    ),
    "resnet_vd_50_ssld_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_50_ssld_imagenet/2",
        25_629_512,
    ),
    "resnet_vd_50_ssld_v2_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_50_ssld_v2_imagenet/2",
        25_629_512,
    ),
    "resnet_vd_50_ssld_v2_fix_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_50_ssld_v2_fix_imagenet/2",
        25_629_512,
    ),
    "resnet_vd_101_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_101_imagenet/2",
        44_673_864,
    ),
    "resnet_vd_101_ssld_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_101_ssld_imagenet/2",
        44_673_864,
    ),
    "resnet_vd_152_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_152_imagenet/2",
        60_363_592,
    ),
    "resnet_vd_200_imagenet": (
        "ResNetBackbone",
        "kaggle://keras/resnet_vd/keras/resnet_vd_200_imagenet/2",
        74_933_064,
    ),
    "vgg_11_imagenet": ("VGGBackbone", "kaggle://keras/vgg/keras/vgg_11_imagenet/3", 9_220_480),
    "vgg_13_imagenet": ("VGGBackbone", "kaggle://keras/vgg/keras/vgg_13_imagenet/3", 9_404_992),
    "vgg_16_imagenet": ("VGGBackbone", "kaggle://keras/vgg/keras/vgg_16_imagenet/3", 14_714_688),
    "vgg_19_imagenet": ("VGGBackbone", "kaggle://keras/vgg/keras/vgg_19_imagenet/3", 20_024_384),
}
