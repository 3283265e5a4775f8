"""What the sources prepare the same way, in one place (NumPy only; no source registers here).

- :data:`IGNORE_INDEX`: the label of a position that is no target (padding, unmasked MLM
  positions); the sequence losses and the token metrics skip it.
- :data:`IMAGE_EXTENSIONS`: the image files read from a folder (``image_folder``, ``predict``).
- :func:`standardize_features`: feature scaling of the tabular sources.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IGNORE_INDEX", "IMAGE_EXTENSIONS", "standardize_features"]

#: Labels equal to this are no target: the losses ignore them, the metrics do not count them.
IGNORE_INDEX = -1

#: The image files ``keras.utils.image_dataset_from_directory`` reads (lower-case suffixes).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def standardize_features(x: np.ndarray) -> np.ndarray:
    """Each feature (column) of ``x`` shifted to mean 0 and scaled to standard deviation 1,
    with the statistics of these rows (a constant column becomes 0); float32."""
    return ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype("float32")
