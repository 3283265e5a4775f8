"""Benchmark cached generation, side by side in one process: tokens per second of 200 new
tokens, greedy, at batch 1 and 8, for

(a) nnzoo's generate with the key/value cache and the compiled loop (the engine under
    ``nnzoo generate``: ``nnzoo.inference.sampling.sample_ids``, no end token so every row makes
    all its tokens),
(b) nnzoo's uncached path (the whole context every step, ``use_cache=False``; batch 1
    only unless ``--uncached-batch-sizes``: minutes per call at batch 8),
(c) KerasHub's ``GPT2CausalLM.generate`` on the same architecture (``GPT2Backbone`` with
    vocabulary 256, 6 layers, 8 heads, 256 hidden, 1024 intermediate, 256 positions),
    ``preprocessor=None``, the ``"greedy"`` sampler, ``stop_token_ids=None``, on a dict of
    ``token_ids`` / ``padding_mask`` padded to prompt + 200.

Both models have random weights (seed fixed): speed does not depend on them. Each is timed
after a first (compiling) call: the median of ``--repeat`` further calls. Goal: (a) / (c) >=
1.0 at batch 1 and 8. Run it alone on the machine:

    flock /tmp/bench.lock python scripts/bench_generate.py                  # TensorFlow
    KERAS_BACKEND=jax flock /tmp/bench.lock python scripts/bench_generate.py
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import numpy as np

NEW_TOKENS = 200
PROMPT = [ord(c) for c in "def main():\n    "]  # 16 byte tokens
ARCHITECTURE = dict(
    vocabulary_size=256,
    num_layers=6,
    num_heads=8,
    hidden_dim=256,
    intermediate_dim=1024,
    max_sequence_length=256,
)


def _timed(call, repeat: int) -> float:
    """Median seconds of ``repeat`` calls after a first (compiling) one."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls after the first")
    parser.add_argument(
        "--uncached-batch-sizes",
        default="1",
        help="batch sizes of (b), the slowest: minutes at batch 8 on 2 cores",
    )
    args = parser.parse_args()

    import keras
    import keras_hub

    from nnzoo.inference.sampling import sample_ids
    from nnzoo.registry import build_model

    keras.utils.set_random_seed(0)
    model = build_model("gpt_mini")
    backbone = keras_hub.models.GPT2Backbone(**ARCHITECTURE)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    causal_lm.compile(sampler="greedy")

    print(
        f"backend {keras.config.backend()}, Keras {keras.__version__}, "
        f"KerasHub {keras_hub.__version__}: gpt_mini, {NEW_TOKENS} new tokens after a "
        f"{len(PROMPT)}-token prompt, greedy; tokens/s, median of {args.repeat} calls after "
        "a first one"
    )
    print(
        f"{'batch':>5}  {'nnzoo cached':>12}  {'uncached':>9}  {'KerasHub':>9}  {'cached/KH':>9}"
    )
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        contexts = [list(PROMPT)] * batch_size
        width = len(PROMPT) + NEW_TOKENS
        token_ids = np.zeros((batch_size, width), "int32")
        token_ids[:, : len(PROMPT)] = PROMPT
        padding_mask = np.zeros((batch_size, width), "bool")
        padding_mask[:, : len(PROMPT)] = True
        inputs = {"token_ids": token_ids, "padding_mask": padding_mask}

        def nnzoo_call(contexts: list[list[int]], use_cache: bool) -> None:
            out = sample_ids(
                model, contexts, max_new_tokens=NEW_TOKENS, temperature=0, use_cache=use_cache
            )
            assert all(len(row) == NEW_TOKENS for row in out), [len(row) for row in out]

        def keras_hub_call(inputs: dict[str, np.ndarray]) -> None:
            out = causal_lm.generate(inputs, stop_token_ids=None)
            assert np.asarray(out["padding_mask"]).all()

        tokens = NEW_TOKENS * batch_size
        cached = tokens / _timed(functools.partial(nnzoo_call, contexts, True), args.repeat)
        uncached = float("nan")
        if str(batch_size) in args.uncached_batch_sizes.split(","):
            call = functools.partial(nnzoo_call, contexts, False)
            uncached = tokens / _timed(call, max(1, args.repeat // 2))
        keras_hub_rate = tokens / _timed(functools.partial(keras_hub_call, inputs), args.repeat)
        print(
            f"{batch_size:>5}  {cached:>12.1f}  {uncached:>9.1f}  {keras_hub_rate:>9.1f}  "
            f"{cached / keras_hub_rate:>8.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
