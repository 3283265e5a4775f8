"""A run: the binding of config × catalog × data, and the directory that keeps what it made.

Modules, each named for its job: ``bind`` (a config's model and data bound together: the data
loaded, the model's parameters filled from what the data reports), ``directory`` (the layout
of ``runs/<name>/<run-id>/``, its status, lock, history and resume fingerprint), ``split``
(the split a run recorded, and the fingerprint of its data), ``saving``
(``.keras`` files written and read in any process), ``losses`` (the loss and metrics of a
task, which training and evaluation compile alike), ``listing`` (the runs under a folder,
each summarised from its JSON and YAML files: ``nnzoo runs``) and ``report`` (a run's
``report/``: per-class results, confusion matrix, ROC, regression plots, perplexity and a
self-contained ``report.html``, written alike by the trainer at the end of a run and by
``nnzoo evaluate --report``).

Training (:mod:`nnzoo.training`) writes a run and inference (:mod:`nnzoo.inference`) reads
it; both stand on this package, and it imports neither. The package imports nothing on
import (``nnzoo.run.losses`` imports Keras).
"""
