"""``kiosk forkserver``: the kiosk's code loaded once per host, one fork per session.

Every kiosk session used to pay for its own Python start, the imports of
Textual and the kiosk (most of its start-up CPU) and its own copy of all that
memory. The forkserver (``kiosk.forkserver_socket``; systemd starts it on the
first connection, ``deploy/systemd/kiosk-forkserver.*``) runs as the kiosk's
user, loads the session's modules once, then waits. A session
(``kiosk.attach``, as ``python -m kiosk`` starts) sends its terminal; the
forkserver forks, and the child runs ``kiosk [--config PATH]`` on that
terminal, with the session's arguments, environment, directory and umask,
exactly as the session would have. The children share the loaded code's
memory (copy-on-write; ``gc.freeze`` keeps the collector from touching it).

What it does not change: a session holds no secret (that is the backend's,
``kiosk backend``), and every child runs as the same user the sessions run as
(the peer check refuses any other uid), so a child can do nothing its session
could not. What it does change, said in README: the children share one
address-space layout and one string-hash seed (they are forks), and they run
in the forkserver's cgroup, not the SSH session's (its unit bounds them all).

The forkserver must stay single-threaded (fork copies one thread): it
accepts, checks the peer, forks, and goes back to accepting; the child reads
the request. A child that
fails says nothing and the session runs the kiosk itself (``attach`` returns
None); the forkserver going away does not stop the children already running.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kiosk.attach import EXIT, LENGTH, MAX_REQUEST, PID, is_kiosk_command
from kiosk.unix_socket import listening_socket, peer_credentials, systemd_socket

log = logging.getLogger("kiosk.forkserver")


def run(socket_path: Path | None, *, preload: Callable[[], None], session: Callable[[list[str]], int]) -> int:
    """``preload()`` (what a session loads), then fork a session per connection
    until SIGTERM; each child runs ``session(argv)`` (``kiosk.cli.main``)."""
    sock = systemd_socket()
    made = None
    if sock is None:
        if socket_path is None:
            from kiosk.backend.errors import ConfigError

            raise ConfigError("no socket: pass --socket PATH, set kiosk.forkserver_socket, or start it from systemd")
        sock = made = listening_socket(socket_path, mode=0o600)  # only this user
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()  # what is loaded stays shared with every child
    log.info("serving kiosk sessions on %s", socket_path or "the socket systemd passed")
    try:
        while True:
            try:
                conn, _ = sock.accept()
            except InterruptedError:
                continue
            with conn:
                _serve_one(sock, conn, session)
    except _Stopped:
        return 0
    finally:
        sock.close()
        if made is not None and socket_path is not None:
            with contextlib.suppress(OSError):
                socket_path.unlink()


class _Stopped(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _serve_one(listener: socket.socket, conn: socket.socket, session: Callable[[list[str]], int]) -> None:
    """One connection: check the peer, then fork at once. The child reads
    the request: a slow or broken peer holds up its own child, never the
    next session."""
    try:
        session_pid, uid, _ = peer_credentials(conn)
        if uid != os.getuid():
            log.warning("refused a session of uid %s (only uid %s may start here)", uid, os.getuid())
            return
        pid = os.fork()
    except OSError as exc:
        log.warning("a session could not be started here (%s): it runs on its own", exc)
        return
    if pid != 0:
        return
    status = 1
    try:  # the child: nothing may go back up into the accept loop
        listener.close()
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        try:
            conn.settimeout(5.0)
            request, fds = _read_request(conn)
            if not is_kiosk_command(request["argv"]):
                for fd in fds:
                    os.close(fd)
                raise ValueError("only the kiosk itself runs as a fork")
        except (OSError, ValueError) as exc:
            log.warning("a session could not be started here (%s): it runs on its own", exc)
        else:
            status = _child(conn, fds, request, session_pid, session)
    except BaseException:
        log.exception("the forked session failed")  # into the kiosk's log, if it set one up
    os._exit(status)


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a session must send its three terminal descriptors")
    try:
        while len(data) < LENGTH.size:
            data += _more(conn)
        (length,) = LENGTH.unpack_from(data)
        if length > MAX_REQUEST:
            raise ValueError("request too long")
        while len(data) < LENGTH.size + length:
            data += _more(conn)
        request = json.loads(data[LENGTH.size : LENGTH.size + length])
        if not (
            isinstance(request, dict)
            and isinstance(request.get("argv"), list)
            and all(isinstance(arg, str) for arg in request["argv"])
            and isinstance(request.get("env"), dict)
        ):
            raise ValueError("the request is not a session's")
        return request, list(fds)
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        raise


def _more(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    if not chunk:
        raise ValueError("the session hung up")
    return chunk


def _child(
    conn: socket.socket,
    fds: Sequence[int],
    request: dict[str, Any],
    session_pid: int,
    session: Callable[[list[str]], int],
) -> int:
    """In the forked child: become the session, run the kiosk, say how it ended."""
    # The forkserver's log handlers write to the journal's stream, which is
    # about to be the person's terminal: the kiosk sets up its own log file.
    logging.getLogger().handlers.clear()
    os.setsid()  # its own session: the forkserver's stop is not its stop
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    # The forkserver's streams were the journal's; a session's are its terminal.
    # (Textual's driver reads sys.__stdin__ and writes sys.__stderr__.)
    streams = (
        open(0, encoding="utf-8", closefd=False),  # noqa: SIM115
        open(1, "w", encoding="utf-8", closefd=False, buffering=1),  # noqa: SIM115
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1),  # noqa: SIM115
    )
    sys.stdin, sys.stdout, sys.stderr = streams
    for name, stream in zip(("__stdin__", "__stdout__", "__stderr__"), streams):
        setattr(sys, name, stream)
    os.chdir(str(request.get("cwd") or "/"))
    os.umask(int(request.get("umask", 0o077)))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    argv = [str(arg) for arg in request.get("argv") or []]
    sys.argv = ["kiosk", *argv]
    _name_after(session_pid)
    conn.settimeout(None)
    conn.sendall(PID + str(os.getpid()).encode() + b"\n")
    ending = threading.Event()
    threading.Thread(target=_hang_up_with, args=(conn, ending), daemon=True, name="session-watch").start()
    status = session(argv)
    ending.set()
    with contextlib.suppress(OSError):
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(EXIT + str(status).encode() + b"\n")
    return status


def _name_after(session_pid: int) -> None:
    """``kiosk@<pid>`` in ps and /proc/PID/comm: which session this child serves
    (bench/capacity.py counts the child's CPU and memory to that session)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{os.getpid()}/comm").write_text(f"kiosk@{session_pid}"[:15])


def _hang_up_with(conn: socket.socket, ending: threading.Event) -> None:
    """The session's process went away (killed, its SSH gone): this child
    hangs up too, as a session whose terminal went away does (it wipes)."""
    with contextlib.suppress(OSError):
        while conn.recv(64):
            pass
    if not ending.is_set():
        os.kill(os.getpid(), signal.SIGHUP)
