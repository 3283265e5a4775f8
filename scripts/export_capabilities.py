"""Which formats each catalog entry exports to, found by exporting it: the cards' table.

For every CI-sized entry (the catalog harness's set: up to ~15M parameters), the model is built
from its card's defaults with random weights and exported with Keras's ``model.export`` to each
format nnzoo exports (SavedModel, ONNX, LiteRT). Each artifact is loaded by its own runtime
(``tf.saved_model.load``, ``onnxruntime``, the ``ai_edge_litert`` interpreter, which has no Flex
delegate) and run on inputs of a batch size and sequence length other than the ones it was
exported with; the output is compared with Keras's within 1e-4. For LiteRT the script also reads
the operator codes in the ``.tflite`` flatbuffer: ``builtin`` means every operator is in
LiteRT's builtin set, ``flex`` names the TensorFlow ops (``Flex...``) that need the Flex
delegate.

Each cell prints the max absolute difference over the largest absolute output (``6.9e-05/1e+02``:
float32 rounding on logits of ~100). A LiteRT export that converts with builtin operators is
``builtin`` even where random weights give logits large enough to pass 1e-4 absolute (ResNet-18:
1.1e-04/1e+02); ``nnzoo export`` verifies each export on its own run's model.

Entries over ~15M parameters use the ops of a smaller entry of the same family (same builder,
larger sizes), so their row is that entry's; the script says which.

Usage: ``python scripts/export_capabilities.py [NAME ...] [--json PATH]``. The result is what
the family modules in ``nnzoo/models`` pass to ``register_model(export_formats=...)``; ``--check``
exits 1 when a card disagrees with what was measured.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIG = 15_000_000
TOLERANCE = 1e-4
FORMATS = ("saved_model", "onnx", "litert")


def sample_inputs(card, params, batch_size, length, seed=0):
    """Inputs of the card's kind: features / images in [0, 1], or tokens with the last example
    padded (so masks matter)."""
    rng = np.random.default_rng(seed)
    if card.input_kind in ("features", "image"):
        shape = tuple(params["input_shape"])
        name = "features" if card.input_kind == "features" else "images"
        return {name: rng.uniform(0.0, 1.0, size=(batch_size, *shape)).astype("float32")}
    token_ids = rng.integers(1, params["vocabulary_size"], size=(batch_size, length))
    padding_mask = np.ones((batch_size, length), dtype="int32")
    padding_mask[-1, -3:] = 0
    inputs = {
        "token_ids": np.where(padding_mask == 1, token_ids, 0).astype("int32"),
        "padding_mask": padding_mask,
    }
    if card.input_kind == "tokens_segments":
        inputs["segment_ids"] = np.zeros_like(inputs["token_ids"])
    return inputs


def keras_inputs(model, inputs):
    return inputs if len(model.inputs) > 1 else next(iter(inputs.values()))


def run_saved_model(path, model, inputs):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if len(model.inputs) > 1:  # one dict argument, keyed by input name
        out = loaded.serve({k: tf.constant(v) for k, v in inputs.items()})
    else:
        out = loaded.serve(tf.constant(next(iter(inputs.values()))))
    return np.asarray(out)


def captures_as_initializers(path, model, inputs):
    """Keras's ONNX export (tf2onnx) makes the constants a layer captures (a ``Normalization``
    layer's mean and variance) graph inputs; put them back as initializers, as
    ``nnzoo export`` must (see /tmp/briefs/NOTES.md)."""
    import onnx
    import tensorflow as tf
    from onnx import numpy_helper

    specs = {k: tf.TensorSpec((None,) * v.ndim, v.dtype, name=k) for k, v in inputs.items()}
    if len(model.inputs) > 1:
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(specs)
    else:
        spec = next(iter(specs.values()))
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), spec.dtype, name=spec.name)
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    captured = {
        ph.name.split("/", 1)[-1]: value
        for ph, value in zip(fn.graph.internal_captures, fn.captured_inputs)
        if value.dtype != tf.resource
    }
    proto = onnx.load(str(path))
    keep = []
    for graph_input in proto.graph.input:
        value = captured.get(graph_input.name.split("/", 1)[-1])
        if value is None:
            keep.append(graph_input)
        else:
            proto.graph.initializer.append(
                numpy_helper.from_array(value.numpy(), graph_input.name)
            )
    if len(keep) != len(proto.graph.input):
        del proto.graph.input[:]
        proto.graph.input.extend(keep)
        onnx.save(proto, str(path))


def run_onnx(path, inputs):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {}
    for spec in session.get_inputs():
        # tf2onnx names inputs after the Keras inputs (sometimes with a ':0' suffix).
        key = spec.name.split(":")[0]
        feed[spec.name] = inputs[key]
    return np.asarray(session.run(None, feed)[0])


def litert_ops(path):
    """The operator names of a ``.tflite`` file: builtin names, and custom ones (``Flex...``)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(Path(path).read_bytes(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = set()
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            ops.add(code.customCode.decode() if code.customCode else "CUSTOM")
        else:
            ops.add(names.get(builtin, str(builtin)))
    return sorted(ops)


def run_litert(path, inputs):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    details = interpreter.get_input_details()
    for d in details:
        key = _litert_input_name(d["name"], inputs)
        interpreter.resize_tensor_input(d["index"], inputs[key].shape)
    interpreter.allocate_tensors()
    for d in details:
        key = _litert_input_name(d["name"], inputs)
        interpreter.set_tensor(d["index"], inputs[key].astype(d["dtype"]))
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def _litert_input_name(name, inputs):
    # The converter names inputs 'serve_<name>:0' (or '<name>').
    for key in sorted(inputs, key=len, reverse=True):
        if re.search(rf"(^|_){key}(:\d+)?$", name):
            return key
    raise KeyError(f"input {name!r} matches none of {sorted(inputs)}")


def measure(name, workdir):
    """The row of one entry: per format 'ok' / 'builtin' / 'flex' / 'fails', with the detail."""
    from nnzoo.registry import get_card

    card = get_card(name)
    params = dict(card.defaults)
    model = card.builder(**params)
    # Exported at batch 2, length 12; checked at batch 3, length 7 (never seen when tracing).
    inputs = sample_inputs(card, params, batch_size=3, length=7, seed=1)
    expected = np.asarray(model(keras_inputs(model, inputs), training=False))
    row = {"name": name, "family": card.family, "num_params": card.num_params}
    for fmt in FORMATS:
        start = time.perf_counter()
        target = Path(workdir) / f"{name}.{fmt}"
        entry = {}
        try:
            if fmt == "saved_model":
                model.export(str(target), format="tf_saved_model", verbose=False)
                got = run_saved_model(target, model, inputs)
            elif fmt == "onnx":
                target = target.with_suffix(".onnx")
                model.export(str(target), format="onnx", verbose=False)
                captures_as_initializers(target, model, inputs)
                got = run_onnx(target, inputs)
            else:
                target = target.with_suffix(".tflite")
                model.export(str(target), format="litert", verbose=False)
                ops = litert_ops(target)
                flex = [op for op in ops if op.startswith("Flex")]
                entry["ops"] = "builtin" if not flex else "flex"
                if flex:
                    entry["flex_ops"] = flex
                got = run_litert(target, inputs)
            diff = float(np.max(np.abs(got.astype("float64") - expected)))
            entry["max_abs_diff"] = diff
            entry["max_abs_output"] = float(np.max(np.abs(expected)))
            entry["status"] = "ok" if diff <= TOLERANCE else "differs"
        except Exception as err:  # noqa: BLE001 - a row of the table, not a crash
            entry["status"] = "fails"
            entry["error"] = " ".join(f"{type(err).__name__}: {err}".split())[:300]
        entry["seconds"] = round(time.perf_counter() - start, 1)
        row[fmt] = entry
    return row


def cell(entry):
    if entry["status"] == "ok":
        text = entry.get("ops", "ok")
    else:
        text = entry["status"] + (f" ({entry['ops']})" if "ops" in entry else "")
    if "max_abs_diff" in entry:
        text += f" {entry['max_abs_diff']:.1e}/{entry['max_abs_output']:.0e}"
    return text


def card_value(row):
    """What the card says for this row (``nnzoo.cards.EXPORT_SUPPORT`` values)."""
    out = {}
    for fmt in FORMATS:
        entry = row[fmt]
        if "ops" in entry:  # LiteRT converted: builtin or flex (a difference is printed)
            out[fmt] = entry["ops"]
        else:
            out[fmt] = "no" if entry["status"] == "fails" else "yes"
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="entries (default: every CI-sized one)")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a card disagrees")
    args = parser.parse_args(argv)

    import nnzoo
    from nnzoo.registry import get_card

    everything = nnzoo.list_models()
    names = args.names or [n for n in everything if get_card(n).num_params <= BIG]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            start = time.perf_counter()
            row = measure(name, workdir)
            row["seconds"] = round(time.perf_counter() - start, 1)
            rows.append(row)
            print(
                f"{name:16s} "
                + "  ".join(f"{fmt}: {cell(row[fmt]):20s}" for fmt in FORMATS)
                + f"  ({row['seconds']} s)",
                flush=True,
            )
            for fmt in FORMATS:
                if row[fmt]["status"] == "fails" or "flex_ops" in row[fmt]:
                    detail = row[fmt].get("flex_ops") or row[fmt].get("error")
                    print(f"    {fmt}: {detail}", flush=True)
    measured = {row["name"]: card_value(row) for row in rows}
    if not args.names:
        # Larger entries: the row of the family's CI-sized entry (same builder, same ops).
        for name in everything:
            if name in measured:
                continue
            family = get_card(name).family
            small = next(n for n in names if get_card(n).family == family)
            measured[name] = dict(measured[small])
            print(f"{name:16s} as {small} (same family, over 15M parameters)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "cards": measured}, indent=2))
    if args.check:
        wrong = {
            name: (dict(get_card(name).export_formats), value)
            for name, value in measured.items()
            if dict(get_card(name).export_formats) != value
        }
        for name, (card, value) in wrong.items():
            print(f"card {name}: {card} but measured {value}")
        return 1 if wrong else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
