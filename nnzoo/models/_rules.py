"""Rules between hyperparameters that several families share, checked without Keras.

The family modules pass their own rules to :func:`nnzoo.cards.register_model` as ``check``;
:mod:`nnzoo.hyperparameters` runs them before a build (and ``nnzoo validate`` before any data is
loaded), and the builders run them too.
"""

from __future__ import annotations

from nnzoo.cards import HyperparameterError


def divisors_near(n: int, target: int, *, count: int = 3) -> list[int]:
    """Up to ``count`` divisors of ``n``, nearest to ``target`` first, in increasing order."""
    divisors = [d for d in range(1, int(n) + 1) if int(n) % d == 0]
    return sorted(sorted(divisors, key=lambda d: (abs(d - int(target)), d))[:count])


def multiples_near(factor: int, target: int) -> list[int]:
    """The multiples of ``factor`` just below and above ``target`` (positive ones only)."""
    below = (int(target) // int(factor)) * int(factor)
    return [m for m in (below, below + int(factor)) if m > 0]


def or_list(values: list[int]) -> str:
    """``[2, 4, 8]`` as ``"2, 4 or 8"``."""
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " or " + text[-1]


def check_heads(hidden_dim: int, num_heads: int) -> None:
    """Attention heads split ``hidden_dim`` evenly: ``key_dim = hidden_dim // num_heads``."""
    if int(num_heads) >= 1 and int(hidden_dim) % int(num_heads) == 0:
        return
    raise HyperparameterError(
        "`hidden_dim` must be a positive multiple of `num_heads`. "
        f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}",
        fixes={
            "num_heads": f"use a num_heads that divides hidden_dim={hidden_dim}, e.g. "
            + or_list(divisors_near(int(hidden_dim), int(num_heads))),
            "hidden_dim": f"use a hidden_dim that is a multiple of num_heads={num_heads}, e.g. "
            + or_list(multiples_near(max(int(num_heads), 1), int(hidden_dim))),
        },
    )
