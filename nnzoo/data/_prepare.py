"""What the sources and ``nnzoo predict`` prepare the same way, in one place.

- :data:`IGNORE_INDEX`: the label of a position that is no target (padding, unmasked MLM
  positions); the sequence losses and the token metrics skip it.
- :data:`IMAGE_EXTENSIONS`: the image files read from a folder (``image_folder``, ``predict``).
- :func:`check_finite`: NaN and infinity are refused where data is read, naming the cell.
- :func:`decode_image`: the one image decoder (PIL, bilinear with antialiasing, through
  ``keras.utils.load_img``) of training on every backend, evaluation and ``predict``;
  :func:`image_array` and :func:`read_images`: images as the image models take them (float32
  in [0, 1]).
- :func:`adapt_preprocessing`: the statistics of the model's own ``Normalization`` layer, from
  the training split only, in one streaming pass. Feature scaling lives inside the model, so
  ``model.keras``, ``predict`` and every export take the raw features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnzoo.cards import FEATURE_NORMALIZATION, TABLE_ENCODER, TARGET_SCALE
from nnzoo.data._sources import num_examples, read_rows, target_statistics
from nnzoo.errors import ConfigError

__all__ = [
    "FEATURE_NORMALIZATION",
    "IGNORE_INDEX",
    "IMAGE_EXTENSIONS",
    "STANDARDIZE",
    "TARGET_SCALE",
    "adapt_preprocessing",
    "adapt_target",
    "check_finite",
    "decode_image",
    "feature_moments",
    "image_array",
    "read_images",
    "target_statistics",
]

log = logging.getLogger(__name__)

#: Labels equal to this are no target: the losses ignore them, the metrics do not count them.
IGNORE_INDEX = -1

#: The image files ``keras.utils.image_dataset_from_directory`` reads (lower-case suffixes).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

#: ``DataSpec.feature_scaling`` of a source whose features the model standardises with the
#: mean and variance of the training split. The other value is ``[low, high]``: a range the
#: features are known to span (digits: 0..16), mapped to [0, 1] by fixed statistics.
STANDARDIZE = "standardize"


def check_finite(
    x: np.ndarray,
    where: str,
    *,
    key: str | None = "data.params.path",
    rows: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
    column_word: str = "column",
    row_word: str = "line",
) -> None:
    """Refuse NaN or infinity in ``x`` (as scikit-learn's ``check_array``), naming the cell.

    ``where`` names the file (and array). The first bad cell is given as ``line rows[i]``
    where ``rows`` holds the file's line numbers (CSV; ``row_word`` names them otherwise), else
    ``row i`` (0-based, as NumPy indexes), and its column as ``<column_word> columns[j]``
    (shown as given), else ``j``.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc" or x.size == 0:
        return
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    cell = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), x.shape))
    position = f"{row_word} {rows[cell[0]]}" if rows is not None else f"row {cell[0]}"
    if x.ndim == 2:
        position += f": {column_word} {columns[cell[1]] if columns else cell[1]}"
    elif x.ndim > 2:
        position += f": element {cell[1:]}"
    raise ConfigError(
        f"{where} {position} is {x[cell]}, not a finite number",
        key=key,
        fix="fill in or drop the missing values (nnzoo does not impute)",
    )


