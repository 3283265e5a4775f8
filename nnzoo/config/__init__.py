"""The config contract: typed schema, YAML loading with ``extends``, ``--set`` overrides."""

from nnzoo.config.loader import (
    config_from_dict,
    dump_config,
    get_dotted,
    load_config,
    parse_set,
    set_dotted,
)
from nnzoo.config.schema import Config

__all__ = [
    "Config",
    "config_from_dict",
    "dump_config",
    "get_dotted",
    "load_config",
    "parse_set",
    "set_dotted",
]
