"""What the sources prepare the same way, in one place (NumPy only; no source registers here).

- :data:`IGNORE_INDEX`: the label of a position that is no target (padding, unmasked MLM
  positions); the sequence losses and the token metrics skip it.
"""

from __future__ import annotations

__all__ = ["IGNORE_INDEX"]

#: Labels equal to this are no target: the losses ignore them, the metrics do not count them.
IGNORE_INDEX = -1
