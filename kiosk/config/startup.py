"""The kiosk's start: a first frame from the raw file now, validation beside it.

The first frame needs a few display settings (title, texts, features, theme,
lockdown): ``read_config`` and ``provisional_settings`` read them by hand,
without pydantic, which would add about 13 MiB and 150 ms to every kiosk
process (one per terminal or SSH session). ``PendingSettings`` validates the
whole configuration meanwhile in a short-lived child (``python -m
kiosk.config.startup``, which loads it with ``kiosk.config.loading``), and its
answer comes back over a pipe.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from kiosk.backend.errors import ConfigError
from kiosk.config.schema import (
    BackendSettings,
    DirectorySettings,
    FeatureSettings,
    HelpdeskSettings,
    KioskSettings,
    Settings,
)
from kiosk.config.sources import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    config_path,
    is_setting_variable,
    merge,
    read_toml,
    refuse_password_in,
    with_questions_file,
)

__all__ = ["CHILD_INVALID", "PendingSettings", "config_path", "provisional_settings", "read_config"]

S = TypeVar("S")

#: The validator child's exit status for a configuration it refused.
CHILD_INVALID = 2


def read_config(file: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The configuration as plain data, not validated, read lean: the file,
    the questions file beside it, then the environment's ``KIOSK_*`` values
    (as ``kiosk.config.loading`` reads them, which the tests hold it to). A
    missing or broken file is named at once."""
    data = with_questions_file(read_toml(file), file)
    refuse_password_in(data, file)
    return merge(data, environment_overrides(environ))


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``KIOSK_SECTION__KEY=value`` as ``{"section": {"key": value}}``. A value
    that reads as a JSON list or table is one; any other stays a string."""
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if not is_setting_variable(name):
            continue
        path = name.removeprefix(ENV_PREFIX).lower().split(ENV_NESTED_DELIMITER)
        parsed: Any = value
        if value.lstrip().startswith(("[", "{")):
            try:
                parsed = json.loads(value)
            except ValueError:
                pass  # the validator says what is wrong with it, by name
        for key in reversed(path[1:]):
            parsed = {key: parsed}
        found = merge(found, {path[0]: parsed})
    return found


def provisional_settings(data: Mapping[str, Any]) -> Settings:
    """What the first frame needs (title, texts, features, theme, lockdown,
    and the backend's socket when there is one),
    read from unvalidated ``read_config`` data without pydantic. A value that
    is not plainly of its type falls back to its default; a section whose
    checks fail falls back whole. The validated settings replace these a moment
    later (or the kiosk stops with the validator's message): nothing is ever
    looked up or written with them, so the directory is a placeholder."""

    def section(kind: type[S]) -> S:
        raw = data.get(_section_name(kind))
        if not isinstance(raw, Mapping):
            return kind()
        hints = typing.get_type_hints(kind)
        values = {}
        for item in dataclasses.fields(kind):  # type: ignore[arg-type]
            if item.name in raw:
                value = _plain_value(hints[item.name], raw[item.name])
                if value is not _NOT_PLAIN:
                    values[item.name] = value
        try:
            return kind(**values)
        except (ValueError, TypeError):
            return kind()

    return Settings(
        directory=DirectorySettings(kind="demo"),
        kiosk=section(KioskSettings),
        features=section(FeatureSettings),
        helpdesk=section(HelpdeskSettings),  # its idle time, for a helpdesk session
        backend=section(BackendSettings),  # where the backend listens, if there is one
    )


_NOT_PLAIN = object()
#: The strings pydantic reads as booleans (an environment variable's "true").
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _section_name(kind: type) -> str:
    return next(f.name for f in dataclasses.fields(Settings) if f.type in (kind.__name__, kind))


def _plain_value(hint: Any, value: Any) -> Any:
    """``value`` as ``hint`` when that is plain (a TOML value of the type, or the
    string an environment variable gives), else _NOT_PLAIN."""
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(hint) is Literal:
        if value in typing.get_args(hint):
            return value
    elif hint == Path | None:
        if isinstance(value, str) and value:
            return Path(value)
    elif hint == dict[str, str]:
        if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            return {str(k): v for k, v in value.items()}
    elif hint == dict[str, str | dict[str, str]]:  # kiosk.texts: English, or a table per language
        if isinstance(value, Mapping) and all(_plain_text_or_table(v) for v in value.values()):
            return {str(k): v if isinstance(v, str) else dict(v) for k, v in value.items()}
    elif hint == list[str]:  # kiosk.languages
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    return _NOT_PLAIN


def _plain_text_or_table(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
    )


class PendingSettings:
    """The configuration being validated in a child process (``python -m
    kiosk.config.startup``), so that pydantic never loads into the kiosk: a
    long-lived process per terminal or SSH session. The child reads the same
    file, secrets and environment; its answer comes back over a pipe."""

    def __init__(self, file: Path) -> None:
        import subprocess
        import sys

        python = [sys.executable, *(["-I"] if sys.flags.isolated else []), "-m", "kiosk.config.startup"]
        self._child = subprocess.Popen(
            [*python, str(file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._settings: Settings | None = None

    def result(self, timeout: float = 60.0) -> Settings:
        """The validated settings, or ConfigError with the validator's words."""
        import pickle
        import subprocess

        if self._settings is not None:
            return self._settings
        try:
            output, errors = self._child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.communicate()
            raise ConfigError(f"validating the configuration took longer than {timeout:.0f} s") from None
        message = errors.decode("utf-8", "replace").strip()
        if self._child.returncode == CHILD_INVALID:
            raise ConfigError(message.removeprefix("kiosk: "))
        if self._child.returncode != 0:
            last = message.splitlines()[-1] if message else "no message"
            raise ConfigError(f"validating the configuration failed (exit {self._child.returncode}): {last}")
        # Our own child, over a private pipe: the one place pickle is right here.
        settings = pickle.loads(output)  # noqa: S301
        if not isinstance(settings, Settings):
            raise ConfigError("validating the configuration gave no settings")
        self._settings = settings
        return settings


def child_main(argv: list[str]) -> int:
    """The child of ``PendingSettings``: load and check the file named in
    argv, pickle the Settings to stdout; or the message on stderr, exit 2."""
    import pickle
    import sys

    from kiosk.config.loading import load_settings, preflight

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

    raise SystemExit(child_main(sys.argv[1:]))
