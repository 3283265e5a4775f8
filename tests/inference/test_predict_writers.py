"""``predict``'s writers: a file or the screen written a batch at a time from arrays holds the
very bytes that writing one dict per row gives (``csv.writer``, ``json.dumps``), whatever the
names hold (quotes, commas, newlines, tabs, ``%``, non-ASCII) and for non-finite values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnzoo.inference.predict import PredictedBatch
from nnzoo.inference.writers import prediction_lines, write_predictions

ODD = ["plain", "com,ma", 'quo"te', "new\nline", "tab\there", "100%", "été", "%s%r", "'"]


class _Stream:
    """What a PredictionStream offers the writers: ``batches()`` and its rows."""

    def __init__(self, batches: list[PredictedBatch]) -> None:
        self._batches = batches

    def batches(self):
        return iter(self._batches)

    def __iter__(self):
        for batch in self._batches:
            yield from batch.rows()


def _batches(classes: list[str], *, labelled: bool, sizes=(7, 1, 5), nan: bool = False):
    rng = np.random.default_rng(0)
    out, start = [], 0
    for n in sizes:
        logits = rng.normal(size=(n, len(classes))) * 3
        probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        probs[0, 0] = 1e-300  # repr's exponent form
        if nan and start:
            probs[-1, :] = np.nan
        names = [ODD[(start + i) % len(ODD)] + f"#{start + i}" for i in range(n)]
        labels = rng.integers(0, len(classes), size=n) if labelled else None
        out.append(PredictedBatch(names, probs, probs.argmax(-1), labels, classes))
        start += n
    return out


CASES = {
    "labelled, odd class names": (["a,b", 'c"d', "e%f", "gé", "h\ni"], True, False),
    "unlabelled digits": ([str(i) for i in range(10)], False, False),
    "a batch with NaN": (["x", "y", "z"], True, True),
}


@pytest.mark.parametrize("suffix", [".csv", ".json"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_output_files_hold_the_bytes_of_row_by_row_writing(tmp_path, suffix, case):
    classes, labelled, nan = CASES[case]
    batches = _batches(classes, labelled=labelled, nan=nan)
    rows = list(_Stream(batches))  # a plain list: written one dict at a time
    by_row, by_batch = tmp_path / f"rows{suffix}", tmp_path / f"batches{suffix}"
    assert write_predictions(rows, by_row) == 13
    assert write_predictions(_Stream(batches), by_batch) == 13
    assert by_batch.read_bytes() == by_row.read_bytes()
    if suffix == ".json":
        back = json.loads(by_batch.read_text(encoding="utf-8"))
        assert [r["input"] for r in back] == [r["input"] for r in rows]
        assert back[0]["probabilities"][classes[0]] == 1e-300
        assert all(("label" in r) == labelled for r in back)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_no_prediction_writes_the_same_empty_file_both_ways(tmp_path, suffix):
    by_row, by_batch = tmp_path / f"rows{suffix}", tmp_path / f"batches{suffix}"
    assert write_predictions([], by_row) == 0
    assert write_predictions(_Stream([]), by_batch) == 0
    assert by_batch.read_bytes() == by_row.read_bytes()
    empty = b"[]\n" if suffix == ".json" else b"input,class,probability\r\n"
    assert by_batch.read_bytes() == empty


def test_printed_lines_are_the_same_a_batch_at_a_time():
    batches = _batches(["a,b", "c%d", "e"], labelled=False, nan=True)
    rows = list(_Stream(batches))
    printed = "".join(prediction_lines(_Stream(batches)))
    assert printed == "".join(prediction_lines(rows))
    assert printed.count("\n") == 13 + sum(r["input"].count("\n") for r in rows)
    assert printed.startswith(f"plain#0\t{rows[0]['class']}\t")
