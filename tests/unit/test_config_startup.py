"""The kiosk's start: a first frame from the raw file, validation in a child.

The first frame's settings are read without pydantic (``provisional_settings``)
and must be exactly what validation gives for any valid file; validation runs
in a child process (``PendingSettings``) and must answer exactly as in-process
validation would, ConfigError and all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.backend.errors import ConfigError
from kiosk.config.loading import load_settings
from kiosk.config.startup import PendingSettings, provisional_settings, read_config

DEMO = """
[directory]
kind = "demo"
"""

EVERY_DISPLAY_KEY = DEMO + """
[kiosk]
title = "Service desk"
organisation = "Example School"
help_text = "Locked out? Start here."
terminal_id = "library-1"
idle_timeout_seconds = 45
result_seconds = 5
theme = "vt"
mouse = true
lockdown = false
activation_limit_seconds = 600
log_file = "/tmp/kiosk-test.log"
texts = { "welcome.unlock" = "Unlock" }

[features]
enroll = false
activate = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def first_frame_and_validated(path: Path, environ: dict[str, str]):
    provisional = provisional_settings(read_config(path, environ))
    return provisional, load_settings(path, environ)


@pytest.mark.parametrize(
    ("text", "environ"),
    [
        (DEMO, {}),
        (EVERY_DISPLAY_KEY, {}),
        (
            DEMO,
            {
                "KIOSK_KIOSK__IDLE_TIMEOUT_SECONDS": "30",
                "KIOSK_KIOSK__MOUSE": "yes",
                "KIOSK_KIOSK__LOCKDOWN": "False",
                "KIOSK_FEATURES__ACTIVATE": "1",
                "KIOSK_KIOSK__TEXTS": '{"welcome.reset": "New password"}',
                "KIOSK_KIOSK__LOG_FILE": "/tmp/elsewhere.log",
            },
        ),
    ],
    ids=["defaults", "every display key", "environment overrides"],
)
def test_the_first_frame_shows_what_validation_gives(tmp_path, text, environ):
    provisional, validated = first_frame_and_validated(write(tmp_path, text), environ)
    assert provisional.kiosk == validated.kiosk
    assert provisional.features == validated.features


def test_a_value_of_the_wrong_kind_shows_the_default_and_never_unlocks(tmp_path):
    text = DEMO + '[kiosk]\nlockdown = "perhaps"\ntitle = 7\n'
    provisional = provisional_settings(read_config(write(tmp_path, text), {}))
    assert provisional.kiosk.lockdown is True
    assert provisional.kiosk.title == "Password self-service"
    with pytest.raises(ConfigError, match="kiosk.lockdown"):
        load_settings(write(tmp_path, text), {})


def test_validation_in_a_child_gives_the_same_settings_secret_included(tmp_path, monkeypatch):
    path = write(tmp_path, EVERY_DISPLAY_KEY)
    monkeypatch.setenv("KIOSK_DIRECTORY__SERVICE_PASSWORD", "s3cret!")
    monkeypatch.setenv("KIOSK_KIOSK__RESULT_SECONDS", "9")
    from_child = PendingSettings(path).result()
    assert from_child == load_settings(path)
    assert from_child.kiosk.result_seconds == 9
    assert from_child.directory.service_password.get_secret_value() == "s3cret!"


def test_a_refused_configuration_comes_back_in_the_validators_words(tmp_path):
    path = write(tmp_path, DEMO + "[kiosk]\nidle_timeout_seconds = 2\n")
    with pytest.raises(ConfigError) as in_child:
        PendingSettings(path).result()
    with pytest.raises(ConfigError) as in_process:
        load_settings(path, {})
    assert str(in_child.value) == str(in_process.value)
    assert "kiosk.idle_timeout_seconds = 2" in str(in_child.value)
    assert "Traceback" not in str(in_child.value)


