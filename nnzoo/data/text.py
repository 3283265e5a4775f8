"""Offline text sources built from the Python standard library's own source files.

``text_corpus`` is a language-modelling corpus (next-token or BERT masked-token targets), split
by file into train / validation / test; with ``path`` it reads the user's own ``.txt`` files
instead (a folder, split by file, or one file, split by lines). ``stdlib_topics`` is a
text-classification task: which standard-library package a window of source lines comes from.
Both ship with every Python, so they need no download. Their tokenizer goes to the run
directory as ``tokenizer.json``.

:func:`text_classification` is the shared end of every text-classification source (these and
the user's own text: ``text_folder``, a ``csv`` text column): raw texts now, a tokenizer learned
on the training split only when :func:`~nnzoo.data.load_data` has split them.
"""

from __future__ import annotations

import functools
import logging
import os
import sysconfig
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.data._listing import FolderListing
from nnzoo.data._prepare import IGNORE_INDEX
from nnzoo.data._sources import (
    FILE_OR_FOLDER,
    DataSpec,
    Encoding,
    SourceData,
    check_choice,
    check_int,
    existing_path,
    register_source,
)
from nnzoo.data._table import read_text_file, text_lines
from nnzoo.data.tokenizers import (
    TOKENIZER_KINDS,
    Tokenizer,
    WordTokenizer,
    encode_in_chunks,
    make_tokenizer,
)
from nnzoo.errors import ConfigError

__all__ = [
    "encode_texts",
    "load_stdlib_topics",
    "load_text_corpus",
    "mask_tokens",
    "masked_lm_inputs",
    "text_classification",
]

logger = logging.getLogger(__name__)

# Tests, the IDLE app and installed packages are not the library; pydoc_data (one 750 kB string
# table) and encodings (120 near-identical generated codec tables) would leak across the splits.
_EXCLUDED_DIRS = frozenset(
    {"test", "tests", "idlelib", "site-packages", "dist-packages", "pydoc_data", "encodings"}
)
_LM_TASKS = ("language_modeling", "masked_lm")
_TOPICS = ("asyncio", "email", "http", "logging", "multiprocessing", "tkinter", "unittest", "xml")


def stdlib_root() -> str:
    return sysconfig.get_paths()["stdlib"]


@functools.cache
def stdlib_files(package: str | None = None) -> tuple[str, ...]:
    """The standard library's ``*.py`` files (relative paths, sorted), or those of ``package``."""
    root = stdlib_root()
    top = os.path.join(root, package) if package else root
    found = []
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if d not in _EXCLUDED_DIRS and d != "__pycache__")
        found.extend(
            os.path.relpath(os.path.join(directory, f), root) for f in files if f.endswith(".py")
        )
    return tuple(sorted(found))


def _read(path: str) -> str:
    with open(os.path.join(stdlib_root(), path), encoding="utf-8", errors="replace") as f:
        return f.read()


def _tokenizer(kind: str, texts: Sequence[str], vocabulary_size: int | None) -> Tokenizer:
    if isinstance(kind, str) and kind.endswith(".json"):
        # A saved tokenizer (e.g. the tokenizer.json of the run a model starts from).
        from pathlib import Path

        from nnzoo.data.tokenizers import load_tokenizer

        if not Path(kind).exists():
            raise ConfigError(
                f"no tokenizer file at {kind}",
                key="data.params.tokenizer",
                fix="give byte, word, wordpiece, or the path of a run's tokenizer.json",
            )
        return load_tokenizer(kind)
    _check_tokenizer(kind, vocabulary_size)
    return make_tokenizer(kind, texts, vocabulary_size=vocabulary_size)


def _check_tokenizer(kind: Any, vocabulary_size: Any) -> None:
    check_choice("tokenizer", kind, TOKENIZER_KINDS)
    check_int("vocabulary_size", vocabulary_size, minimum=8, optional=True)


