"""The ``nnzoo`` command line (its commands are in :mod:`nnzoo.cli.runs` for now)."""

from nnzoo.cli.runs import cli, main

__all__ = ["cli", "main"]