def image_array(x: np.ndarray) -> np.ndarray:
    """Images as the image models take them: float32 in [0, 1] (8-bit images divided by 255,
    float images taken as they are), with a channel axis: ``(N, H, W)`` becomes
    ``(N, H, W, 1)``."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    return (x / 255.0 if x.dtype == np.uint8 else x).astype("float32")


def decode_image(
    file: Path | str,
    size: tuple[int, int],
    color_mode: str,
    *,
    key: str | None = "data.params.path",
) -> np.ndarray:
    """One image file as uint8 ``(*size, channels)``: decoded and resized by PIL with bilinear
    interpolation (antialiased when it shrinks), through ``keras.utils.load_img``.

    The one decoder of training (the ``tf.data`` and ``PyDataset`` pipelines call it), of
    evaluation and of ``predict``, so a run's model sees the same pixels in each; 16-bit
    grayscale images are scaled to 8 bits (they read as 0..257 before). (TensorFlow's
    own ``decode_jpeg`` + ``tf.image.resize(antialias=True)`` differ from it by up to 1/255 on
    a fifth of the pixels, and by 4/255 with its default JPEG DCT.) An unreadable image is a
    :class:`ConfigError` naming it.
    """
    import keras
    from PIL import Image

    try:
        if color_mode != "grayscale" and _is_wide_gray(file):
            pixels = _wide_gray_as_color(file, size, color_mode)
        else:
            image = keras.utils.load_img(
                file, color_mode=color_mode, target_size=size, interpolation="bilinear"
            )
            pixels = np.asarray(image)
    except Image.DecompressionBombError:
        raise ConfigError(
            f"{file}: an image of more than {2 * Image.MAX_IMAGE_PIXELS} pixels, over Pillow's "
            "decompression-bomb limit",
            key=key,
            fix="shrink the image, or remove it",
        ) from None
    except (OSError, ValueError, SyntaxError):  # PIL: corrupt, truncated, not an image
        raise ConfigError(
            f"{file}: not a readable image (corrupt, truncated or not an image)",
            key=key,
            fix="remove or replace the file",
        ) from None
    if pixels.dtype != np.uint8:  # 16-bit grayscale (PIL's I;16 or I): 65535 -> 255
        pixels = np.rint(np.clip(pixels, 0, 65535) / 257.0).astype(np.uint8)
    return pixels[..., None] if pixels.ndim == 2 else pixels  # (H, W, C)


#: PIL's modes of 16- and 32-bit grayscale images (a 16-bit PNG reads as ``I;16``).
_WIDE_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _is_wide_gray(file: Path | str) -> bool:
    from PIL import Image

    if Path(file).suffix.lower() not in (".png", ".tif", ".tiff"):  # JPEG, GIF, BMP: 8-bit
        return False
    with Image.open(file) as image:  # reads the header only
        return image.mode in _WIDE_GRAY_MODES


def _wide_gray_as_color(file: Path | str, size: tuple[int, int], color_mode: str) -> np.ndarray:
    """A 16-bit grayscale image as 8-bit RGB(A): scaled by its own bit depth first.

    PIL's ``convert("RGB")`` clips such an image at 255 (nearly every pixel white), so
    ``load_img`` cannot be used; the resize is the same bilinear one it does.
    """
    from PIL import Image

    with Image.open(file) as image:
        wide = np.asarray(image)
    gray = np.rint(np.clip(wide, 0, 65535) / 257.0).astype(np.uint8)
    image = Image.fromarray(gray, mode="L").convert(color_mode.upper())
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(image)


def read_images(
    files: Sequence[Path],
    size: tuple[int, int],
    color_mode: str,
    *,
    key: str | None = "data.params.path",
) -> np.ndarray:
    """``files`` read by :func:`decode_image` as ``(N, *size, channels)`` float32 in [0, 1]."""
    channels = 1 if color_mode == "grayscale" else 3
    x = np.empty((len(files), *size, channels), dtype=np.uint8)
    for i, file in enumerate(files):
        x[i] = decode_image(file, size, color_mode, key=key)
    return image_array(x)


#: Rows of the training split :func:`feature_moments` reads at a time.
MOMENT_ROWS = 4096


def feature_moments(x: Any, *, rows: int = MOMENT_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """The float64 mean and (population) variance of each feature of ``x``, an array or a
    listing of examples, in one pass over ``rows`` examples at a time; a feature with one value
    throughout has variance 1 (centred, left unscaled, as scikit-learn's ``StandardScaler``).

    Each chunk's moments are merged into the running ones as Chan, Golub and LeVeque (1979)
    merge two samples' (Welford's update, a chunk at a time), so only one chunk is ever read,
    in float64: equal to ``x.mean(axis=0)`` and ``x.var(axis=0)`` within rounding.
    """
    total = num_examples(x)
    if total == 0:
        raise ValueError("`x` has no examples. Received: 0 rows")
    count = 0
    for start in range(0, total, rows):
        chunk = np.asarray(read_rows(x, np.arange(start, min(start + rows, total))), "float64")
        chunk = chunk.reshape(len(chunk), -1)  # (k, features)
        k, chunk_mean = len(chunk), chunk.mean(axis=0)
        chunk_m2 = ((chunk - chunk_mean) ** 2).sum(axis=0)
        if count == 0:
            mean, m2 = chunk_mean, chunk_m2
            low, high = chunk.min(axis=0), chunk.max(axis=0)
        else:
            delta = chunk_mean - mean
            merged = count + k
            mean = mean + delta * (k / merged)
            m2 = m2 + chunk_m2 + delta**2 * (count * k / merged)
            low, high = np.minimum(low, chunk.min(axis=0)), np.maximum(high, chunk.max(axis=0))
        count += k
    # Rounding leaves ~1e-34 where a constant's spread is 0: the values, not m2, say constant.
    return mean, np.where(high > low, m2 / count, 1.0)


def present_moments(x: Any, columns: Sequence[int], *, rows: int = MOMENT_ROWS):
    """The float64 mean and (population) variance of ``columns`` of ``x`` over their present
    (not NaN) cells, in one pass of ``rows`` at a time (chunks merged as in
    :func:`feature_moments`); a column with one value throughout, or none, has variance 1 (and
    mean 0 when it has none)."""
    columns = list(columns)
    total = num_examples(x)
    count = np.zeros(len(columns))
    mean = np.zeros(len(columns))
    m2 = np.zeros(len(columns))
    low = np.full(len(columns), np.inf)
    high = np.full(len(columns), -np.inf)
    for start in range(0, total, rows):
        chunk = np.asarray(read_rows(x, np.arange(start, min(start + rows, total))), "float64")
        chunk = chunk.reshape(len(chunk), -1)[:, columns]
        present = ~np.isnan(chunk)
        k = present.sum(axis=0)
        safe = np.where(present, chunk, 0.0)
        chunk_mean = np.divide(safe.sum(axis=0), k, out=np.zeros(len(columns)), where=k > 0)
        chunk_m2 = (np.where(present, chunk - chunk_mean, 0.0) ** 2).sum(axis=0)
        merged = count + k
        delta = chunk_mean - mean
        share = np.divide(k, merged, out=np.zeros(len(columns)), where=merged > 0)
        mean = mean + delta * share
        m2 = m2 + chunk_m2 + delta**2 * count * share
        count = merged
        low = np.minimum(low, np.where(present, chunk, np.inf).min(axis=0, initial=np.inf))
        high = np.maximum(high, np.where(present, chunk, -np.inf).max(axis=0, initial=-np.inf))
    variance = np.where(high > low, np.divide(m2, np.maximum(count, 1)), 1.0)
    return mean, variance


def adapt_preprocessing(model: Any, splits: Any) -> None:
    """Set the statistics of ``model``'s feature normalisation (a ``keras.layers.Normalization``
    named :data:`FEATURE_NORMALIZATION`) from the training split.

    Call it once on a freshly built model, before ``fit`` (not on a restored one: its
    statistics are saved with it). ``splits`` are the run's :class:`~nnzoo.data.Splits`; their
    spec's ``feature_scaling`` says how: ``"standardize"`` takes the mean and variance of the
    training examples in one streaming pass (:func:`feature_moments`; a feature constant in
    training is centred and left unscaled, as scikit-learn's ``StandardScaler`` does);
    ``[low, high]`` maps that range to [0, 1] and reads no example. A model without the layer,
    or a spec without ``feature_scaling`` (image sources: the image models normalise with fixed
    statistics of their own), is left as it is. A regression model's target scale is set too
    (:func:`adapt_target`).
    """
    adapt_target(model, splits)
    feature_scaling = splits.spec.feature_scaling
    try:
        encoder = model.get_layer(TABLE_ENCODER)
    except ValueError:
        encoder = None
    if encoder is not None:  # a table with categories or missing cells
        mean, variance = present_moments(splits.train[0], encoder.numeric)
        if feature_scaling is None:  # standardize: false: centred (missing = mean), not scaled
            variance = np.ones_like(variance)
        encoder.set_statistics(mean, variance)
        log.info("data: table statistics of %s set on the training split", encoder.name)
        return
    if feature_scaling is None:
        return
    try:
        layer = model.get_layer(FEATURE_NORMALIZATION)
    except ValueError:
        return
    if feature_scaling == STANDARDIZE:
        mean, variance = feature_moments(splits.train[0])
    else:
        low, high = (float(v) for v in feature_scaling)
        width = int(np.prod(splits.spec.input_shape))
        mean = np.full(width, low)
        variance = np.full(width, (high - low) ** 2)
    layer.adapt_mean.assign(mean.astype("float32"))
    layer.adapt_variance.assign(variance.astype("float32"))
    layer.finalize_state()
    log.info("data: %s statistics of %s set on the training split", feature_scaling, layer.name)


def adapt_target(model: Any, splits: Any) -> None:
    """Set the ``mean`` and ``std`` of a regression model's target scale (the layer named
    :data:`TARGET_SCALE`) from the training split's targets (:func:`target_statistics`), so
    its ``Dense(1)`` learns the standardised target and ``model.keras`` predicts in the
    target's units. Call it where :func:`adapt_preprocessing` is called (it calls this); a
    model without the layer is left as it is."""
    if splits.spec.task != "regression":
        return
    try:
        layer = model.get_layer(TARGET_SCALE)
    except ValueError:
        return
    stats = target_statistics(splits.train[1])
    layer.mean.assign(np.asarray(stats["mean"], "float32"))
    layer.std.assign(np.asarray(stats["std"], "float32"))
    log.info(
        "data: target mean %.6g and std %.6g of the training split set on %s",
        stats["mean"],
        stats["std"],
        layer.name,
    )
