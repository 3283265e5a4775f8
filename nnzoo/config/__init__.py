"""The config contract: typed schema, YAML reading with ``extends``, ``--set`` overrides.

Nothing here knows the catalog or the data sources: :func:`read_config` checks a file against
the schema only. Commands load configs with :func:`nnzoo.run.bind.load_config` (``nnzoo.
load_config``), which also checks the model, its parameters and the data source.
"""

from nnzoo.config.loader import (
    dump_config,
    get_dotted,
    parse_config,
    parse_set,
    read_config,
    set_dotted,
)
from nnzoo.config.schema import Config

__all__ = [
    "Config",
    "dump_config",
    "get_dotted",
    "parse_config",
    "parse_set",
    "read_config",
    "set_dotted",
]
