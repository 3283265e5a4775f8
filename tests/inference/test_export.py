"""``nnzoo export`` writes an artifact that computes what ``model.keras`` computes.

- Each format is loaded by its own runtime in a separate process that imports neither nnzoo
  nor Keras, at batch sizes (and, for text, sequence lengths) the run never trained on, and
  its outputs are within 1e-4 of the Keras model's (issue 14, items 1-3).
- One changed weight inside an exported file is caught: exit code 1, the difference in
  ``export_report.json``, the artifact kept (item 2).
- The folder holds data_spec.json (inputs by name), the tokenizer of a text run, model.md and
  the report (item 4); an existing folder and a format the card cannot take are refused in one
  line before any work (items 3 and 5).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnzoo
from nnzoo.cli import cli
from nnzoo.inference import export as export_mod
from nnzoo.run.bind import load_config

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")

ROOT = Path(__file__).resolve().parents[2]
TINY_TRANSFORMER = [
    "model.params.num_layers=2",
    "model.params.hidden_dim=32",
    "model.params.num_heads=2",
    "model.params.intermediate_dim=64",
]


def _train(tmp, config, overrides):
    return nnzoo.train(load_config(ROOT / "configs" / config, overrides), runs_dir=tmp, quiet=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An MLP on digits and a CNN on generated shapes, trained briefly."""
    tmp = tmp_path_factory.mktemp("export_runs")
    mlp = _train(tmp, "quickstart.yaml", ["train.epochs=2", "model.params.hidden_units=[16]"])
    cnn = _train(
        tmp,
        "cnn_cifar.yaml",
        [
            "data.source=shapes",
            "train.epochs=1",
            "data.params.num_examples=200",
            "data.augment={}",
        ],
    )
    return {"mlp": mlp, "cnn": cnn}


def _export(run_dir, fmt, *args):
    return CliRunner().invoke(cli, ["export", str(run_dir), "--format", fmt, *args])


def _report(folder):
    return json.loads((Path(folder) / "export_report.json").read_text())


def _check_verified(report, fmt, runtime):
    assert report["format"] == fmt and report["verified"] is True
    assert report["passed"] is True, report
    assert 0.0 <= report["max_abs_diff"] <= 1e-4
    assert report["top1_agreement"] == 1.0
    assert report["runtime"]["name"] == runtime
    assert report["runner"] == {
        "separate_process": True,
        "nnzoo_imported": False,
        "keras_imported": False,
    }
    # batch sizes the run never trained on (it used 32 / 64)
    assert set(report["batch_sizes"]) <= {3, 5, 7, 11, 1, 2, 4, 6, 8, 9, 10}
    assert report["latency_ms_per_example"]["keras"] > 0
    assert report["latency_ms_per_example"]["export"] > 0


