"""Data sources: each reports what it yields (:class:`DataSpec`) and returns NumPy splits.

A source is registered by name with :func:`register_source`; ``load_data`` splits it into
train / validation / test and :mod:`nnzoo.data.pipeline` turns the splits into ``tf.data``
pipelines (TensorFlow backend) or NumPy batches (JAX / PyTorch, no TensorFlow needed).

Other packages import from here, never from a private ``nnzoo.data._module``. Importing this
package imports neither TensorFlow nor Keras (``nnzoo list-models`` / ``validate`` stay fast).
"""

from nnzoo.data._prepare import (
    IGNORE_INDEX,
    IMAGE_EXTENSIONS,
    adapt_preprocessing,
    check_finite,
    image_array,
    read_images,
)
from nnzoo.data._sources import (
    DataSpec,
    SourceData,
    Splits,
    check_required_params,
    check_source_params,
    classification_data,
    get_source,
    list_sources,
    load_data,
    num_examples,
    register_source,
)
from nnzoo.data._table import (
    CsvTable,
    CsvTexts,
    ParquetTable,
    label_ids,
    read_text_file,
    text_lines,
)

__all__ = [
    "CsvTable",
    "CsvTexts",
    "IGNORE_INDEX",
    "IMAGE_EXTENSIONS",
    "adapt_preprocessing",
    "check_finite",
    "DataSpec",
    "SourceData",
    "Splits",
    "check_required_params",
    "check_source_params",
    "classification_data",
    "get_source",
    "image_array",
    "label_ids",
    "list_sources",
    "load_data",
    "num_examples",
    "ParquetTable",
    "read_images",
    "register_source",
    "read_text_file",
    "text_lines",
]