def encode_texts(
    tokenizer: Tokenizer, texts: Sequence[str], sequence_length: int, *, segments: bool = False
) -> dict[str, np.ndarray]:
    """Model inputs for ``texts``: ids truncated to ``sequence_length`` and padded with the
    tokenizer's ``pad_id``.

    With ``segments`` (BERT) each text is framed as ``[CLS] ... [SEP]`` (the tokenizer's ids)
    and ``segment_ids`` (all zeros: one segment) is added. Returns int32 arrays of shape
    ``(len(texts), T)``: ``token_ids``, ``padding_mask`` (1 = real token, from each text's
    length, so a padding id that is also an ordinary token, as GPT-2's, is no problem) and,
    with ``segments``, ``segment_ids``. The texts are encoded a chunk at a time by
    :meth:`~nnzoo.data.tokenizers.Tokenizer.encode_batch` (the same ids as ``encode``).
    """
    if segments and (tokenizer.cls_id is None or tokenizer.sep_id is None):
        raise ValueError(
            "`segments` frames texts as [CLS] ... [SEP], and this tokenizer has no [CLS] or "
            f"[SEP] token. Received: a {type(tokenizer).__name__}"
        )
    token_ids = np.full((len(texts), sequence_length), tokenizer.pad_id, dtype="int32")
    lengths = np.zeros(len(texts), dtype="int64")
    for row, ids in enumerate(encode_in_chunks(tokenizer, texts)):
        if segments:
            ids = [tokenizer.cls_id, *ids[: sequence_length - 2], tokenizer.sep_id]
        ids = ids[:sequence_length]
        token_ids[row, : len(ids)] = ids
        lengths[row] = len(ids)
    # A text that encodes to nothing keeps one padding token marked real, so no row is empty.
    lengths = np.maximum(lengths, 1)
    padding_mask = (np.arange(sequence_length)[None, :] < lengths[:, None]).astype("int32")
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    if segments:
        inputs["segment_ids"] = np.zeros_like(token_ids)
    return inputs


# --- text_corpus -------------------------------------------------------------------------------


def _split_files(
    seed: int, max_chars: int, files: Sequence[Path] | None = None
) -> dict[str, list[Any]]:
    """Shuffled files dealt into test (10 %), validation (10 %) and train (80 %) of ``max_chars``.

    Whole files go to one split, so no text of a test file is ever trained on. ``files``: the
    user's ``.txt`` files (read as UTF-8, a file that is not refused naming it), else the
    standard library's. The user's budget is ``max_chars`` or their size in bytes if smaller
    (a small folder is dealt whole), and a split that filled keeps going until each later split
    can still get a file.
    """
    user = files is not None
    listed: list[Any] = list(files) if user else list(stdlib_files())
    np.random.default_rng(seed).shuffle(listed)
    if user:
        max_chars = min(max_chars, sum(f.stat().st_size for f in listed))
    budget = {"test": 0.1 * max_chars, "validation": 0.1 * max_chars, "train": 0.8 * max_chars}
    texts: dict[str, list[str]] = {"test": [], "validation": [], "train": []}
    names: dict[str, list[Any]] = {"test": [], "validation": [], "train": []}
    size = dict.fromkeys(budget, 0)
    order = ["test", "validation", "train"]
    for at, path in enumerate(listed):
        while order and size[order[0]] >= budget[order[0]]:
            order.pop(0)
        # A few files of the user's: keep one for each split still waiting.
        while user and len(order) > 1 and names[order[0]] and len(listed) - at < len(order):
            order.pop(0)
        if not order:
            break
        text = read_text_file(path) if user else _read(path)
        texts[order[0]].append(text)
        names[order[0]].append(path)
        size[order[0]] += len(text)
    return {**{f"{k}_files": v for k, v in names.items()}, **texts}


