"""Validation of the configuration by pydantic, against the dataclasses of
``kiosk.config``. Imported only when settings are loaded: pydantic costs every
process that imports it about 13 MiB and 150 ms."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from kiosk.backend.errors import ConfigError
from kiosk.config import SettingError

T = TypeVar("T")


@cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def validate(kind: type[T], data: Any, source: str) -> T:
    """``data`` as a ``kind`` (Settings or one of its sections), or one
    ConfigError naming every problem."""
    try:
        return _adapter(kind).validate_python(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


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


def main(argv: list[str]) -> int:
    """The child of ``kiosk.config.PendingSettings``: validate the file named
    in argv, pickle the Settings to stdout; or the message on stderr, exit 2."""
    import pickle
    import sys

    from kiosk.config import CHILD_INVALID, load_settings, preflight

    try:
        settings = load_settings(argv[0])
        preflight(settings)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return CHILD_INVALID
    sys.stdout.buffer.write(pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
