"""The standard-library text sources: file-disjoint splits, LM / MLM targets, topic classes."""

from __future__ import annotations

import numpy as np
import pytest

from nnzoo.data import IGNORE_INDEX, load_data
from nnzoo.data.text import (
    _split_files,
    encode_texts,
    load_stdlib_topics,
    load_text_corpus,
    masked_lm_inputs,
)
from nnzoo.data.tokenizers import ByteTokenizer, WordTokenizer, tokenizer_from_json
from nnzoo.errors import ConfigError
from nnzoo.run.losses import loss_and_metrics

SMALL = 150_000  # characters: keeps each load well under a second


def test_the_sequence_losses_ignore_the_data_ignore_index():
    """One definition (nnzoo.data): the targets' "no target" label is what the losses skip."""
    assert IGNORE_INDEX == -1
    for task in ("language_modeling", "masked_lm"):
        loss, _ = loss_and_metrics(task=task, output_units=50)
        assert loss.ignore_class == IGNORE_INDEX


def test_corpus_files_go_whole_to_one_split_and_depend_on_the_seed():
    split = _split_files(0, SMALL)
    train, val, test = (set(split[f"{k}_files"]) for k in ("train", "validation", "test"))
    assert train and val and test
    assert not train & val and not train & test and not val & test
    assert not any("test" in p.split("/")[:-1] or "idlelib" in p for p in train | val | test)
    assert _split_files(0, SMALL) == split
    assert set(_split_files(1, SMALL)["test_files"]) != test
    # 80 / 10 / 10 of the character budget (a split overshoots by at most one file).
    assert sum(map(len, split["test"])) >= 0.1 * SMALL
    assert sum(map(len, split["train"])) >= 0.8 * SMALL


def test_language_modeling_windows_are_next_token_targets():
    data = load_text_corpus(seed=0, max_chars=SMALL, sequence_length=64)
    x, y = data.x, data.y
    assert set(x) == {"token_ids", "padding_mask"}
    assert x["token_ids"].shape == x["padding_mask"].shape == y.shape
    assert y.shape[1] == 64
    assert x["token_ids"].dtype == x["padding_mask"].dtype == y.dtype == np.int32
    assert data.spec.task == "language_modeling"
    assert data.spec.input_kind == "tokens"
    assert (data.spec.vocabulary_size, data.spec.sequence_length) == (263, 64)
    assert data.spec.num_classes is None
    assert tokenizer_from_json(data.artifacts["tokenizer.json"]) == ByteTokenizer()
    # Validation windows are in corpus order: the target stream is the input stream shifted.
    vx, vy = data.validation
    ids, mask = vx["token_ids"].reshape(-1), vx["padding_mask"].reshape(-1)
    real = int(mask.sum())
    assert mask[:real].all() and not mask[real:].any()  # only the last window is padded
    assert np.array_equal(vy.reshape(-1)[: real - 1], ids[1:real])
    assert (vy.reshape(-1)[real:] == IGNORE_INDEX).all()
    assert (vx["token_ids"].reshape(-1)[real:] == 0).all()
    # Training windows are shuffled, each still shifted by one inside.
    tx, ty = data.x["token_ids"], data.y
    inside = data.x["padding_mask"][:, 1:] == 1
    assert np.array_equal(ty[:, :-1][inside], tx[:, 1:][inside])


def test_the_splits_come_from_the_source_not_from_the_random_splitter():
    data = load_text_corpus(seed=3, max_chars=SMALL)
    splits = load_data("text_corpus", params={"max_chars": SMALL}, seed=3)
    assert np.array_equal(splits.test[1], data.test[1])
    assert np.array_equal(splits.validation[1], data.validation[1])
    assert np.array_equal(splits.train[1], data.y)
    assert "tokenizer.json" in splits.artifacts


def test_corpus_is_deterministic_for_a_seed_and_num_examples_caps_training():
    a = load_text_corpus(seed=5, max_chars=SMALL, num_examples=50)
    b = load_text_corpus(seed=5, max_chars=SMALL, num_examples=50)
    assert len(a.y) == 50
    assert np.array_equal(a.x["token_ids"], b.x["token_ids"])
    assert np.array_equal(a.test[1], b.test[1])
    c = load_text_corpus(seed=6, max_chars=SMALL, num_examples=50)
    assert not np.array_equal(a.x["token_ids"], c.x["token_ids"])