def _split_lines(file: Path, max_chars: int) -> dict[str, list[Any]]:
    """One file's first ``max_chars`` characters cut, at line ends, into train (the first
    80 %), validation (the next 10 %) and test (the last 10 %): contiguous blocks, so no text
    is on both sides of a cut (as nanoGPT splits one file), each split one text."""
    read: list[str] = []
    count = 0
    for line in text_lines(file):  # not UTF-8: refused naming the line
        read.append(line)
        count += len(line)
        if count >= max_chars:
            break
    text = "".join(read)[:max_chars]

    def cut(at: float) -> int:
        end = text.find("\n", int(at))
        return len(text) if end == -1 else end + 1

    first = cut(0.8 * len(text))
    second = max(cut(0.9 * len(text)), first)
    parts = {"train": text[:first], "validation": text[first:second], "test": text[second:]}
    if not all(part.strip() for part in parts.values()):
        raise ConfigError(
            f"{file} has too few lines to split by lines into train, validation and test "
            f"(80 / 10 / 10 % of its characters)",
            key="data.params.path",
            fix="give a longer file (a few lines at least), or a folder of .txt files",
        )
    names = {f"{name}_files": [file] for name in parts}
    return {**names, **{name: [part] for name, part in parts.items()}}


def _corpus_files(path: Any) -> list[Path]:
    """The ``.txt`` files ``text_corpus`` reads from ``path``: the file itself, or the visible
    ``.txt`` files under the folder, at any depth, in listing order."""
    root = existing_path(path, kind=FILE_OR_FOLDER)
    if root.is_file():
        return [root]
    listing = FolderListing()
    files = [f for f in listing.files(root, (".txt",)) if f.is_file()]
    listing.log_hidden("text_corpus", root)
    return files


def _text_corpus_files(params: dict[str, Any]) -> dict[str, list[Path]]:
    """The files ``text_corpus`` reads with ``params``: those of ``path``, none without it."""
    if params.get("path") is None:
        return {}
    return {"path": _corpus_files(params["path"])}


def _user_split(path: Any, seed: int, max_chars: int) -> dict[str, list[Any]]:
    """The user's corpus at ``path`` split as :func:`load_text_corpus` says."""
    files = _corpus_files(path)
    if Path(str(path)).expanduser().is_file():
        return _split_lines(files[0], max_chars)
    if len(files) < 3:
        raise ConfigError(
            f"{len(files)} .txt file{'' if len(files) == 1 else 's'} in {str(path)!r}: a "
            f"folder is split by file into train, validation and test, so it needs 3 or more",
            key="data.params.path",
            fix="give more .txt files, or the path of one file (split by lines)",
        )
    return _split_files(seed, max_chars, files)


