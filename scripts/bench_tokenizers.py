"""Tokenizers before and after Hugging Face ``tokenizers``, side by side in one run (goal:
encoding >= 3x the old throughput on 5 MB of text, ids identical).

The text is the standard library's source as ``text_corpus`` reads it (files in sorted order,
repeated if the library is smaller) up to ``--mb`` megabytes of UTF-8. For WordPiece and GPT-2's
byte-pair encoding, every text is encoded by

(a) the pure-Python encoder nnzoo had before (kept as the reference:
    ``nnzoo.data.tokenizers._wordpiece_reference`` / ``_byte_pair_reference``), one ``encode``
    call per file, as the text sources called it;
(b) ``WordPieceTokenizer`` / ``BytePairTokenizer`` on ``tokenizers``, one ``encode`` call per
    file, one thread;
(c) the same tokenizer as the text sources now call it (``encode_texts``, ``text_corpus``):
    ``encode_in_chunks``, one ``encode_batch`` (``encode_batch_fast``: no offsets) per chunk
    of texts, over ``tokenizers``' threads (``--threads``, else ``RAYON_NUM_THREADS``, else
    every CPU),

with the same vocabulary (learned on the text by (b)), each from a fresh instance with its
engine built before the clock starts; MB/s is the best of ``--repeat`` passes (per wall
second, or with ``--cpu-time`` per CPU second of the process) and the speed-ups are (b)'s and
(c)'s over (a). "ids identical" compares every text's ids of (b) and of (c) with (a)'s. A
second row encodes only the library's non-ASCII files (repeated to 1 MB): the WordPiece
engine's other path. Learning a vocabulary of ``--vocabulary-size``: before, KerasHub's
``compute_word_piece_vocabulary`` (TensorFlow Text) for WordPiece and no byte-pair learner;
after, ``tokenizers``' trainers. Shared CPUs make timings noisy: run it alone on the machine
(on a busy one, ``--cpu-time --threads 1`` compares the encoders' cost on one core),

    flock /tmp/bench.lock python scripts/bench_tokenizers.py
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _texts(megabytes: float, *, ascii_only: bool | None = None) -> list[str]:
    """Standard-library files in order (repeated) until ``megabytes`` of UTF-8."""
    from nnzoo.data.text import _read, stdlib_files

    files = [_read(path) for path in stdlib_files()]
    if ascii_only is not None:
        files = [text for text in files if text.isascii() == ascii_only]
    texts: list[str] = []
    size = 0
    while size < megabytes * 1e6:
        for text in files:
            texts.append(text)
            size += len(text.encode("utf-8"))
            if size >= megabytes * 1e6:
                break
    return texts


def _rate(
    make: Callable[[], Callable[[Sequence[str]], list[list[int]]]],
    texts: Sequence[str],
    repeat: int,
    clock: Callable[[], float] = time.perf_counter,
):
    """(best MB/s over ``repeat`` passes by ``clock``, the ids of the last pass); each pass a
    fresh encoder of all the texts from ``make``."""
    size = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    best, ids = 0.0, []
    for _ in range(repeat):
        encode = make()
        start = clock()
        ids = encode(texts)
        best = max(best, size / (clock() - start))
    return best, ids


def _old_wordpiece_learner(texts: Sequence[str], vocabulary_size: int) -> float | None:
    """Seconds KerasHub's learner (what ``WordPieceTokenizer.fit`` called before) takes."""
    try:
        import tensorflow as tf
        import tensorflow_text  # noqa: F401
        from keras_hub.tokenizers import compute_word_piece_vocabulary
    except ImportError:
        return None
    from nnzoo.data.tokenizers import SPECIAL_TOKENS

    start = time.perf_counter()
    data = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), dtype=tf.string))
    compute_word_piece_vocabulary(
        data,
        vocabulary_size,
        lowercase=True,
        strip_accents=True,
        reserved_tokens=list(SPECIAL_TOKENS),
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="megabytes of text to encode")
    parser.add_argument("--vocabulary-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2, help="passes; the best one counts")
    parser.add_argument("--skip-old-learner", action="store_true", help="no TensorFlow Text")
    parser.add_argument(
        "--threads", type=int, help="tokenizers' threads (RAYON_NUM_THREADS); default all CPUs"
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="MB per CPU second of this process (all its threads) instead of per wall second: "
        "steadier on a shared machine, and with --threads 1 each encoder's cost on one core",
    )
    args = parser.parse_args()
    if args.threads is not None:
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # before the pool starts

    import tokenizers

    from nnzoo.data.tokenizers import BytePairTokenizer, WordPieceTokenizer, encode_in_chunks

    texts = _texts(args.mb)
    others = _texts(1.0, ascii_only=False)
    size = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"tokenizers {tokenizers.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (load {load:.1f}); {size:.2f} MB: {len(texts)} standard-library "
        f"files ({sum(not t.isascii() for t in texts)} not ASCII); batch threads "
        f"{os.environ.get('RAYON_NUM_THREADS', os.cpu_count())} (RAYON_NUM_THREADS), "
        f"TOKENIZERS_PARALLELISM={os.environ.get('TOKENIZERS_PARALLELISM', 'unset')}; MB per "
        f"{'CPU' if args.cpu_time else 'wall'} second"
    )

    learned = {}
    seconds = {}
    for name, cls in (("WordPiece", WordPieceTokenizer), ("byte-pair", BytePairTokenizer)):
        start = time.perf_counter()
        learned[name] = cls.fit(texts, vocabulary_size=args.vocabulary_size)
        seconds[name] = time.perf_counter() - start
    old_seconds = (
        None if args.skip_old_learner else _old_wordpiece_learner(texts, args.vocabulary_size)
    )

    # Each pass a fresh tokenizer: the old encoder (its reference) starts with an empty word
    # cache; the new one has its engine built before the clock starts.
    def one_by_one(encode: Callable[[str], list[int]]) -> Callable[..., list[list[int]]]:
        return lambda texts: [encode(text) for text in texts]

    def encoder(tok: Any, how: str) -> Callable[[Sequence[str]], list[list[int]]]:
        if how == "old":
            return one_by_one(tok._reference.encode)
        tok.encode("é")  # builds the engine and its Unicode classes
        if how == "new":
            return one_by_one(tok.encode)
        return lambda texts: list(encode_in_chunks(tok, texts))

    def wordpiece(how: str) -> Callable[[Sequence[str]], list[list[int]]]:
        return encoder(WordPieceTokenizer(learned["WordPiece"].vocabulary), how)

    def byte_pair(how: str) -> Callable[[Sequence[str]], list[list[int]]]:
        old = learned["byte-pair"]
        tok = BytePairTokenizer(old.vocabulary, old.merges, special_tokens=old.special_tokens)
        return encoder(tok, how)

    rows = [
        ("encode WordPiece", wordpiece, texts),
        ("encode WordPiece, non-ASCII files", wordpiece, others),
        ("encode byte-pair (GPT-2)", byte_pair, texts),
    ]
    print(
        f"{'':36}{'old MB/s':>10}{'new MB/s':>10}{'speed-up':>10}{'batch MB/s':>12}"
        f"{'speed-up':>10}  ids identical (new, batch)"
    )
    for label, make, data in rows:
        clock = time.process_time if args.cpu_time else time.perf_counter
        old_rate, old_ids = _rate(functools.partial(make, "old"), data, args.repeat, clock)
        new_rate, new_ids = _rate(functools.partial(make, "new"), data, args.repeat, clock)
        batch_rate, batch_ids = _rate(functools.partial(make, "batch"), data, args.repeat, clock)
        print(
            f"{label:36}{old_rate:>10.2f}{new_rate:>10.2f}{new_rate / old_rate:>9.1f}x"
            f"{batch_rate:>12.2f}{batch_rate / old_rate:>9.1f}x  "
            f"{old_ids == new_ids}, {old_ids == batch_ids}"
        )
    print(f"{'':36}{'old s':>10}{'new s':>10}{'speed-up':>10}")
    old_text = "n/a" if old_seconds is None else f"{old_seconds:.1f}"
    ratio = "" if old_seconds is None else f"{old_seconds / seconds['WordPiece']:.1f}x"
    print(
        f"{f'learn WordPiece, {args.vocabulary_size} tokens':36}{old_text:>10}"
        f"{seconds['WordPiece']:>10.1f}{ratio:>10}  (before: KerasHub, TensorFlow Text)"
    )
    print(
        f"{f'learn byte-pair, {args.vocabulary_size} tokens':36}{'-':>10}"
        f"{seconds['byte-pair']:>10.1f}{'':>10}  (before: none, presets only)"
    )


if __name__ == "__main__":
    sys.exit(main())
