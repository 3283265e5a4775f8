"""Character classes written out as code-point ranges, for the regular expressions of the fast
tokenizer engines.

A class such as ``\\p{L}`` means what the Unicode tables of its regex engine say, and Python's
``unicodedata``, the ``regex`` package and Oniguruma (inside Hugging Face ``tokenizers``) each
ship their own Unicode version. The reference encoders decide with Python's tools, so the fast
engines ask those same tools once per process and spell every class out as ranges: the two
split alike whatever versions are installed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

#: One past the largest code point.
CODE_POINTS = 0x110000


def to_ranges(codes: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted code points as ``(first, last)`` runs."""
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


@functools.cache
def categories() -> tuple[str, ...]:
    """``unicodedata.category`` of every code point (a tenth of a second, once)."""
    import unicodedata

    return tuple(unicodedata.category(chr(code)) for code in range(CODE_POINTS))


def where(candidate: Callable[[int, str], bool], test: Callable[[str], bool]) -> list[int]:
    """The code points for which ``test(char)`` holds, asked only of those ``candidate(code,
    category)`` admits: a cheap superset read off ``test`` (e.g. ASCII or a category)."""
    return [
        code
        for code, category in enumerate(categories())
        if candidate(code, category) and test(chr(code))
    ]


@functools.cache
def regex_property(pattern: str) -> tuple[tuple[int, int], ...]:
    """The code points one character of ``pattern`` (e.g. ``\\p{L}``) matches with the
    ``regex`` package, as ranges."""
    import regex

    every = "".join(map(chr, range(CODE_POINTS)))
    return tuple(
        (match.start(), match.end() - 1) for match in regex.finditer(f"(?:{pattern})+", every)
    )


def python_class(ranges: Iterable[tuple[int, int]]) -> str:
    """A ``re`` pattern matching one character of ``ranges``.

    ``re`` looks a character up in one table for the Basic Multilingual Plane but tries the
    ranges above it one by one, for every character; behind a one-range look-ahead they are
    tried only for a character above it, so a class of several hundred ranges stays fast.
    """
    ranges = list(ranges)
    bmp = [(low, min(high, 0xFFFF)) for low, high in ranges if low <= 0xFFFF]
    astral = [(max(low, 0x10000), high) for low, high in ranges if high > 0xFFFF]
    pattern = _python_set(bmp)
    if astral:
        pattern = f"(?:{pattern}|(?=[\\U00010000-\\U0010ffff]){_python_set(astral)})"
    return pattern


def _python_set(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return "(?!)"
    body = "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )
    return f"[{body}]"


def union(*classes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges of several classes merged into sorted, disjoint runs."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(r for ranges in classes for r in ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def onig_class(ranges: Iterable[tuple[int, int]], *, negate: bool = False) -> str:
    """An Oniguruma character class of ``ranges`` (surrogates left out: text reaches the engine
    as UTF-8, which cannot hold them)."""
    parts = [
        (low, high)
        for first, last in ranges
        for low, high in ((first, min(last, 0xD7FF)), (max(first, 0xE000), last))
        if low <= high
    ]
    body = "".join(
        f"\\x{{{low:x}}}" if low == high else f"\\x{{{low:x}}}-\\x{{{high:x}}}"
        for low, high in parts
    )
    return f"[{'^' if negate else ''}{body}]"