def test_the_child_also_checks_what_the_file_names(tmp_path, monkeypatch):
    """preflight runs in the child: a missing service password is named."""
    monkeypatch.delenv("KIOSK_DIRECTORY__SERVICE_PASSWORD", raising=False)
    monkeypatch.setenv("KIOSK_SECRETS_DIR", str(tmp_path / "no-secrets"))
    text = """
[directory]
urls = ["ldaps://dc1.example.com"]
service_user = "EXAMPLE\\\\svc-kiosk"
[[directory.domains]]
netbios = "EXAMPLE"
dns = "example.com"
base_dn = "DC=example,DC=com"
"""
    with pytest.raises(ConfigError, match="service account's password is missing"):
        PendingSettings(write(tmp_path, text)).result()


ENVIRONMENTS = [
    {"KIOSK_KIOSK__IDLE_TIMEOUT_SECONDS": "30", "KIOSK_FEATURES__ACTIVATE": "true"},
    {"KIOSK_DIRECTORY__URLS": '["ldaps://dc2", "ldaps://dc3"]', "KIOSK_KIOSK__TEXTS": '{"welcome.reset": "New"}'},
    {"KIOSK_KIOSK__TEXTS": "[not json", "KIOSK_KIOSK__TITLE": '"quoted"', "KIOSK_KIOSK__ORGANISATION": ""},
    {"KIOSK_ACTIVATION__MARKER__ATTRIBUTE": "info", "KIOSK_KIOSK__IDEL_TIMEOUT": "3"},
    {"KIOSK_KIOSK": '{"title": "whole section"}', "KIOSK_CONFIG": "/elsewhere", "KIOSK_SECRETS_DIR": "/s"},
    {"KIOSK_NOSUCH__KEY": "1", "KIOSK_KIOSK__": "x", "KIOSK_DIRECTORY__SERVICE_PASSWORD": "pw", "OTHER": "1"},
    {"KIOSK_DIRECTORY__DOMAINS": '[{"netbios": "EX", "dns": "ex.com", "base_dn": "DC=ex,DC=com"}]'},
]


@pytest.mark.parametrize("environ", ENVIRONMENTS)
def test_the_lean_reading_and_pydantic_settings_read_the_same(tmp_path, environ):
    """The first frame's hand-written reading and loading's pydantic-settings
    reading give the same data, so the first frame shows what validation gives."""
    from kiosk.config.loading import read_config as read_with_pydantic_settings

    path = write(tmp_path, EVERY_DISPLAY_KEY)
    assert read_config(path, environ) == read_with_pydantic_settings(path, environ)


def test_the_first_secrets_directory_that_has_the_file_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for directory, secret in ((first, "one"), (second, "two")):
        directory.mkdir()
        (directory / "kiosk_directory__service_password").write_text(secret + "\n")
    environ = {"KIOSK_SECRETS_DIR": str(first), "CREDENTIALS_DIRECTORY": str(second)}
    assert load_settings(write(tmp_path, DEMO), environ).directory.service_password.get_secret_value() == "one"
    (first / "kiosk_directory__service_password").unlink()
    assert load_settings(write(tmp_path, DEMO), environ).directory.service_password.get_secret_value() == "two"
    environ["KIOSK_DIRECTORY__SERVICE_PASSWORD"] = "from the environment"
    settings = load_settings(write(tmp_path, DEMO), environ)
    assert settings.directory.service_password.get_secret_value() == "from the environment"


def test_white_space_around_a_secret_file_is_not_part_of_the_password(tmp_path):
    """pydantic-settings reads secret files: an editor's trailing blank or newline is dropped."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kiosk_directory__service_password").write_text("  pass word \r\n")
    settings = load_settings(write(tmp_path, DEMO), {"KIOSK_SECRETS_DIR": str(secrets)})
    assert settings.directory.service_password.get_secret_value() == "pass word"


def test_the_kiosk_command_path_loads_no_pydantic_before_its_first_frame():
    """Building the command parser imports every command's module (admin_cli
    imports load_settings): loading must cost no pydantic until it loads."""
    import subprocess
    import sys

    probe = (
        "import sys, kiosk.cli, kiosk.config.loading\n"
        "kiosk.cli._parser()\n"
        "from kiosk.config.startup import provisional_settings\n"
        "provisional_settings({})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'pydantic_settings')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
