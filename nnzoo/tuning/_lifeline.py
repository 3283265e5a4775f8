"""A worker process's first step: tie its life to its parent's, then run the worker.

``python -m nnzoo.tuning._lifeline`` is the command of each ``--workers`` process. Only the
standard library here: the tie is made before TensorFlow loads (which takes seconds), so no
moment is left in which a killed ``nnzoo tune`` leaves its workers running. The worker itself,
``nnzoo.tuning._workers``, is then run as a program (``runpy``), as ``python -m`` would.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PARENT_ENV = "NNZOO_TUNE_PARENT"  # the parent's pid, set by the parent in the worker's env
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel SIGTERM this process when its parent ends, even by SIGKILL (Linux).

    Elsewhere (no ``prctl``) the parent's own SIGTERM when it stops is all there is.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    parent = os.environ.get(PARENT_ENV)
    if parent is not None and os.getppid() != int(parent):
        sys.exit(130)  # the parent died before the tie was made


if __name__ == "__main__":
    die_with_parent()
    runpy.run_module("nnzoo.tuning._workers", run_name="__main__", alter_sys=True)
