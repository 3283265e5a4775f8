"""Load a YAML config: safe loader, ``extends:``, flags, ``--set`` overrides, validation.

Every mistake becomes a :class:`~nnzoo.errors.ConfigError` naming the file, the dotted key,
the line where YAML gives one, and a fix.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from nnzoo.config.schema import Config, SpaceParam
from nnzoo.errors import ConfigError

#: Where a dotted key was last set: (file or "--set", line or None).
Origins = dict[str, tuple[str, "int | None"]]

SET_ORIGIN = "--set"


def _line_map(node: yaml.Node, prefix: str, file: str, out: Origins) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[key] = (file, key_node.start_mark.line + 1)
            _line_map(value_node, key, file, out)


#: A config is a small text file; anything larger is not one (and is not read whole).
MAX_CONFIG_BYTES = 1 << 20


def _read_text(path: Path, label: str) -> str:
    """The config file's text: a regular UTF-8 file of at most 1 MiB. Its content is never
    echoed in an error (``extends: /etc/shadow`` must not print a line of it)."""
    if not path.exists():
        raise ConfigError(
            "file not found", file=label, fix="check the path, or run `nnzoo init MODEL > FILE`"
        )
    if path.is_dir():
        raise ConfigError("is a directory, not a YAML file", file=label, fix="pass a .yaml file")
    if not path.is_file():  # /dev/zero, a FIFO, a socket: reading could block or never end
        raise ConfigError("is not a regular file", file=label, fix="pass a .yaml file")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except PermissionError:
        raise ConfigError(
            "cannot be read (permission denied)", file=label, fix="pass a file you can read"
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"is larger than {MAX_CONFIG_BYTES // (1 << 20)} MiB, too large for a config",
            file=label,
            fix="pass a nnzoo YAML config (see `nnzoo init MODEL`)",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"is not UTF-8 text (byte {err.start})",
            file=label,
            fix="save the config as UTF-8 YAML",
        ) from None


def _read_yaml(path: Path, label: str) -> tuple[dict[str, Any], Origins]:
    text = _read_text(path, label)
    origins: Origins = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _line_map(node, "", label, origins)
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as err:
        mark = err.problem_mark
        tag = (err.problem or "").split("'")[1] if "'" in (err.problem or "") else "tag"
        raise ConfigError(
            f"the tag {tag} is not allowed (configs are loaded with a safe loader)",
            file=label,
            line=mark.line + 1 if mark else None,
            key=_key_at_line(origins, mark.line + 1) if mark else None,
            fix="write a plain value instead of a !!python tag",
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        # The problem is PyYAML's fixed description; str(err) would quote the file's text.
        problem = getattr(err, "problem", None) or "the file is not valid YAML"
        raise ConfigError(
            f"YAML syntax error: {problem}",
            file=label,
            line=mark.line + 1 if mark else None,
            fix="check indentation, colons and quotes on that line",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of keys; received a {type(data).__name__}",
            file=label,
            line=1,
            fix="start with `name:`, `model:` and `data:` keys (see `nnzoo init MODEL`)",
        )
    return data, origins


def _key_at_line(origins: Origins, line: int) -> str | None:
    best = None
    for key, (_file, at) in origins.items():
        if at is not None and at <= line and (best is None or at >= origins[best][1]):
            best = key
    return best


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


#: How many files an ``extends`` chain may hold (a deeper one would exhaust Python's stack).
MAX_EXTENDS_DEPTH = 64


def _load_with_extends(
    path: Path, label: str, seen: tuple[Path, ...] = (), root: str | None = None
) -> tuple[dict[str, Any], Origins]:
    resolved = path.resolve()
    root = label if root is None else root  # the file the user gave: the one to name
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(
            f"the chain of `extends` is more than {MAX_EXTENDS_DEPTH} files deep (it goes on "
            f"at {label})",
            file=root,
            key="extends",
            fix="extend a config that extends fewer others (merge the chain into fewer files)",
        )
    if resolved in seen:
        raise ConfigError(
            "`extends` forms a cycle", file=label, key="extends", fix="remove one of the extends"
        )
    data, origins = _read_yaml(path, label)
    parent = data.pop("extends", None)
    if parent is None:
        return data, origins
    if not isinstance(parent, str):
        raise ConfigError(
            f"must be a path to another YAML file; received {parent!r}",
            file=label,
            key="extends",
            line=origins.get("extends", (None, None))[1],
            fix="write `extends: base.yaml` (a path relative to this file)",
        )
    parent_path = path.parent / parent
    if not parent_path.exists():
        raise ConfigError(
            f"the extended file {parent_path} does not exist",
            file=label,
            key="extends",
            line=origins.get("extends", (None, None))[1],
            fix="give a path relative to this config file",
        )
    base, base_origins = _load_with_extends(parent_path, str(parent_path), (*seen, resolved), root)
    return _deep_merge(base, data), {**base_origins, **origins}


def parse_set(item: str) -> tuple[str, Any]:
    """Parse one ``--set a.b.c=value``; the value is a YAML scalar, list or mapping."""
    if "=" not in item:
        raise ConfigError(
            f"expected KEY=VALUE; received {item!r}",
            file=SET_ORIGIN,
            fix="write e.g. --set train.epochs=5",
        )
    key, _, raw = item.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"bad dotted key {key!r}", file=SET_ORIGIN, fix="write e.g. --set train.epochs=5"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ConfigError(
            f"value {raw!r} is not valid YAML",
            file=SET_ORIGIN,
            key=key,
            fix="quote it, e.g. --set name='my run'",
        ) from None
    return key, value


def set_dotted(data: dict[str, Any], key: str, value: Any, *, origin: str = SET_ORIGIN) -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"``, creating mappings on the way."""
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"cannot set a key inside {'.'.join(parts[: i + 1])}, which is a "
                f"{type(child).__name__}",
                file=origin,
                key=key,
                fix=f"set {'.'.join(parts[: i + 1])} itself",
            )
        node = child
    node[parts[-1]] = value


