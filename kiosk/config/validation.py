"""Validation of the configuration by pydantic, against the dataclasses of
``kiosk.config.schema``. Imported only where settings are validated (commands,
the kiosk's validator child): pydantic costs every process that imports it
about 13 MiB and 150 ms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from kiosk.backend import ldap_filter
from kiosk.backend.errors import ConfigError
from kiosk.config.schema import ActivationSettings, SettingError, Settings

T = TypeVar("T")


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    """One TypeAdapter per kind: building one costs more than validating."""
    if kind not in _adapters:
        _adapters[kind] = TypeAdapter(kind)
    return _adapters[kind]


def validate(kind: type[T], data: Any, source: str) -> T:
    """``data`` as a ``kind`` (Settings or one of its sections), or one
    ConfigError naming every problem."""
    problems = _filter_problems(kind, data)
    try:
        value = _adapter(kind).validate_python(data)
    except ValidationError as exc:
        raise ConfigError("\n".join([format_validation_error(exc, source), *problems])) from None
    if problems:
        raise ConfigError("\n".join([f"{source}: invalid configuration", *problems]))
    return value


def _filter_problems(kind: type, data: Any) -> list[str]:
    """The LDAP filter (``activation.filter``) that does not parse, in the
    words of the other problems. Checked here, not in the schema: the parser
    is the backend's, and the schema imports no backend."""
    where = ""
    if kind is Settings:
        data, where = (data.get("activation") if isinstance(data, Mapping) else None), "activation."
    elif kind is not ActivationSettings:
        return []
    text = data.get("filter") if isinstance(data, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        return []  # the default (built from the marker), or a wrong type pydantic names
    try:
        ldap_filter.parse(text)
    except ConfigError as exc:
        return [f"  {where}filter: {exc}"]
    return []


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: where, what was given, what is expected."""
    lines = [f"{source}: invalid configuration"]
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SettingError):
            location = f"{location}.{cause.key}" if location != "(top level)" else cause.key
            lines.append(f"  {location}: {message}")
            continue
        if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"  {location}: unknown key (check the spelling)")
            continue
        if error["type"] in ("missing", "missing_keyword_argument"):
            lines.append(f"  {location}: required, but missing")
            continue
        given = error.get("input")
        if not isinstance(given, (str, int, float, bool)) or given is None or "service_password" in location:
            lines.append(f"  {location}: {message}")
        else:
            lines.append(f"  {location} = {given!r}: {message}")
    return "\n".join(lines)