def _lm_windows(
    ids: np.ndarray, length: int, pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``length`` inputs (padded with ``pad_id``), their next
    tokens (-1 at padding) and their padding mask (1 = real token)."""
    n = max(len(ids) - 1, 0)
    count = -(-n // length)
    x = np.full((count, length), pad_id, dtype="int32")
    y = np.full((count, length), IGNORE_INDEX, dtype="int32")
    mask = np.zeros((count, length), dtype="int32")
    x.reshape(-1)[:n] = ids[:n]
    y.reshape(-1)[:n] = ids[1 : n + 1]
    mask.reshape(-1)[:n] = 1
    return x, y, mask


def mask_tokens(
    token_ids: np.ndarray,
    padding_mask: np.ndarray,
    rng: np.random.Generator,
    *,
    vocabulary_size: int,
    mask_id: int,
    num_special: int | None = None,
    special_ids: Collection[int] | None = None,
    rate: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking: returns ``(masked_ids, labels)``.

    Each real token that is not special is chosen with probability ``rate``; a chosen token
    becomes ``[MASK]`` (80 %), a random ordinary token (10 %) or stays as it is (10 %).
    ``labels`` holds the original id at chosen positions and -1 (ignored by the loss)
    everywhere else. The special ids are ``special_ids`` (a preset's, wherever they sit) or
    ``range(num_special)`` (nnzoo's layout).
    """
    if special_ids is None:
        if num_special is None:
            raise ValueError("Pass `special_ids` or `num_special`. Received neither.")
        special_ids = range(num_special)
    special = np.asarray(sorted(special_ids), dtype="int64")
    candidates = (padding_mask == 1) & ~np.isin(token_ids, special)
    chosen = candidates & (rng.random(token_ids.shape) < rate)
    labels = np.where(chosen, token_ids, IGNORE_INDEX).astype("int32")
    action = rng.random(token_ids.shape)
    ordinary = np.setdiff1d(np.arange(vocabulary_size), special)
    # For nnzoo's layout (specials first) this draws the same ids as before specials moved.
    random_ids = ordinary[rng.integers(0, len(ordinary), size=token_ids.shape)]
    masked = np.where(chosen & (action < 0.8), mask_id, token_ids)
    masked = np.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked.astype("int32"), labels


def masked_lm_inputs(
    body: np.ndarray,
    lengths: np.ndarray,
    rng: np.random.Generator,
    *,
    vocabulary_size: int,
    tokenizer: Tokenizer | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """BERT inputs and targets for ``body`` ids ``(N, B)`` whose row ``i`` holds ``lengths[i]``
    real tokens: rows ``[CLS] body [SEP]`` of ``B + 2`` tokens, then padding, masked once with
    :func:`mask_tokens` (static masking). The special ids are ``tokenizer``'s (a preset's), or
    nnzoo's layout without one. Returns ``token_ids``, ``padding_mask`` (from ``lengths``) and
    ``segment_ids`` (all 0), and the labels."""
    tok = tokenizer if tokenizer is not None else Tokenizer()
    if tok.cls_id is None or tok.sep_id is None or tok.mask_id is None:
        raise ValueError(
            "Masked-LM rows need [CLS], [SEP] and [MASK] tokens, which this tokenizer lacks. "
            f"Received: a {type(tok).__name__}"
        )
    count, width = body.shape
    positions = np.arange(width + 2)[None, :]
    padding_mask = (positions < (lengths + 2)[:, None]).astype("int32")
    token_ids = np.full((count, width + 2), tok.pad_id, dtype="int32")
    token_ids[:, 0] = tok.cls_id
    token_ids[:, 1:-1] = np.where(padding_mask[:, 1:-1] == 1, body, tok.pad_id)
    token_ids[np.arange(count), lengths + 1] = tok.sep_id
    masked, labels = mask_tokens(
        token_ids,
        padding_mask,
        rng,
        vocabulary_size=vocabulary_size,
        mask_id=tok.mask_id,
        special_ids=tok.special_ids,
    )
    x = {"token_ids": masked, "padding_mask": padding_mask, "segment_ids": np.zeros_like(masked)}
    return x, labels


def _mlm_windows(
    ids: np.ndarray, length: int, tokenizer: Tokenizer, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``[CLS] chunk [SEP]`` windows of ``length`` tokens, masked once (static masking)."""
    body = length - 2
    count = -(-len(ids) // body)
    chunks = np.zeros((count, body), dtype="int32")
    chunks.reshape(-1)[: len(ids)] = ids
    lengths = np.minimum(body, len(ids) - body * np.arange(count))
    return masked_lm_inputs(
        chunks, lengths, rng, vocabulary_size=tokenizer.vocabulary_size, tokenizer=tokenizer
    )


def load_text_corpus(
    *,
    seed: int,
    task: str = "language_modeling",
    tokenizer: str = "byte",
    vocabulary_size: int | None = None,
    sequence_length: int = 128,
    max_chars: int = 2_000_000,
    num_examples: int | None = None,
    path: str | None = None,
) -> SourceData:
    """The standard library's source code (or the user's ``.txt`` files, ``path``) as a
    language-modelling corpus.

    Files (tests, IDLE, ``encodings`` and ``pydoc_data`` left out) are shuffled with ``seed``
    and dealt whole into test, validation and train until each holds 10 %, 10 % and 80 % of
    ``max_chars`` characters. Each split's files are concatenated and cut into non-overlapping
    windows of ``sequence_length`` tokens; the last window is padded.

    ``task="language_modeling"``: ``y`` is the next token at every position (-1 at padding).
    A tokenizer that frames documents (a GPT-2 preset's: KerasHub's GPT-2 preprocessor adds
    ``<|endoftext|>`` around each text) puts its start token before each file, so the model
    learns where a file begins; windows are contiguous text and get no framing of their own.
    ``task="masked_lm"``: windows are ``[CLS] ... [SEP]``, BERT-masked once when loaded with a
    generator seeded from ``seed`` (static masking, as the original BERT data did), ``y`` is
    the original id at the chosen positions and -1 elsewhere; ``x`` adds ``segment_ids``.

    ``tokenizer``: ``byte``, ``word`` or ``wordpiece`` (fitted on the training files only;
    ``vocabulary_size`` defaults to 5000), or the path of a ``tokenizer.json`` (a run's, or a
    preset's from :func:`~nnzoo.data.tokenizers.from_keras_hub`) used as it is.
    ``num_examples`` caps the training windows (a seeded random subset).

    ``path``: the user's own corpus instead, read as UTF-8 (a file that is not is refused
    naming it). A folder: its ``.txt`` files at any depth (hidden entries left out), dealt whole
    into the splits as the standard library's files are, of ``max_chars`` or of the folder's
    size if smaller (3 files at least). One file: its first ``max_chars`` characters cut at
    line ends into train (the first 80 %), validation and test (the last 10 %), contiguous
    blocks so that no window's text is on both sides.
    """
    check_choice("task", task, _LM_TASKS)
    check_int("sequence_length", sequence_length, minimum=4)
    check_int("max_chars", max_chars, minimum=1000)
    check_int("num_examples", num_examples, optional=True)
    split = _split_files(seed, max_chars) if path is None else _user_split(path, seed, max_chars)
    tok = _tokenizer(tokenizer, split["train"], vocabulary_size)
    rng = np.random.default_rng(seed)
    data = {}
    if task == "masked_lm" and (tok.cls_id is None or tok.mask_id is None):
        raise ConfigError(
            "task masked_lm needs a tokenizer with [CLS], [SEP] and [MASK] tokens, which this "
            f"one lacks. Received: tokenizer={tokenizer}",
            key="data.params.task",
            fix="use task: language_modeling, or a byte, word, wordpiece or BERT tokenizer",
        )
    # A GPT-2 tokenizer frames each document (here each file) with <|endoftext|> before it,
    # as GPT-2 saw its training text; windows then cut the stream wherever they fall.
    frame = [tok.bos_id] if tok.frames_documents and tok.bos_id is not None else []
    for name in ("train", "validation", "test"):
        encoded = encode_in_chunks(tok, split[name])
        parts = [np.asarray([*frame, *ids], dtype="int32") for ids in encoded]
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype="int32")
        if task == "language_modeling":
            x, y, mask = _lm_windows(ids, sequence_length, tok.pad_id)
            inputs = {"token_ids": x, "padding_mask": mask}
        else:
            inputs, y = _mlm_windows(ids, sequence_length, tok, rng)
        data[name] = (inputs, y)
    x, y = data["train"]
    order = rng.permutation(len(y))
    if num_examples is not None:
        order = order[:num_examples]
    x, y = {k: v[order] for k, v in x.items()}, y[order]
    logger.info(
        "text_corpus: %d / %d / %d files, %d / %d / %d windows (train / validation / test)",
        len(split["train_files"]),
        len(split["validation_files"]),
        len(split["test_files"]),
        len(y),
        len(data["validation"][1]),
        len(data["test"][1]),
    )
    spec = DataSpec(
        input_kind="tokens" if task == "language_modeling" else "tokens_segments",
        input_shape=(sequence_length,),
        vocabulary_size=tok.vocabulary_size,
        sequence_length=sequence_length,
        task=task,
        num_classes=None,
    )
    return SourceData(
        x=x,
        y=y,
        spec=spec,
        validation=data["validation"],
        test=data["test"],
        artifacts={"tokenizer.json": tok.to_json()},
    )


# --- stdlib_topics -----------------------------------------------------------------------------


@functools.cache
def _snippets(package: str, lines_per_example: int) -> tuple[str, ...]:
    """Non-overlapping windows of source lines of ``package``, without near-empty ones."""
    out = []
    for path in stdlib_files(package):
        lines = _read(path).splitlines(keepends=True)
        for start in range(0, len(lines), lines_per_example):
            text = "".join(lines[start : start + lines_per_example])
            if sum(not c.isspace() for c in text) >= 60:
                out.append(text)
    return tuple(out)


def load_stdlib_topics(
    *,
    seed: int,
    tokenizer: str = "word",
    vocabulary_size: int | None = None,
    sequence_length: int = 128,
    num_examples: int = 3000,
    lines_per_example: int = 8,
    segments: bool = False,
) -> SourceData:
    """Which standard-library package a window of source lines comes from (8 classes).

    Classes: asyncio, email, http, logging, multiprocessing, tkinter, unittest, xml. Each
    example is ``lines_per_example`` consecutive lines of one of the package's files (windows
    with fewer than 60 non-space characters are dropped); texts that occur twice, or whose first
    ``sequence_length`` tokens are the same words, are kept once. ``num_examples`` are drawn
    with ``seed``, balanced over the classes. The ``word`` tokenizer (``vocabulary_size``
    defaults to 5000) is fitted on the training split only, after the split (a held-out text
    that then encodes as a training one is dropped); a saved ``tokenizer.json`` is used as it
    is. ``segments`` (BERT) frames each text as ``[CLS] ... [SEP]`` and adds ``segment_ids``.
    """
    check_int("num_examples", num_examples, minimum=len(_TOPICS))
    check_int("sequence_length", sequence_length, minimum=4)
    check_int("lines_per_example", lines_per_example)
    saved = isinstance(tokenizer, str) and tokenizer.endswith(".json")
    if not saved:
        _check_tokenizer(tokenizer, vocabulary_size)
    rng = np.random.default_rng(seed)
    per_class = num_examples // len(_TOPICS)
    owners: dict[str, set[int]] = {}
    pools = []
    for label, package in enumerate(_TOPICS):
        pool = _snippets(package, lines_per_example)
        for text in pool:
            owners.setdefault(text, set()).add(label)
        pools.append(pool)
    texts: list[str] = []
    labels: list[int] = []
    for label, pool in enumerate(pools):
        # Texts shared by two packages (licence headers) are no evidence of either.
        unique = list(dict.fromkeys(t for t in pool if len(owners[t]) == 1))
        # Draw a few spares: some may begin with the same tokens as another text.
        picked = rng.permutation(len(unique))[: per_class + per_class // 10 + 1]
        texts.extend(unique[i] for i in picked)
        labels.extend([label] * len(picked))
    fixed = _tokenizer(tokenizer, (), vocabulary_size) if saved else None
    window = sequence_length - 2 if segments else sequence_length
    seen: dict[Any, int] = {}
    encoded = encode_in_chunks(fixed, texts) if fixed is not None else None
    for row, text in enumerate(texts):
        # What a model sees of a text, whatever vocabulary is fitted later.
        if encoded is not None:
            key: Any = tuple(next(encoded)[:window])
        elif tokenizer == "byte":
            key = text.encode("utf-8")[:window]
        else:
            key = tuple(WordTokenizer.split(text)[:window])
        seen.setdefault(key, row)
    keep, counts = [], [0] * len(_TOPICS)
    y_all = np.asarray(labels, dtype="int32")
    for row in sorted(seen.values()):
        if counts[y_all[row]] < per_class:
            counts[y_all[row]] += 1
            keep.append(row)
    if min(counts) < per_class:
        logger.warning(
            "stdlib_topics: only %d examples for class %r (asked %d per class)",
            min(counts),
            _TOPICS[int(np.argmin(counts))],
            per_class,
        )
    index = np.asarray(keep)
    index = index[rng.permutation(len(index))]
    return text_classification(
        [texts[i] for i in index],
        y_all[index],
        _TOPICS,
        tokenizer=tokenizer,
        vocabulary_size=vocabulary_size,
        sequence_length=sequence_length,
        segments=segments,
    )


# --- the user's own text -----------------------------------------------------------------------


def text_classification(
    texts: Sequence[str],
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    tokenizer: str = "word",
    vocabulary_size: int | None = None,
    sequence_length: int = 128,
    segments: bool = False,
    table: dict[str, Any] | None = None,
) -> SourceData:
    """The :class:`SourceData` of raw ``texts`` labelled ``labels`` (class ids).

    ``tokenizer``: ``byte``, ``word``, ``wordpiece`` (``vocabulary_size`` defaults to 5000) or
    the path of a run's ``tokenizer.json`` (used as it is). A learned tokenizer is fitted by
    :func:`~nnzoo.data.load_data` on the training split only, after the split, and saved in the
    run as ``tokenizer.json``. Each text becomes at most ``sequence_length`` tokens; with
    ``segments`` (BERT) it is framed as ``[CLS] ... [SEP]`` and ``segment_ids`` is added.
    ``table`` goes to the :class:`DataSpec` (how ``predict`` reads a CSV of texts).
    """
    check_int("sequence_length", sequence_length, minimum=4)
    saved = isinstance(tokenizer, str) and tokenizer.endswith(".json")
    if not saved:
        _check_tokenizer(tokenizer, vocabulary_size)
    fixed = _tokenizer(tokenizer, (), vocabulary_size) if saved else None
    if segments and fixed is not None and (fixed.cls_id is None or fixed.sep_id is None):
        raise ConfigError(
            "segments frames each text as [CLS] ... [SEP], and this tokenizer has no [CLS] or "
            f"[SEP] token. Received: tokenizer={tokenizer}",
            key="data.params.segments",
            fix="set segments: false (GPT-2 and other models without segments)",
        )

    def fit(train_texts: Sequence[str]) -> Encoding:
        tok = fixed or _tokenizer(tokenizer, list(train_texts), vocabulary_size)
        return Encoding(
            encode=lambda x: encode_texts(tok, list(x), sequence_length, segments=segments),
            vocabulary_size=tok.vocabulary_size,
            artifacts={"tokenizer.json": tok.to_json()},
        )

    spec = DataSpec(
        input_kind="tokens_segments" if segments else "tokens",
        input_shape=(sequence_length,),
        num_classes=len(class_names),
        class_names=list(class_names),
        sequence_length=sequence_length,
        table=table,
    )
    x = np.empty(len(texts), dtype=object)
    x[:] = list(texts)
    return SourceData(x=x, y=np.asarray(labels, dtype="int32"), spec=spec, fit=fit)


register_source(
    "text_corpus",
    load_text_corpus,
    input_kind="tokens",
    summary="Python's standard library source (or your .txt files, path) as a language-modelling "
    "corpus",
    offline=True,
    list_files=_text_corpus_files,
)
register_source(
    "stdlib_topics",
    load_stdlib_topics,
    input_kind="tokens",
    summary="Which stdlib package (8: asyncio, email, http, ...) a window of source lines is from",
    offline=True,
)
