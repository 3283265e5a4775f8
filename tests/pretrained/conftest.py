"""Tiny KerasHub presets with random weights, saved by KerasHub's own ``save_to_preset`` to
local directories: what a user downloads, without a download. Session-scoped (built once)."""

from __future__ import annotations

import collections
import re
from pathlib import Path

import keras
import keras_hub
import pytest

from nnzoo.data.text import stdlib_files, stdlib_root

#: Tiny sizes shared by the text presets.
TEXT_SIZES = dict(num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64, dropout=0.0)

_GPT2_WORDS = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\w+| ?\d+| ?[^\s\w\d]+|\s+(?!\S)|\s+""")


def _byte_chars() -> dict[int, str]:
    """GPT-2's byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def learn_bpe(texts: list[str], num_merges: int) -> tuple[dict[str, int], list[str]]:
    """A byte-level BPE vocabulary and merges learned on ``texts`` (GPT-2's scheme, small)."""
    chars = _byte_chars()
    words = collections.Counter(
        tuple(chars[b] for b in w.encode("utf-8")) for t in texts for w in _GPT2_WORDS.findall(t)
    )
    merges: list[str] = []
    vocab = {c: i for i, c in enumerate(chars[b] for b in range(256))}
    for _ in range(num_merges):
        pairs: collections.Counter = collections.Counter()
        for word, n in words.items():
            for a, b in zip(word, word[1:], strict=False):
                pairs[a, b] += n
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        merges.append(f"{a} {b}")
        vocab.setdefault(a + b, len(vocab))
        merged = collections.Counter()
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


def _corpus() -> list[str]:
    root = Path(stdlib_root())
    return [(root / p).read_text(encoding="utf-8", errors="replace") for p in stdlib_files("json")]


@pytest.fixture(scope="session")
def gpt2_preset(tmp_path_factory):
    """A GPT-2 causal LM (2 layers, 32 hidden, 64 positions) with a byte-level BPE tokenizer
    of ~400 tokens, as KerasHub saves it."""
    keras.utils.set_random_seed(1)
    vocab, merges = learn_bpe(_corpus(), 150)
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=merges)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), max_sequence_length=64, **TEXT_SIZES
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer, sequence_length=16)
    task = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=preprocessor)
    folder = tmp_path_factory.mktemp("presets") / "gpt2_tiny"
    task.save_to_preset(str(folder))
    return folder


@pytest.fixture(scope="session")
def bert_preset(tmp_path_factory):
    """A BERT text classifier (2 layers, 32 hidden, 64 positions, 3 classes) with a WordPiece
    vocabulary in BERT's layout ([PAD] 0, [UNK] [CLS] [SEP] [MASK] after 100 unused)."""
    keras.utils.set_random_seed(2)
    counts = collections.Counter(w.lower() for t in _corpus() for w in re.findall(r"\w+", t))
    words = [w for w, _ in counts.most_common(400)]
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]"]
    vocab += ["[MASK]"] + sorted(set("abcdefghijklmnopqrstuvwxyz0123456789.,:;()[]{}'\"=_#"))
    vocab += [w for w in words if w not in vocab] + ["##" + c for c in "abcdefghijklmnopqrs"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), max_sequence_length=64, **TEXT_SIZES
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=32)
    task = keras_hub.models.BertTextClassifier(
        backbone=backbone, preprocessor=preprocessor, num_classes=3
    )
    folder = tmp_path_factory.mktemp("presets") / "bert_tiny"
    task.save_to_preset(str(folder))
    return folder


@pytest.fixture(scope="session")
def vit_preset(tmp_path_factory):
    """A ViT image classifier (32x32, patch 8, 2 layers, 32 hidden, 5 classes) with an image
    converter that resizes to 32x32 and scales 0-255 pixels to [-1, 1]."""
    keras.utils.set_random_seed(3)
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
        mlp_dim=64,
    )  # fmt: skip
    converter = keras_hub.layers.ViTImageConverter(
        image_size=(32, 32), scale=1 / 127.5, offset=-1.0
    )
    preprocessor = keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter)
    task = keras_hub.models.ViTImageClassifier(
        backbone=backbone, preprocessor=preprocessor, num_classes=5
    )
    folder = tmp_path_factory.mktemp("presets") / "vit_tiny"
    task.save_to_preset(str(folder))
    return folder
