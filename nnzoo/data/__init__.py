"""Data sources: each reports what it yields (:class:`DataSpec`) and returns NumPy splits, or
a :class:`Listing` of its files (``image_folder``: :class:`ImageFiles`) read while training.

A source is registered by name with :func:`register_source`; ``load_data`` splits it into
train / validation / test and :mod:`nnzoo.data.pipeline` turns the splits into ``tf.data``
pipelines (TensorFlow backend) or ``PyDataset`` batches (JAX / PyTorch, no TensorFlow needed).

Other packages import from here, never from a private ``nnzoo.data._module``. Importing this
package imports neither TensorFlow nor Keras (``nnzoo list-models`` / ``validate`` stay fast).
"""

from nnzoo.data._fingerprint import data_fingerprint, fingerprint_changes
from nnzoo.data._listed import ImageFiles
from nnzoo.data._listing import FolderListing, is_hidden
from nnzoo.data._precheck import check_data_shape
from nnzoo.data._prepare import (
    IGNORE_INDEX,
    IMAGE_EXTENSIONS,
    adapt_preprocessing,
    adapt_target,
    check_finite,
    decode_image,
    feature_moments,
    image_array,
    read_images,
)
from nnzoo.data._sizes import check_training_split
from nnzoo.data._sources import (
    SPLIT_NAMES,
    DataSpec,
    Listing,
    SourceData,
    Splits,
    check_required_params,
    check_source_params,
    classification_data,
    get_source,
    is_listing,
    list_sources,
    load_data,
    num_examples,
    read_rows,
    register_source,
    regression_data,
    target_statistics,
)
from nnzoo.data._table import (
    CsvTexts,
    NamedTable,
    label_ids,
    read_text_file,
    text_lines,
)

__all__ = [
    "check_data_shape",
    "check_training_split",
    "NamedTable",
    "CsvTexts",
    "IGNORE_INDEX",
    "IMAGE_EXTENSIONS",
    "adapt_preprocessing",
    "adapt_target",
    "check_finite",
    "decode_image",
    "DataSpec",
    "FolderListing",
    "feature_moments",
    "ImageFiles",
    "is_listing",
    "Listing",
    "SourceData",
    "SPLIT_NAMES",
    "Splits",
    "check_required_params",
    "check_source_params",
    "classification_data",
    "regression_data",
    "target_statistics",
    "data_fingerprint",
    "fingerprint_changes",
    "get_source",
    "image_array",
    "is_hidden",
    "label_ids",
    "list_sources",
    "load_data",
    "num_examples",
    "read_images",
    "read_rows",
    "register_source",
    "read_text_file",
    "text_lines",
]
