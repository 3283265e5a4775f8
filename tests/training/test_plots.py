"""``curves.png``: the run's name and test score in the title, perplexity for a language model,
no panel for a constant learning rate, integer epoch axes for short runs."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import pytest

from nnzoo.training.plots import history_figure, write_curves


def _rows(epochs, lr=lambda e: 1e-3):
    return [
        {
            "epoch": e,
            "loss": 2.0 / e,
            "accuracy": 0.5 + 0.1 * e,
            "val_loss": 2.2 / e,
            "val_accuracy": 0.45 + 0.1 * e,
            "learning_rate": lr(e),
        }
        for e in range(1, epochs + 1)
    ]


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_one_epoch_is_a_marked_point_on_an_integer_axis():
    fig = history_figure(_rows(1), best=1, monitor="val_loss")
    try:
        for ax in fig.axes:
            # Not matplotlib's 0.945..1.05: half an epoch either side, one tick at 1.
            assert ax.get_xlim() == (0.5, 1.5)
            assert list(ax.get_xticks()) == [1]
            assert ax.lines[0].get_marker() == "o"
    finally:
        plt.close(fig)


def test_a_few_epochs_get_every_epoch_ticked():
    fig = history_figure(_rows(3))
    try:
        assert list(fig.axes[0].get_xticks()) == [1, 2, 3]
        assert fig.axes[0].get_xlim() == (0.5, 3.5)
    finally:
        plt.close(fig)


def test_a_constant_learning_rate_has_no_panel_but_a_word_in_the_title():
    fig = history_figure(_rows(4), title="digits / 20260101-000000")
    try:
        assert _titles(fig) == ["loss", "accuracy"]
        assert "learning rate 0.001 (constant)" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_a_changing_learning_rate_keeps_its_panel():
    fig = history_figure(_rows(4, lr=lambda e: 1e-3 / e))
    try:
        assert _titles(fig) == ["loss", "accuracy", "learning rate"]
        ys = list(fig.axes[2].lines[0].get_ydata())
        assert ys == pytest.approx([1e-3, 5e-4, 1e-3 / 3, 2.5e-4])
        assert "constant" not in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_title_names_the_run_and_its_test_score():
    fig = history_figure(_rows(2), title="digits / run-1", test={"accuracy": 0.9639, "loss": 0.1})
    try:
        assert fig._suptitle.get_text().startswith("digits / run-1 · test accuracy 0.9639")
    finally:
        plt.close(fig)


def test_a_language_model_gets_perplexity_panels_equal_to_exp_loss():
    rows = [
        {"epoch": e, "loss": 4.0 - e, "val_loss": 4.5 - e, "learning_rate": 1e-3} for e in (1, 2)
    ]
    test = {"accuracy": 0.3, "loss": 2.4, "perplexity": math.exp(2.4)}
    fig = history_figure(rows, test=test, perplexity=True)
    try:
        assert _titles(fig) == ["loss", "perplexity (exp of loss)"]
        train, val = fig.axes[1].lines[:2]
        assert list(train.get_ydata()) == pytest.approx([math.exp(3.0), math.exp(2.0)])
        assert list(val.get_ydata()) == pytest.approx([math.exp(3.5), math.exp(2.5)])
        assert f"test perplexity {math.exp(2.4):.4g}" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_write_curves_titles_the_png_from_the_run_directory(tmp_path):
    run_dir = tmp_path / "digits" / "20260101-000000"
    run_dir.mkdir(parents=True)
    metrics = {
        "best": {"epoch": 1},
        "monitor": {"metric": "val_loss"},
        "test": {"accuracy": 0.5, "loss": 1.0},
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    path = write_curves(run_dir, _rows(1), metrics)
    assert path == run_dir / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in run_dir.iterdir()) == ["curves.png", "metrics.json"]
