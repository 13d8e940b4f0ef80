"""``kiosk.attach``: which sessions go to the forkserver, and what that costs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.attach import SOCKET_VARIABLE, forkserver_socket


def test_only_the_kiosk_itself_goes_to_the_forkserver(tmp_path: Path):
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nforkserver_socket = "/run/kiosk/forkserver.sock"\n')
    assert forkserver_socket(["--config", str(config)], {}) == "/run/kiosk/forkserver.sock"
    assert forkserver_socket([f"--config={config}"], {}) == "/run/kiosk/forkserver.sock"
    assert forkserver_socket([], {"KIOSK_CONFIG": str(config)}) == "/run/kiosk/forkserver.sock"
    # Any other command (the helpdesk, the admin's) runs as itself.
    for argv in (["--config", str(config), "helpdesk"], ["--config", str(config), "check"], ["demo"]):
        assert forkserver_socket(argv, {}) is None


def test_without_the_key_or_a_readable_file_the_session_runs_the_kiosk_itself(tmp_path: Path):
    plain, broken = tmp_path / "plain.toml", tmp_path / "broken.toml"
    plain.write_text('[kiosk]\ntitle = "Help"\n')
    broken.write_text("[kiosk\n")
    assert forkserver_socket(["--config", str(plain)], {}) is None
    assert forkserver_socket(["--config", str(broken)], {}) is None  # the kiosk names the fault itself
    assert forkserver_socket(["--config", str(tmp_path / "missing.toml")], {}) is None
    assert forkserver_socket(["--config", str(plain)], {SOCKET_VARIABLE: "/tmp/f.sock"}) == "/tmp/f.sock"


def test_handing_over_loads_neither_textual_nor_the_kiosk():
    code = "import sys, kiosk.attach; print(sorted(m for m in sys.modules if m.startswith(('kiosk', 'textual', 'rich'))))"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "['kiosk', 'kiosk.attach']"


def test_a_status_that_came_with_the_pid_is_not_lost(monkeypatch):
    """A child that ends at once may say its pid and its status in one read."""
    import signal
    import socket

    from kiosk.attach import LOST, _follow

    monkeypatch.setattr(signal, "signal", lambda *args: None)  # no forwarding installed in pytest

    ours, theirs = socket.socketpair()
    theirs.close()  # the child is gone: nothing more comes
    assert _follow(ours, 0, b"exit 2\n") == 2

    ours, theirs = socket.socketpair()
    theirs.sendall(b"exit 3\n")
    theirs.close()
    assert _follow(ours, 0, b"") == 3

    ours, theirs = socket.socketpair()
    theirs.close()
    assert _follow(ours, 0, b"") == LOST
