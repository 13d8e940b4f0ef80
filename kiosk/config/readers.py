"""The configuration's sources read by pydantic-settings, the ecosystem's
reader of them (nested ``__`` names, JSON lists and tables in a variable,
secret files, the TOML file): plain data for ``kiosk.config.validation``.
Imported by ``kiosk.config.loading`` when it reads, never before the kiosk's
first frame."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from kiosk.backend.errors import ConfigError
from kiosk.config.sources import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    MAIL_PASSWORD_SECRET,
    MAIL_PASSWORD_VARIABLE,
    SECTIONS,
    SERVICE_PASSWORD_SECRET,
    SERVICE_PASSWORD_VARIABLE,
    is_setting_variable,
    read_toml,
    secrets_dirs,
    with_questions_file,
)


#: What a section's key holds as read, before validation: a JSON list or table
#: in a variable is one; any other value stays text for the validator to
#: convert ("45" -> 45, "true" -> True) or to name.
RawValue = list[Any] | dict[str, Any] | str


class _Raw(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, case_sensitive=False, extra="allow"
    )


#: Settings' sections as pydantic-settings sees its sources: raw values (never
#: instantiated: its sources are called one by one, validation is ours).
_FIELDS: dict[str, Any] = {name: (dict[str, RawValue] | str | None, None) for name in SECTIONS}
_Sections = create_model("_Sections", __base__=_Raw, **_FIELDS)


class _ServicePassword(BaseSettings):
    """The secrets that come from a file: ``kiosk_directory__service_password``
    and ``kiosk_mail__password``."""

    model_config = SettingsConfigDict(env_prefix="kiosk_", case_sensitive=True)
    directory__service_password: str | None = None
    mail__password: str | None = None


class _Environment(EnvSettingsSource):
    """The ``KIOSK_*`` settings variables of ``environ`` (not only os.environ)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = {name: value for name, value in environ.items() if is_setting_variable(name)}
        super().__init__(_Sections)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}


class _TomlFile(TomlConfigSettingsSource):
    """The config file, its mistakes in ConfigError's words."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return read_toml(Path(file_path))


def read_file(file: Path) -> dict[str, Any]:
    """The config file and the questions file beside it, as plain data."""
    if not file.is_file():
        read_toml(file)  # names what is there instead: nothing, a directory, ...
    data = dict(_TomlFile(_Sections, toml_file=file).toml_data)
    return with_questions_file(data, file, read=lambda path: _TomlFile(_Sections, toml_file=path).toml_data)


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """``KIOSK_SECTION__KEY=value`` as ``{"section": {"key": value}}``."""
    try:
        return {name: value for name, value in _Environment(environ)().items() if value is not None}
    except SettingsError as exc:
        raise ConfigError(f"the environment's KIOSK_* settings: {exc}") from None


def service_password(environ: Mapping[str, str]) -> str | None:
    """From ``$KIOSK_DIRECTORY__SERVICE_PASSWORD``, else the first secrets
    directory with the file (surrounding white space is not part of it)."""
    return _secret(environ, SERVICE_PASSWORD_VARIABLE, SERVICE_PASSWORD_SECRET, "directory__service_password")


def mail_password(environ: Mapping[str, str]) -> str | None:
    """The SMTP login's password: ``$KIOSK_MAIL__PASSWORD``, else the secrets
    file ``kiosk_mail__password`` (read as the service password is)."""
    return _secret(environ, MAIL_PASSWORD_VARIABLE, MAIL_PASSWORD_SECRET, "mail__password")


def _secret(environ: Mapping[str, str], variable: str, secret_name: str, field: str) -> str | None:
    if environ.get(variable):
        return environ[variable]
    existing = [directory for directory in secrets_dirs(environ) if directory.exists()]
    if not existing:
        return None
    candidates = [directory / secret_name for directory in existing]
    file = next((path for path in candidates if os.path.lexists(path)), candidates[0])
    # pydantic-settings reads the last directory first: ours are first-wins.
    source = SecretsSettingsSource(_ServicePassword, secrets_dir=list(reversed(existing)))
    with warnings.catch_warnings(record=True) as refused:
        warnings.simplefilter("always")
        try:
            value = source().get(field)
        except (OSError, UnicodeDecodeError, SettingsError) as exc:
            cause = exc.__cause__ if isinstance(exc, SettingsError) and exc.__cause__ else exc
            if isinstance(cause, UnicodeDecodeError):
                raise ConfigError(f"the secret file {file} is not UTF-8 text") from None
            if isinstance(cause, OSError):
                raise ConfigError(f"cannot read the secret file {cause.filename or file}: {cause.strerror}") from None
            raise ConfigError(f"cannot read the secret file {file}: {cause}") from None
    if refused:  # a directory, a link out of the secrets directory, ...: named, never skipped
        reason = str(refused[0].message).split(" but ", 1)[-1].rstrip(".")
        raise ConfigError(f"cannot read the secret file {file}: {reason}")
    return value
