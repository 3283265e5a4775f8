"""``model.md``: what an exported model is, how it was trained and how its export compared."""

from __future__ import annotations

import json
from typing import Any

from nnzoo.inference.verify import examples_phrase

__all__ = ["model_card"]


def model_card(run: Any, export: dict[str, Any], report: dict[str, Any]) -> str:
    from nnzoo.registry import get_card

    config = run.config
    card = get_card(config.model.name)
    metrics_file = run.run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
    lines = [
        f"# {config.name}: {card.name}",
        "",
        f"{card.summary}",
        "",
        "## Architecture",
        "",
        f"- model: `{card.name}` (family `{card.family}`, task `{run.spec.task}`)",
        f"- paper: {card.paper}",
        f"- parameters: {run.model.count_params():,}",
        f"- parameters set in the run: `{json.dumps(config.model.params, default=str)}`",
        "",
        "## Inputs and outputs",
        "",
    ]
    for i in export["inputs"]:
        lines.append(f"- `{i['name']}`: {i['dtype']}, shape {_shape(i['shape'])}")
    target = run.spec.target if run.spec.task == "regression" else None
    if run.spec.task == "regression":
        lines.append(
            f"- output (the prediction, in the target's units): shape "
            f"{_shape(export['output']['shape'])}"
        )
    else:
        lines.append(f"- output (logits): shape {_shape(export['output']['shape'])}")
    if target:
        lines.append(
            f"- target: mean {_num(target['mean'])}, std {_num(target['std'])}, range "
            f"{_num(target['min'])} .. {_num(target['max'])} (the model's own scale: the "
            "training split's mean and std)"
        )
    if run.spec.input_kind == "image":
        lines.append(
            "- images are float in [0, 1]; resizing and normalisation are inside the model"
        )
    elif report.get("inputs"):
        lines.append(f"- {report['inputs']}")
    elif run.spec.input_kind == "features":
        lines.append("- raw features: any scaling is inside the model")
    else:
        lines.append(
            f"- token ids from `tokenizer.json`; sequence length free up to "
            f"{run.spec.sequence_length}; `padding_mask` is 1 for real tokens"
        )
    if export.get("class_names"):
        lines.append(f"- classes, in output order: {', '.join(map(str, export['class_names']))}")
    lines += [
        "",
        "## Data",
        "",
        f"- source: `{config.data.source}`, parameters "
        f"`{json.dumps(config.data.params, default=str)}`",
        f"- validation split {config.data.validation_split}, test split {config.data.test_split}",
        "",
        "## Training",
        "",
    ]
    if metrics:
        best = metrics.get("best", {})
        lines.append(
            f"- {metrics.get('epochs')} epochs in {metrics.get('wall_seconds')} s on "
            f"{metrics.get('backend')}; best epoch {best.get('epoch')} "
            f"({', '.join(f'{k} {_num(v)}' for k, v in best.items() if k != 'epoch')})"
        )
        test = metrics.get("test", {})
        if test:
            lines.append(f"- test: {', '.join(f'{k} {_num(v)}' for k, v in test.items())}")
    else:
        lines.append("- metrics.json is missing from the run")
    init = metrics.get("init_from")
    if isinstance(init, dict) and "preset" in init:
        lines += [
            "",
            "## Licence and attribution",
            "",
            f"Started from the published preset `{init['preset']}` (KerasHub "
            f"`{init.get('backbone')}`), licence {init.get('licence')}. Its weights' licence "
            "and attribution apply to this model.",
        ]
    lines += ["", "## Export", ""]
    lines.append(
        f"- format `{report['format']}`: `{report['artifact']}`, {report['size_bytes']:,} bytes"
    )
    if not report.get("verified"):
        lines.append("- not verified (`--no-verify`)")
    elif report.get("max_abs_diff") is None:
        lines.append(f"- verification FAILED: {report.get('error')}")
    else:
        verdict = "passed" if report["passed"] else "FAILED"
        lines.append(
            f"- verification {verdict}: max |difference| {report['max_abs_diff']:.3g} "
            f"(tolerance {report['tolerance']:g}) on {examples_phrase(report)}, "
            f"batch sizes {sorted(set(report['batch_sizes']))}"
            + (
                f", sequence lengths {report['sequence_lengths']}"
                if report["sequence_lengths"]
                else ""
            )
        )
        if "top1_agreement" in report:
            lines.append(f"- top-1 agreement with the Keras model: {report['top1_agreement']:.4f}")
        lat = report["latency_ms_per_example"]
        lines.append(
            f"- latency per example: Keras {lat['keras']:.3f} ms, {report['runtime']['name']} "
            f"{report['runtime']['version']} {lat['export']:.3f} ms"
        )
    lines += ["", "## Versions", ""]
    lines += [f"- {k} {v}" for k, v in report["versions"].items()]
    return "\n".join(lines) + "\n"


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(shape)) + ")"


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