def test_word_tokenizer_is_fitted_on_the_training_files():
    data = load_text_corpus(seed=0, max_chars=SMALL, tokenizer="word", vocabulary_size=500)
    tok = tokenizer_from_json(data.artifacts["tokenizer.json"])
    assert isinstance(tok, WordTokenizer)
    assert data.spec.vocabulary_size == tok.vocabulary_size == 500
    assert data.x["token_ids"].max() < 500
    train_text = "".join(_split_files(0, SMALL)["train"])
    assert tok == WordTokenizer.fit([train_text], vocabulary_size=500)


def test_masked_lm_follows_bert_masking():
    data = load_text_corpus(seed=0, task="masked_lm", max_chars=300_000)
    x, y = data.x, data.y
    assert set(x) == {"token_ids", "padding_mask", "segment_ids"}
    assert data.spec.input_kind == "tokens_segments" and data.spec.task == "masked_lm"
    assert not x["segment_ids"].any()
    tok = ByteTokenizer()
    ids, mask = x["token_ids"], x["padding_mask"]
    lengths = mask.sum(axis=1)
    assert (ids[:, 0] == tok.cls_id).all()
    assert (ids[np.arange(len(ids)), lengths - 1] == tok.sep_id).all()
    chosen = y != IGNORE_INDEX
    assert not chosen[mask == 0].any()  # padding is never chosen
    assert not chosen[:, 0].any() and not chosen[np.arange(len(ids)), lengths - 1].any()
    candidates = int(lengths.sum() - 2 * len(ids))  # real tokens but [CLS] / [SEP]
    assert chosen.sum() / candidates == pytest.approx(0.15, abs=0.005)
    assert (y[chosen] >= tok.num_special).all()  # labels are the original (ordinary) ids
    masked = ids[chosen] == tok.mask_id
    kept = ids[chosen] == y[chosen]
    replaced = ~masked & ~kept
    assert masked.mean() == pytest.approx(0.8, abs=0.015)
    assert kept.mean() == pytest.approx(0.1, abs=0.015)
    assert replaced.mean() == pytest.approx(0.1, abs=0.015)
    assert (ids[chosen][replaced] >= tok.num_special).all()  # random ordinary tokens
    assert not (ids[~chosen] == tok.mask_id).any()
    # The test split is masked too (same rule), so evaluation measures the same task.
    assert (data.test[1] != IGNORE_INDEX).mean() > 0.1


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError) as info:
        load_text_corpus(seed=0, task="classification")
    assert str(info.value) == (
        "data.params.task: must be one of language_modeling, masked_lm. "
        "Received: task='classification'"
    )
    with pytest.raises(ConfigError) as info:
        load_text_corpus(seed=0, tokenizer="bpe", max_chars=SMALL)
    assert str(info.value) == (
        "data.params.tokenizer: must be one of byte, word, wordpiece. Received: tokenizer='bpe'"
    )
    with pytest.raises(ConfigError) as info:
        load_stdlib_topics(seed=0, sequence_length=0)
    assert str(info.value) == (
        "data.params.sequence_length: must be an integer >= 4. Received: sequence_length=0"
    )
    with pytest.raises(ConfigError, match="data.params.num_examples: must be an integer >= 1"):
        load_text_corpus(seed=0, num_examples=True, max_chars=SMALL)  # a bool is no count


def test_encode_texts_pads_truncates_and_frames_for_bert():
    tok = ByteTokenizer()
    inputs = encode_texts(tok, ["ab", "abcdef"], 4)
    assert inputs["token_ids"].tolist() == [[104, 105, 0, 0], [104, 105, 106, 107]]
    assert inputs["padding_mask"].tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    bert = encode_texts(tok, ["ab", "abcdef"], 4, segments=True)
    assert bert["token_ids"].tolist() == [[2, 104, 105, 3], [2, 104, 105, 3]]
    assert bert["segment_ids"].tolist() == [[0] * 4] * 2
    assert bert["token_ids"].dtype == np.int32


