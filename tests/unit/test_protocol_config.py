"""The [backend] section: validated with the rest, and read by a session for its first frame."""

from __future__ import annotations

import os

import pytest

from kiosk.backend.errors import ConfigError
from kiosk.config.loading import settings_from
from kiosk.config.startup import provisional_settings

DIRECTORY = {"kind": "demo", "domains": [{"netbios": "DEMO", "dns": "demo.example", "base_dn": "DC=demo,DC=example"}]}


def test_no_socket_by_default_means_the_backend_runs_in_the_session():
    backend = settings_from({"directory": DIRECTORY}).backend
    assert backend.socket == "" and backend.session_user == "kiosk"
    assert backend.verifications == (os.cpu_count() or 1)


def test_the_section_is_validated():
    settings = settings_from({"directory": DIRECTORY, "backend": {"socket": " /run/kiosk/backend.sock ",
                                                                  "max_verifications": 3, "max_sessions": 10}})
    assert settings.backend.socket == "/run/kiosk/backend.sock" and settings.backend.verifications == 3
    for wrong in ({"socket": "run/backend.sock"}, {"max_sessions": 0}, {"max_verifications": -1}):
        with pytest.raises(ConfigError):
            settings_from({"directory": DIRECTORY, "backend": wrong})


def test_a_session_reads_the_socket_for_its_first_frame():
    settings = provisional_settings({"backend": {"socket": "/run/kiosk/backend.sock"},
                                     "helpdesk": {"require_operator_password": False},
                                     "directory": {"service_user": "ignored"}})
    assert settings.backend.socket == "/run/kiosk/backend.sock"
    assert settings.helpdesk.require_operator_password is False
    assert provisional_settings({"backend": {"socket": "relative"}}).backend.socket == ""  # falls back whole