def get_dotted(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _section_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at ``loc`` (a pydantic error location) in the schema."""
    if len(loc) == 3 and tuple(map(str, loc[:2])) == ("tune", "space"):  # one space entry
        return [f.alias or n for n, f in SpaceParam.model_fields.items()]
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        if model is None and str(part) == "space":
            return []
    return list(model.model_fields) if model is not None else []


_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def _is_space_key(parents: tuple[Any, ...], part: str) -> bool:
    """A ``tune.space`` entry is a dotted key (``train.optimizer.learning_rate``)."""
    return tuple(map(str, parents)) == ("tune", "space") and all(
        _NAME.fullmatch(p) for p in part.split(".")
    )


def _validation_error(err: ValidationError, origins: Origins, label: str) -> ConfigError:
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    origin_file, line = _origin(origins, ".".join(str(p) for p in loc), label)
    # Name a key only when it looks like one: a line of some other file (`extends:
    # /etc/shadow`) parses as a key, and must not be echoed.
    key = ".".join(
        p if _NAME.fullmatch(p) or _is_space_key(loc[:i], p) else "<not a key name>"
        for i, p in enumerate(map(str, loc))
    )
    kind = first["type"]
    received = first.get("input")
    if kind == "extra_forbidden":
        allowed = _section_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        fix = (
            f"did you mean '{close[0]}'?"
            if close
            else ("allowed keys: " + ", ".join(allowed) if allowed else "remove it")
        )
        return ConfigError("unknown key", file=origin_file, key=key, line=line, fix=fix)
    if kind == "missing":
        return ConfigError(
            "required key is missing",
            file=origin_file,
            key=key,
            line=line,
            fix=f"add `{loc[-1]}:` (see `nnzoo init MODEL` for a complete config)",
        )
    if kind == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        return ConfigError(
            f"must be one of {expected}; received {received!r}",
            file=origin_file,
            key=key,
            line=line,
            fix="use one of the listed values",
        )
    message = first["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else message
    if kind != "value_error" and received is not None and not isinstance(received, dict):
        message += f"; received {received!r}"
    return ConfigError(message, file=origin_file, key=key, line=line, fix=_fix_for(kind, first))


def _fix_for(kind: str, error: dict[str, Any]) -> str:
    ctx = error.get("ctx", {})
    if kind.startswith(("greater", "less")):
        return "change the value to fit that bound"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "write a whole number, e.g. 10"
    if kind in ("float_parsing", "float_type"):
        return "write a number, e.g. 0.001"
    if kind in ("bool_parsing", "bool_type"):
        return "write true or false"
    if kind in ("string_type",):
        return "write a string"
    if kind in ("dict_type", "model_type"):
        return "write a mapping of keys (key: value on indented lines)"
    if kind in ("list_type",):
        return "write a list, e.g. [a, b]"
    if kind == "string_pattern_mismatch":
        return f"use letters, digits, '_', '-', '.' only (pattern {ctx.get('pattern')})"
    if kind.startswith("too_"):
        return "change the number of items"
    return "see `nnzoo init MODEL` for a valid config"


def _origin(origins: Origins, key: str, label: str) -> tuple[str, int | None]:
    parts = key.split(".")
    while parts:
        found = origins.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return label, None


def read_config(
    path: str | Path,
    overrides: Iterable[str] = (),
    *,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Read, merge and validate a config file against the schema.

    Args:
        path: the YAML file; may start with ``extends: other.yaml``.
        overrides: ``--set``-style ``"a.b.c=value"`` strings; they override everything.
        flags: dotted keys set by command-line flags (``{"train.epochs": 5}``); the file's
            values are overridden by these, and these by ``overrides``.

    Returns:
        The validated :class:`Config`; the source file is in ``config.source_file`` and
        where each key was set in ``config.origin(key)``. The model name, its parameters and
        the data source are checked against the catalog by
        :func:`nnzoo.run.bind.load_config`, which is what commands use.
    """
    label = str(path)
    data, origins = _load_with_extends(Path(path), label)
    return parse_config(
        data,
        origins=origins,
        label=label,
        overrides=overrides,
        flags=flags,
    )


def _name_and_source(data: Mapping[str, Any]) -> tuple[Any, Any]:
    source = data.get("data", {}).get("source") if isinstance(data.get("data"), dict) else None
    return data.get("name"), source


def _rename_for_source(data: dict[str, Any], before: tuple[Any, Any], origins: Origins) -> None:
    """A run named after its data follows an overridden source: ``perceptron-and`` trained with
    ``--set data.source=xor`` is saved as ``perceptron-xor``, not under the other data's name."""
    name, source = before
    _, new_source = _name_and_source(data)
    if (
        isinstance(name, str)
        and isinstance(source, str)
        and isinstance(new_source, str)
        and new_source != source
        and data.get("name") == name  # the name itself was not overridden
        and name.endswith(f"-{source}")
    ):
        data["name"] = f"{name.removesuffix(source)}{new_source}"
        origins["name"] = origins.get("data.source", (SET_ORIGIN, None))


def parse_config(
    data: Mapping[str, Any],
    *,
    origins: Origins | None = None,
    label: str = "<config>",
    overrides: Iterable[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Validate a config given as a mapping against the schema (see :func:`read_config`)."""
    data = copy.deepcopy(dict(data))
    origins = dict(origins or {})
    before = _name_and_source(data)
    for key, value in (flags or {}).items():
        if value is not None:
            set_dotted(data, key, value, origin="command line")
            origins[key] = ("command line", None)
    for item in overrides:
        key, value = parse_set(item)
        set_dotted(data, key, value)
        origins[key] = (SET_ORIGIN, None)
        for other in [k for k in origins if k.startswith(key + ".")]:
            origins[other] = (SET_ORIGIN, None)
    _rename_for_source(data, before, origins)
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise _validation_error(err, origins, label) from None
    return config.with_source(label, origins)


def check_space_key(
    dumped: Mapping[str, Any],
    key: str,
    model_params: Iterable[str],
    *,
    file: str,
    line: int | None,
) -> None:
    """A ``tune.space`` key must name a key of this config (or a model / data param)."""
    parts = key.split(".")
    if parts[:2] == ["model", "params"] and len(parts) == 3:
        allowed = list(model_params)
        if parts[2] in allowed:
            return
        close = difflib.get_close_matches(parts[2], allowed, n=1)
        fix = f"did you mean 'model.params.{close[0]}'?" if close else "see `nnzoo describe`"
        raise ConfigError(
            f"the model takes no parameter '{parts[2]}'",
            file=file,
            key=f"tune.space.{key}",
            line=line,
            fix=fix,
        )
    if parts[:2] == ["data", "params"] and len(parts) == 3:
        return
    try:
        get_dotted(dumped, key)
        return
    except (KeyError, TypeError):
        pass
    candidates = list(_flatten(dumped))
    close = difflib.get_close_matches(key, candidates, n=1)
    fix = f"did you mean '{close[0]}'?" if close else "name a dotted key of this config"
    raise ConfigError(
        f"'{key}' is not a key of this config",
        file=file,
        key=f"tune.space.{key}",
        line=line,
        fix=fix,
    )


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and value and key not in ("space",):
            yield from _flatten(value, dotted)
        else:
            yield dotted


def dump_config(config: Config) -> str:
    """The config as YAML, every default filled in (what a run writes to config.yaml)."""
    return yaml.safe_dump(
        config.model_dump(mode="json", exclude_none=False), sort_keys=False, allow_unicode=True
    )
