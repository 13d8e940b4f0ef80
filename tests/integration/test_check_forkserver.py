"""``kiosk check`` on the forkserver's socket (``kiosk.forkserver_socket``)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from kiosk.check import run_checks
from kiosk.cli import demo_settings


def forkserver_lines(settings) -> list[tuple[str, str]]:
    return [(r.state, r.message) for r in run_checks(settings) if r.name == "forkserver"]


def with_sockets(settings, *, forkserver: str, backend: str = ""):
    return dataclasses.replace(
        settings,
        kiosk=dataclasses.replace(settings.kiosk, forkserver_socket=forkserver),
        backend=dataclasses.replace(settings.backend, socket=backend),
    )


def test_no_forkserver_configured_says_nothing(tmp_path: Path):
    assert forkserver_lines(demo_settings(tmp_path)) == []


def test_a_listening_forkserver_passes_and_a_missing_one_is_a_warning(tmp_path: Path):
    settings = demo_settings(tmp_path)
    path = tmp_path / "forkserver.sock"
    [(state, message)] = forkserver_lines(with_sockets(settings, forkserver=str(path), backend="/run/kiosk/backend.sock"))
    assert state == "warn" and "sessions load the kiosk themselves" in message

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listening:
        listening.bind(str(path))
        listening.listen(1)
        [(state, message)] = forkserver_lines(with_sockets(settings, forkserver=str(path), backend="/run/kiosk/backend.sock"))
        assert state == "ok" and str(path) in message


def test_a_forkserver_without_the_backend_is_a_warning(tmp_path: Path):
    settings = demo_settings(tmp_path)
    (tmp_path / "plain-file").write_text("")
    lines = forkserver_lines(with_sockets(settings, forkserver=str(tmp_path / "plain-file")))
    assert lines[0][0] == "warn" and "backend.socket is not" in lines[0][1]
    assert lines[1] == ("fail", f"{tmp_path / 'plain-file'} is not a socket")
