"""Sessions started by the forkserver: the real ``python -m kiosk`` in tmux,
with ``kiosk.forkserver_socket`` naming a running ``kiosk forkserver``, on a
running ``kiosk backend`` (the demo directory).

The session's own process only hands its terminal over; a fork of the
forkserver (``kiosk@<session pid>``) is the kiosk, and the person cannot
tell: they unlock, the window's size follows, the session ends as it always
did (SIGTERM, the SSH connection gone, killed), and without a forkserver the
session runs the kiosk itself.
"""

from __future__ import annotations

import os
import pty
import pwd
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend_support import Backend, Forkserver, as_user, demo_config
from conftest import PYTHON
from test_backend_terminal import unlock_carol
from test_kiosk_terminal import WELCOME
from tmuxdriver import TmuxDriver, process_state

pytestmark = pytest.mark.e2e


@dataclass
class Host:
    config: Path
    backend: Backend
    forkserver: Forkserver


@pytest.fixture
def host() -> Iterator[Host]:
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-forkserver-"))
    config = demo_config(
        workdir, session_user=pwd.getpwuid(os.getuid()).pw_name,
        extra=f'socket = "{workdir / "backend.sock"}"\n',
    )
    text = config.read_text()
    config.write_text(text.replace("[kiosk]\n", f'[kiosk]\nforkserver_socket = "{workdir / "forkserver.sock"}"\n', 1))
    backend, forkserver = Backend(config, workdir / "backend.sock"), Forkserver(config, workdir / "forkserver.sock")
    backend.start()
    forkserver.start()
    yield Host(config, backend, forkserver)
    forkserver.stop()
    backend.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def fork_serving(host: Host, session: int) -> int:
    found = [pid for pid, name in host.forkserver.forks().items() if name == f"kiosk@{session}"[:15]]
    assert len(found) == 1, host.forkserver.forks()
    return found[0]


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while process_state(pid) not in (None, "Z"):
        assert time.monotonic() < deadline, f"{pid} still running"
        time.sleep(0.05)


def test_a_session_runs_in_a_fork_and_a_person_unlocks_as_always(term: TmuxDriver, host: Host):
    session = term.start([PYTHON, "-m", "kiosk", "--config", str(host.config)])
    term.wait_for(WELCOME, timeout=15)
    fork = fork_serving(host, session)
    assert not [p for p in Path(f"/proc/{session}/task/{session}/children").read_text().split()]

    unlock_carol(term)
    term.wait_for("is unlocked", timeout=15)
    term.keys("Enter")
    term.wait_for(WELCOME)

    # The window grows: the session passes SIGWINCH on, the kiosk draws at the new size.
    term.tmux("resize-window", "-t", "k", "-x", "100", "-y", "30")
    term.wait_until(lambda screen: "Enter: continue" in screen.splitlines()[29:30][0] if len(screen.splitlines()) >= 30 else False,
                    timeout=10, what="the keys line on the 30th row")

    term.signal(signal.SIGTERM)  # as systemd or sshd stop a session
    assert term.wait_exit() == 0
    wait_gone(fork)
    assert not term.alternate_screen()
    # The forkserver logs to the journal; its fork logs to the kiosk's log, never onto the screen.
    assert "signal received" not in term.screen() + term.scrollback()
    assert "signal received" in (host.config.parent / "kiosk.log").read_text()


def test_when_the_connection_goes_the_fork_goes_too(term: TmuxDriver, host: Host):
    session = term.start([PYTHON, "-m", "kiosk", "--config", str(host.config)])
    term.wait_for(WELCOME, timeout=15)
    fork = fork_serving(host, session)
    term.signal(signal.SIGHUP)  # sshd's hang-up
    term.wait_exit()
    wait_gone(fork)

    term2 = TmuxDriver()
    try:
        session = term2.start([PYTHON, "-m", "kiosk", "--config", str(host.config)])
        term2.wait_for(WELCOME, timeout=15)
        fork = fork_serving(host, session)
        os.kill(session, signal.SIGKILL)  # nothing is passed on: the fork notices by itself
        wait_gone(fork)
    finally:
        term2.close()


def test_without_a_forkserver_the_session_runs_the_kiosk_itself(term: TmuxDriver, host: Host):
    host.forkserver.stop()
    session = term.start([PYTHON, "-m", "kiosk", "--config", str(host.config)])
    term.wait_for(WELCOME, timeout=30)
    assert host.forkserver.process is not None and host.forkserver.process.poll() is not None
    unlock_carol(term)
    term.wait_for("is unlocked", timeout=15)
    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    assert session > 0


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_gets_no_fork(host: Host):
    nobody = pwd.getpwnam("nobody")
    os.chmod(host.forkserver.socket.parent, 0o711)
    os.chmod(host.forkserver.socket, 0o666)  # past the socket's mode: the peer check refuses

    def attach_as_nobody() -> str:
        from kiosk.attach import attach

        _, tty = pty.openpty()
        for fd in (0, 1, 2):
            os.dup2(tty, fd)
        return repr(attach([], {"KIOSK_KIOSK__FORKSERVER_SOCKET": str(host.forkserver.socket)}))

    assert as_user(nobody.pw_uid, nobody.pw_gid, attach_as_nobody) == "None"
    assert host.forkserver.forks() == {}
    assert "refused a session of uid" in host.forkserver.log.read_text()


def test_only_the_kiosk_itself_runs_as_a_fork(host: Host):
    """Its own user could run any command anyway; the forkserver still runs
    nothing but the kiosk (an admin command as a fork would be a surprise)."""
    import socket

    from kiosk.attach import encode_request

    master, tty = pty.openpty()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(host.forkserver.socket))
            request = encode_request(["--config", str(host.config), "store", "copy"], {}, "/", 0o077)
            socket.send_fds(sock, [request], [tty, tty, tty])
            assert sock.recv(64) == b""  # hung up on: no pid
    finally:
        os.close(master)
        os.close(tty)
    assert not [name for name in host.forkserver.forks().values() if name.startswith("kiosk@")]
    assert "only the kiosk itself runs as a fork" in host.forkserver.log.read_text()


def test_a_connection_that_says_nothing_holds_up_nobody(term: TmuxDriver, host: Host):
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(host.forkserver.socket))  # and never sends its request
        session = term.start([PYTHON, "-m", "kiosk", "--config", str(host.config)])
        term.wait_for(WELCOME, timeout=15)
        fork_serving(host, session)  # served by a fork, not left to run on its own

