"""``python -m nnzoo.cli``: the ``nnzoo`` command, for scripts and tests that run it by path."""

from nnzoo.cli import main

if __name__ == "__main__":
    main()
