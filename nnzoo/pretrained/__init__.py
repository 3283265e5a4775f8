"""Published weights: KerasHub presets loaded into nnzoo models, with their tokenizers and
their image preprocessing.

``model.init_from: keras_hub:<preset>`` in a config, or
``nnzoo.build_model(name, weights="keras_hub:<preset>")`` in Python, where ``<preset>`` is

- a KerasHub built-in preset name (``bert_tiny_en_uncased``, ``gpt2_base_en``, ...),
- a Kaggle handle (``kaggle://keras/bert/keras/bert_tiny_en_uncased/3``),
- a Hugging Face handle (``hf://google-bert/bert-base-uncased``: KerasHub converts it), or
- a local preset directory (what KerasHub's ``save_to_preset`` writes).

The architecture's hyperparameters come from the preset's own config (a config that sets a
different value is refused, naming the key); KerasHub builds its backbone from the preset
(downloading through its own code and caches: Kaggle's ``~/.cache/kagglehub``, Hugging Face's
``~/.cache/huggingface``), and a family :class:`~nnzoo.pretrained._adapter.Adapter` copies its
weights into the nnzoo model layer by layer (shape-checked). A new head stays as initialised;
the preset's own head is copied when it has the same shape (an ImageNet classifier for 1000
classes). Text presets bring their tokenizer (converted to an nnzoo tokenizer that encodes
as KerasHub's does, saved in the run as ``tokenizer.json``); image presets bring their
resizing and normalisation, which the adapter puts inside the model.

Before anything is downloaded, the preset is checked against the model: a preset of another
architecture (a ViT preset for ``resnet18``) or of another size (``bert_base_en_uncased`` for
``bert_tiny``) is one line naming the right ``model.name``; with the offline switch
(:mod:`nnzoo._offline`) a preset not in its cache is one line naming where it was looked for
and how to provide it. Only :func:`load` imports Keras and KerasHub.

This ``__init__`` only re-exports; the machinery lives in private modules named for what they
do: ``_presets`` (naming, locating and checking a preset against a card), ``_loading``
(KerasHub loading, download errors, copying the weights), ``_params`` (the builder parameters a
preset fixes, merged with the config's), ``_adapter`` (the family adapters), ``_builtin``
(KerasHub's built-in preset names) and ``_copy`` / ``_images`` (what the adapters share).
"""

from nnzoo.pretrained._adapter import (
    ADAPTER_MODULES,
    ADAPTERS,
    Adapter,
    adapter_for_family,
    adapters,
    licence_of,
    register_adapter,
)
from nnzoo.pretrained._builtin import BUILTIN_PRESETS
from nnzoo.pretrained._loading import Loaded, load, load_weights
from nnzoo.pretrained._params import OVERRIDABLE, merge_params, preset_params
from nnzoo.pretrained._presets import KEY, PREFIX, Preset, check_card, is_preset, locate

__all__ = [
    "ADAPTERS",
    "ADAPTER_MODULES",
    "BUILTIN_PRESETS",
    "KEY",
    "OVERRIDABLE",
    "PREFIX",
    "Adapter",
    "Loaded",
    "Preset",
    "adapter_for_family",
    "adapters",
    "check_card",
    "merge_params",
    "is_preset",
    "licence_of",
    "load",
    "load_weights",
    "locate",
    "preset_params",
    "register_adapter",
]