@pytest.mark.parametrize(
    ("name", "fmt", "artifact", "runtime"),
    [
        ("mlp", "saved_model", "saved_model", "tensorflow"),
        ("mlp", "onnx", "model.onnx", "onnxruntime"),
        ("mlp", "litert", "model.tflite", "ai-edge-litert"),
        ("cnn", "saved_model", "saved_model", "tensorflow"),
        ("cnn", "onnx", "model.onnx", "onnxruntime"),
        ("cnn", "litert", "model.tflite", "ai-edge-litert"),
    ],
)
def test_export_verifies_in_its_runtime(runs, name, fmt, artifact, runtime):
    run = runs[name]
    out = _export(run.run_dir, fmt)
    assert out.exit_code == 0, out.output
    folder = run.run_dir / "export" / fmt
    assert out.output.splitlines()[0].startswith(f"exported to {folder} (")
    report = _report(folder)
    _check_verified(report, fmt, runtime)
    assert report["inputs_from"] == "test split"
    assert report["artifact"] == artifact and (folder / artifact).exists()
    assert report["size_bytes"] > 1000
    spec = json.loads((folder / "data_spec.json").read_text())
    input_name = {"mlp": "features", "cnn": "images"}[name]
    shape = {"mlp": [None, 64], "cnn": [None, 32, 32, 3]}[name]
    assert spec["export"]["inputs"] == [{"name": input_name, "dtype": "float32", "shape": shape}]
    assert spec["export"]["output"] == {"shape": [None, run.model.outputs[0].shape[-1]]}
    assert spec["export"]["class_names"] == spec["class_names"]
    first = {"mlp": "0", "cnn": "red_circle"}[name]
    assert len(spec["class_names"]) == 10 and spec["class_names"][0] == first
    card = (folder / "model.md").read_text()
    assert f"format `{fmt}`" in card and "verification passed" in card
    assert f"parameters: {run.model.count_params():,}" in card
    # No partial folder left beside it.
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_a_cnn_on_streamed_images_is_verified_on_a_few_test_files(
    tmp_path, make_image_folder, monkeypatch
):
    """The verifier takes its examples from the test split as it streams: it decodes the
    first MAX_EXAMPLES test files, not the split (here 72) and not the training files."""
    from nnzoo.data import _prepare
    from nnzoo.inference.verify import MAX_EXAMPLES

    folder = make_image_folder({"ants": 120, "bees": 120, "cats": 120}, size=(12, 12))
    config = [
        "data.source=image_folder",
        f"data.params.path={folder}",
        "data.params.image_size=12",
        "data.augment={}",
        "train.epochs=1",
        "model.params.filters=[8]",
        "model.params.convs_per_block=[1]",
        "model.params.dense_units=16",
    ]
    run = _train(tmp_path, "cnn_cifar.yaml", config)
    read = []
    real = _prepare.decode_image
    monkeypatch.setattr(
        _prepare, "decode_image", lambda f, *a, **k: read.append(f) or real(f, *a, **k)
    )
    out = _export(run.run_dir, "onnx")
    assert out.exit_code == 0, out.output
    report = _report(run.run_dir / "export" / "onnx")
    assert report["passed"] is True and report["inputs_from"] == "test split"
    assert report["examples"] == MAX_EXAMPLES == len(read) == 64


def test_runner_outputs_equal_keras_at_an_unseen_batch_size(runs):
    """The runner's ``run`` (what ``predict`` uses) at batch size 13 gives the Keras logits."""
    from nnzoo.inference import _runner as _export_runner

    run = runs["cnn"]
    folder = run.run_dir / "export" / "onnx"
    if not folder.exists():
        assert _export(run.run_dir, "onnx").exit_code == 0
    images = np.random.default_rng(1).uniform(0, 1, size=(13, 32, 32, 3)).astype("float32")
    got = _export_runner.run(folder, {"images": images})
    np.testing.assert_allclose(got, run.model.predict(images, verbose=0), atol=1e-4)


def test_a_changed_weight_is_caught(runs, tmp_path, monkeypatch):
    """One weight of the ONNX file moved by 0.5: exit 1, the difference in the report,
    the artifact kept."""
    import onnx
    from onnx import numpy_helper

    write = export_mod._write_artifact

    def write_then_tamper(model, fmt, artifact):
        write(model, fmt, artifact)
        proto = onnx.load(str(artifact))
        # the output layer's bias: moving one of its values moves that logit by as much
        init = next(t for t in proto.graph.initializer if "logits" in t.name and "Bias" in t.name)
        values = numpy_helper.to_array(init).copy()
        values.flat[0] += 0.5
        init.CopyFrom(numpy_helper.from_array(values, init.name))
        onnx.save(proto, str(artifact))

    monkeypatch.setattr(export_mod, "_write_artifact", write_then_tamper)
    folder = tmp_path / "tampered"
    out = _export(runs["mlp"].run_dir, "onnx", "--output", str(folder))
    assert out.exit_code == 1, out.output
    report = _report(folder)
    assert report["passed"] is False
    assert report["max_abs_diff"] == pytest.approx(0.5, abs=1e-5)
    assert (folder / "model.onnx").exists()
    last = out.output.strip().splitlines()[-1]
    assert last == (
        f"nnzoo: error: the export differs from model.keras by up to "
        f"{report['max_abs_diff']:.3g} (tolerance 0.0001); the artifact is kept at "
        f"{folder}/model.onnx, marked failing in export_report.json"
    )
    assert "verification FAILED" in (folder / "model.md").read_text()


