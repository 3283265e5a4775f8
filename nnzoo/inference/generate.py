"""``nnzoo generate``: text from a run of a language model, one prompt or a batch of them.

The run-level API over the sampling loop (:mod:`nnzoo.inference.sampling`): the run's
``model.name`` card gives the model's cached forward pass.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnzoo._atomic import atomic_open
from nnzoo.errors import NnzooError
from nnzoo.inference.load import load_run
from nnzoo.run.directory import require_file

__all__ = ["generate", "generate_batch", "read_prompts", "write_generations"]


def generate(
    run_dir: str | Path,
    prompt: str = "",
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> str:
    """Text a saved language-model run writes after ``prompt`` (the prompt not included).

    Args:
        run_dir: a finished run of a language model (e.g. ``gpt_nano``).
        prompt: the text to continue. Defaults to ``""``.
        max_new_tokens: how many tokens to sample. Defaults to ``200``.
        temperature: 0 is greedy (deterministic). Defaults to ``1.0``.
        top_k: sample from the ``top_k`` most likely tokens. Defaults to all.
        seed: seed of the sampler. Defaults to a random one.
        use_cache: the key/value cache and compiled loop where the run's card has a cached
            forward pass (see :mod:`nnzoo.inference.sampling`); greedy text is the same
            without. Defaults to ``True``.

    Raises:
        ParameterError: ``max_new_tokens``, ``temperature`` or ``top_k`` out of its range
            (checked before the run is loaded).
        NnzooError: ``run_dir`` is not a finished run of a language model.
    """
    return generate_batch(
        run_dir,
        [prompt],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        use_cache=use_cache,
    )[0]


def generate_batch(
    run_dir: str | Path,
    prompts: list[str],
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> list[str]:
    """The continuations of several prompts, generated together in one batch (each row from
    its own length, stopping at its own end token), in order; arguments and errors as
    :func:`generate`.
    """
    from nnzoo.data.tokenizers import tokenizer_from_json
    from nnzoo.inference.sampling import check_sampling, sample_texts
    from nnzoo.registry import get_card

    check_sampling(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k)
    run = load_run(run_dir)
    if run.spec.task != "language_modeling":
        raise NnzooError(
            f"{run_dir}: a {run.spec.task} run cannot generate text. Fix: give "
            "the run of a language model (e.g. gpt_nano)"
        )
    tokenizer_file = require_file(run_dir, "tokenizer.json")
    tokenizer = tokenizer_from_json(
        tokenizer_file.read_text(encoding="utf-8", errors="replace"), where=str(tokenizer_file)
    )
    return sample_texts(
        run.model,
        tokenizer,
        list(prompts),
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        seed=seed,
        max_sequence_length=run.config.model.params.get("max_sequence_length"),
        use_cache=use_cache,
        card=get_card(run.config.model.name),
    )


def read_prompts(path: str | Path) -> list[str]:
    """The prompts of a UTF-8 text file, one per line (the line ending not included).

    Blank lines (empty or only spaces) are skipped, so a file may end with an empty line or
    separate groups of prompts; a prompt keeps its other spaces (``"def "``).

    Raises:
        NnzooError: the file is missing, is not UTF-8, or has no prompt; the message starts
            with the file's path.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise NnzooError(f"{path}: {what}. Fix: give a text file, one prompt a line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NnzooError(
            f"{path}: not UTF-8 text (byte {err.start}). Fix: save it as UTF-8"
        ) from None
    prompts = [line for line in text.splitlines() if line.strip()]
    if not prompts:
        raise NnzooError(
            f"{path}: has no prompt (blank lines are skipped). Fix: write one prompt a line"
        )
    return prompts


def write_generations(rows: list[dict[str, str]], path: str | Path) -> None:
    """Write ``{"prompt", "text"}`` rows as JSON lines, atomically (a temporary file beside
    ``path``, moved into place durably when complete; see :func:`nnzoo._atomic.atomic_open`)."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
