"""Where the configuration comes from, and what is wrong with a file, in words.

Where the file is: ``--config PATH``, else ``$KIOSK_CONFIG``, else
``/etc/kiosk/kiosk.toml``. Nested keys are overridden with ``__``:
``KIOSK_KIOSK__IDLE_TIMEOUT_SECONDS=30``, ``KIOSK_DIRECTORY__URLS='["ldaps://dc2"]'``.

The questions may instead live in ``questions.toml`` beside the config file
(``kiosk questions import`` writes it); then the config has no [questions].

The service account's password never comes from the file or argv: it comes from
``$KIOSK_DIRECTORY__SERVICE_PASSWORD`` or from the file
``kiosk_directory__service_password`` in a secrets directory (``$KIOSK_SECRETS_DIR``,
systemd's ``$CREDENTIALS_DIRECTORY``, or ``/etc/kiosk/secrets``; the first that
has it wins).

Standard library only: the kiosk's lean first-frame reading
(``kiosk.config.startup``) and the full reading (``kiosk.config.loading``,
with pydantic-settings) share these paths, names and messages.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.backend.errors import ConfigError
from kiosk.config.schema import Settings

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
DEFAULT_SECRETS_DIR = Path("/etc/kiosk/secrets")
SERVICE_PASSWORD_SECRET = "kiosk_directory__service_password"
SERVICE_PASSWORD_VARIABLE = "KIOSK_DIRECTORY__SERVICE_PASSWORD"
#: The SMTP relay's login password (``mail.username``), kept like the service password.
MAIL_PASSWORD_SECRET = "kiosk_mail__password"
MAIL_PASSWORD_VARIABLE = "KIOSK_MAIL__PASSWORD"
ENV_PREFIX = "KIOSK_"
ENV_NESTED_DELIMITER = "__"
#: Environment variables that are about the configuration, not values in it.
NOT_SETTINGS = frozenset({"KIOSK_CONFIG", "KIOSK_SECRETS_DIR", SERVICE_PASSWORD_VARIABLE, MAIL_PASSWORD_VARIABLE})
#: Settings' sections: the first part of a ``KIOSK_<SECTION>__<KEY>`` name.
SECTIONS = tuple(f.name for f in dataclasses.fields(Settings))


def config_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    if explicit:
        return Path(explicit)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return DEFAULT_CONFIG_PATH


def questions_path(config_file: Path) -> Path:
    """Where ``kiosk questions import`` puts questions: beside the config file."""
    return config_file.with_name("questions.toml")


def secrets_dirs(environ: Mapping[str, str]) -> list[Path]:
    """The directories a secret file may be in, the first one winning."""
    named = [environ.get("KIOSK_SECRETS_DIR"), environ.get("CREDENTIALS_DIRECTORY"), str(DEFAULT_SECRETS_DIR)]
    return [Path(directory) for directory in named if directory]


def is_setting_variable(name: str) -> bool:
    """``KIOSK_<SECTION>[__<KEY>...]`` for a section Settings has (other
    ``KIOSK_*`` variables belong to other tools or name the sources)."""
    if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
        return False
    path = name.removeprefix(ENV_PREFIX).lower().split(ENV_NESTED_DELIMITER)
    return path[0] in SECTIONS and all(path)


def read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {file}: copy deploy/kiosk.toml.example there, "
            "name another with --config or $KIOSK_CONFIG, or try `kiosk demo`"
        ) from None
    except PermissionError:
        raise ConfigError(f"cannot read the configuration file {file}: permission denied") from None
    except IsADirectoryError:
        raise ConfigError(f"the configuration path {file} is a directory, not a file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text") from None


def with_questions_file(data: dict[str, Any], file: Path, read: Any = read_toml) -> dict[str, Any]:
    """``data`` (the config file's) with the questions file beside it, if any."""
    questions_file = questions_path(file)
    if questions_file.exists():
        if "questions" in data:
            raise ConfigError(
                f"questions are defined both in {file} and in {questions_file}: keep one "
                f"(remove the [questions] section from {file.name} to use {questions_file.name})"
            )
        data["questions"] = read(questions_file).get("questions", {})
    return data


def refuse_password_in(data: Mapping[str, Any], file: Path) -> None:
    directory = data.get("directory")
    if isinstance(directory, dict) and "service_password" in directory:
        raise ConfigError(
            f"{file}: directory.service_password must not be in the config file; put it in "
            f"the secrets file {DEFAULT_SECRETS_DIR / SERVICE_PASSWORD_SECRET} (mode 0600) "
            f"or the environment variable {SERVICE_PASSWORD_VARIABLE}"
        )
    mail = data.get("mail")
    if isinstance(mail, dict) and "password" in mail:
        raise ConfigError(
            f"{file}: mail.password must not be in the config file; put it in the secrets file "
            f"{DEFAULT_SECRETS_DIR / MAIL_PASSWORD_SECRET} (mode 0600) "
            f"or the environment variable {MAIL_PASSWORD_VARIABLE}"
        )


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, tables merged key by key."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