def test_no_verify_says_so(runs, tmp_path):
    folder = tmp_path / "unverified"
    out = _export(runs["mlp"].run_dir, "onnx", "--output", str(folder), "--no-verify")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[-1] == "not verified (--no-verify)"
    report = _report(folder)
    assert report["verified"] is False and "max_abs_diff" not in report


def test_an_existing_folder_is_refused_unless_force(runs, tmp_path):
    folder = tmp_path / "exists"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    out = _export(runs["mlp"].run_dir, "onnx", "--output", str(folder))
    assert out.exit_code == 2
    assert out.output.strip() == (
        f"nnzoo: error: --output: {folder} exists. Fix: export elsewhere with --output PATH, "
        "or replace it with --force"
    )
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    out = _export(runs["mlp"].run_dir, "onnx", "--output", str(folder), "--force", "--no-verify")
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in folder.iterdir()) == [
        "data_spec.json",
        "export_report.json",
        "model.md",
        "model.onnx",
    ]


def test_a_format_the_card_cannot_take_is_refused_before_any_work(runs, tmp_path):
    """An LSTM run (its card: LiteRT only with Flex ops): refused from config.yaml alone; its
    model.keras (here an empty file) is never read."""
    from nnzoo.cards import export_refusal
    from nnzoo.registry import get_card

    why = export_refusal(get_card("lstm"), "litert")
    if why is None:
        pytest.skip("the lstm card takes LiteRT in this checkout")
    run_dir = tmp_path / "lstm_run"
    run_dir.mkdir()
    shutil.copy(ROOT / "configs" / "lstm.yaml", run_dir / "config.yaml")
    shutil.copy(runs["mlp"].run_dir / "status.json", run_dir / "status.json")
    (run_dir / "model.keras").write_bytes(b"")
    out = _export(run_dir, "litert")
    assert out.exit_code == 2
    assert out.output.strip() == f"nnzoo: error: {why}"
    assert not (run_dir / "export").exists()


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory):
    """A tiny GPT on Python source and a tiny BERT classifier, one epoch each."""
    tmp = tmp_path_factory.mktemp("export_text_runs")
    gpt = _train(
        tmp,
        "gpt_nano.yaml",
        ["train.epochs=1", "data.params.max_chars=20000", "data.params.sequence_length=32"]
        + TINY_TRANSFORMER,
    )
    bert = _train(
        tmp,
        "bert_tiny.yaml",
        ["train.epochs=1", "data.params.vocabulary_size=200", "data.params.sequence_length=32"]
        + TINY_TRANSFORMER,
    )
    return {"gpt": gpt, "bert": bert}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fmt"),
    [("bert", "saved_model"), ("bert", "onnx"), ("gpt", "saved_model"), ("gpt", "litert")],
)
def test_text_models_export_with_free_sequence_length(text_runs, name, fmt):
    run = text_runs[name]
    out = _export(run.run_dir, fmt)
    assert out.exit_code == 0, out.output
    folder = run.run_dir / "export" / fmt
    report = _report(folder)
    assert report["passed"] is True, report
    assert report["max_abs_diff"] <= 1e-4
    assert report["sequence_lengths"] == [17, 31]  # trained at 32
    names = {"bert": ["padding_mask", "segment_ids", "token_ids"]}.get(
        name, ["padding_mask", "token_ids"]
    )
    spec = json.loads((folder / "data_spec.json").read_text())
    assert [i["name"] for i in spec["export"]["inputs"]] == names
    assert all(i["shape"] == [None, None] for i in spec["export"]["inputs"])
    assert (folder / "tokenizer.json").read_text() == (run.run_dir / "tokenizer.json").read_text()
    if name == "bert":
        assert report["top1_agreement"] == 1.0