def test_stdlib_topics_is_balanced_and_deterministic():
    data = load_stdlib_topics(seed=0, num_examples=400)
    assert data.spec.num_classes == len(data.spec.class_names) == 8
    assert "json" not in data.spec.class_names and "asyncio" in data.spec.class_names
    assert np.bincount(data.y, minlength=8).tolist() == [50] * 8
    assert data.y.dtype == np.int32 and data.x.shape == (400,)  # raw texts until the split
    assert all(isinstance(t, str) for t in data.x) and data.fit is not None
    again = load_stdlib_topics(seed=0, num_examples=400)
    assert np.array_equal(again.x, data.x) and np.array_equal(again.y, data.y)
    other = load_stdlib_topics(seed=1, num_examples=400)
    assert not np.array_equal(other.x, data.x)
    splits = load_data("stdlib_topics", params={"num_examples": 400}, seed=0)
    x = splits.train[0]
    assert set(x) == {"token_ids", "padding_mask"} and x["token_ids"].shape[1] == 128
    assert np.array_equal(x["padding_mask"], (x["token_ids"] != 0).astype("int32"))
    tok = tokenizer_from_json(splits.artifacts["tokenizer.json"])
    assert isinstance(tok, WordTokenizer) and tok.vocabulary_size == splits.spec.vocabulary_size


def test_stdlib_topics_vocabulary_is_fitted_on_the_training_split_only():
    """Issue 11: the vocabulary holds the words of the training texts and no other."""
    params = {"num_examples": 400, "vocabulary_size": 100_000}  # room for every training word
    splits = load_data("stdlib_topics", params=params, seed=0)
    tok = tokenizer_from_json(splits.artifacts["tokenizer.json"])
    # Every training word is known, so a training row decodes to its text's first 128 words.
    decoded = {tok.decode(row) for row in splits.train[0]["token_ids"]}
    texts = load_stdlib_topics(seed=0, **params).x
    train = [t for t in texts if "".join(WordTokenizer.split(t)[:128]) in decoded]
    assert len(train) == len(splits.train[1])
    assert set(tok.vocabulary) == {w for t in train for w in WordTokenizer.split(t)}
    held_out_only = {w for t in texts for w in WordTokenizer.split(t)} - set(tok.vocabulary)
    assert len(held_out_only) > 100
    assert (splits.test[0]["token_ids"] == tok.unk_id).any()


def test_stdlib_topics_with_segments_frames_for_bert():
    splits = load_data(
        "stdlib_topics", params={"num_examples": 80, "segments": True, "tokenizer": "byte"}
    )
    assert set(splits.train[0]) == {"token_ids", "padding_mask", "segment_ids"}
    assert splits.spec.input_kind == "tokens_segments"
    assert (splits.train[0]["token_ids"][:, 0] == 2).all()  # [CLS]


def test_stdlib_topics_train_and_test_share_no_example():
    splits = load_data("stdlib_topics", params={"num_examples": 800}, seed=0)
    rows = {
        name: {r.tobytes() for r in part[0]["token_ids"]}
        for name, part in (("train", splits.train), ("test", splits.test))
    }
    assert len(rows["train"]) == len(splits.train[1])  # no duplicate inside a split either
    assert not rows["train"] & rows["test"]
    assert len(splits.test[1]) == 160  # test_split 0.2, stratified
    assert np.bincount(splits.test[1]).tolist() == [20] * 8


def test_masked_lm_inputs_frame_each_row_and_mask_only_real_tokens():
    """[CLS] body [SEP] then padding; unmasked positions keep the frame, targets the body."""
    body = np.full((200, 3), 50, dtype="int32")
    body[:, 2] = 0  # two real tokens, then [PAD]
    lengths = np.full(200, 2)
    x, y = masked_lm_inputs(body, lengths, np.random.default_rng(0), vocabulary_size=60)
    tok = ByteTokenizer()
    frame = [tok.cls_id, 50, 50, tok.sep_id, tok.pad_id]
    assert x["padding_mask"].tolist() == [[1, 1, 1, 1, 0]] * 200
    assert x["segment_ids"].tolist() == [[0] * 5] * 200
    kept = y == IGNORE_INDEX
    np.testing.assert_array_equal(x["token_ids"][kept], np.tile(frame, (200, 1))[kept])
    assert set(np.flatnonzero(~kept.all(axis=0))) == {1, 2}  # only the real body is a target
    np.testing.assert_array_equal(y[~kept], 50)
