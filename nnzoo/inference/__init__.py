"""Inference: what a finished run (or its export) is used for, without training anything.

Modules, each named for its job: ``load`` (a run directory or an export folder, loaded),
``evaluate`` (test metrics; per class and a report through :mod:`nnzoo.run.report`),
``predict`` with its ``readers`` (raw inputs, a batch at a time) and ``writers`` (``.csv`` /
``.json`` output), ``generate`` (text from a language-model run)
over ``sampling`` (the sampling loop), ``export`` with its ``verify`` (the artifact run by its
own runtime, ``_runner``), ``model_card`` (``model.md``) and ``compare`` (runs side by side:
overlaid curves, metric table, config differences; it reads files only, never a model).

Nothing here imports :mod:`nnzoo.training` or :mod:`nnzoo.tuning`: evaluating, predicting
and exporting a run load neither the trainer nor Optuna. The package imports nothing on
import; ``from nnzoo.inference.predict import predict``.
"""
