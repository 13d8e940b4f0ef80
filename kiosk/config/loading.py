"""Loading the configuration: its sources read by pydantic-settings, merged
in their order of precedence, validated as one ``Settings``.

Precedence, lowest first: the file (and ``questions.toml`` beside it), then
``KIOSK_<SECTION>__<KEY>`` environment variables, then the service account's
password (``$KIOSK_DIRECTORY__SERVICE_PASSWORD``, else the first secrets
directory that has ``kiosk_directory__service_password``). See
``kiosk.config.sources`` for where each is.

pydantic-settings is the ecosystem's reader of these sources (nested
``__`` names, JSON lists and tables in a variable, secret files); it reads
here (``kiosk.config.readers``), and ``kiosk.config.validation`` validates
what it read, so every mistake is one ``ConfigError`` in the validator's
words. Both are imported when settings are loaded, not with this module: a
module that imports ``load_settings`` (the commands' parser builds them all)
does not bring pydantic into the kiosk before its first frame, where
``kiosk.config.startup`` reads lean, without pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.backend.errors import ConfigError
from kiosk.config.schema import Settings
from kiosk.config.sources import DEFAULT_SECRETS_DIR, SERVICE_PASSWORD_SECRET, config_path, merge, refuse_password_in


def read_config(
    file: Path, environ: Mapping[str, str], *, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The configuration as plain data, not yet validated: the file, the
    questions file beside it, then the environment's ``KIOSK_*`` values."""
    from kiosk.config.readers import read_environment, read_file

    data = read_file(file)
    if overrides:
        data = merge(data, overrides)
    refuse_password_in(data, file)
    return merge(data, read_environment(environ))


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read, merge and validate the configuration, or raise one ConfigError."""
    from kiosk.config.readers import mail_password, service_password
    from kiosk.config.validation import validate

    environ = os.environ if environ is None else environ
    file = config_path(path, environ)
    data = read_config(file, environ, overrides=overrides)
    secret = service_password(environ)
    if secret is not None:
        data = merge(data, {"directory": {"service_password": secret}})
    smtp_secret = mail_password(environ)
    if smtp_secret is not None:
        data = merge(data, {"mail": {"password": smtp_secret}})
    return validate(Settings, data, str(file))


def settings_from(data: Mapping[str, Any]) -> Settings:
    """Settings from a mapping alone (demo, tests): no file, no environment."""
    from kiosk.config.validation import validate

    return validate(Settings, dict(data), "settings")


def preflight(settings: Settings) -> None:
    """What the configuration names but cannot check by itself (the files it
    points to, the secret beside it): ConfigError, so the kiosk never starts
    half set up and fails at its first visitor instead."""
    import ssl

    directory = settings.directory
    if directory.kind != "ad":
        return
    if not directory.service_user:
        raise ConfigError("directory.service_user is empty: name the kiosk's service account (DOMAIN\\name)")
    if directory.service_password is None or not directory.service_password.get_secret_value():
        raise ConfigError(
            "the service account's password is missing or empty: put it in the secrets file "
            f"{DEFAULT_SECRETS_DIR / SERVICE_PASSWORD_SECRET} (mode 0600; or $KIOSK_SECRETS_DIR, "
            "$CREDENTIALS_DIRECTORY) or in $KIOSK_DIRECTORY__SERVICE_PASSWORD"
        )
    if directory.ca_file is not None:
        where = f"directory.ca_file = '{directory.ca_file}'"
        try:
            ssl.create_default_context(cafile=str(directory.ca_file))
        except FileNotFoundError:
            raise ConfigError(f"{where}: no such file") from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read it ({exc.strerror or exc})") from None
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{where}: holds no usable CA certificate (PEM expected; {exc.reason or exc})"
            ) from None
