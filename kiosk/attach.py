"""A kiosk session started by the forkserver: this process only hands over its terminal.

A kiosk session costs its Python start, Textual's and the kiosk's imports and
the first frame, on a host that may start a hundred at nine o'clock. With
``kiosk.forkserver_socket`` set, ``python -m kiosk`` (what the launcher runs)
first tries ``kiosk forkserver`` (``kiosk.forkserver``): a process of the same
user that has all of that loaded and forks one child per session. This
module is that session's side, and it imports the standard library only (not
``kiosk.config``, whose schema alone costs more than the rest of this process):

1. read the one key from the configuration file (the same file, found the
   same way: ``--config``, ``$KIOSK_CONFIG``, ``/etc/kiosk/kiosk.toml``);
2. connect, and send the terminal (stdin, stdout, stderr, by ``SCM_RIGHTS``)
   with the arguments, the environment, the working directory and the umask;
3. wait: the child says its pid, then its exit status when the session ends;
   meanwhile the terminal's signals that reach this process (it is the one
   in the terminal's session: SIGWINCH, SIGHUP when SSH goes away, SIGTERM,
   SIGCONT) are passed on to the child.

No forkserver (not configured, not running, refusing, too slow to answer):
``attach`` returns None and the caller runs the kiosk itself, as before.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Mapping, Sequence

#: The forkserver's socket: ``forkserver_socket`` in ``[kiosk]``, or this variable.
SOCKET_KEY = "forkserver_socket"
SOCKET_VARIABLE = "KIOSK_KIOSK__FORKSERVER_SOCKET"
#: How long the forkserver may take to fork the session before it runs here instead.
ANSWER_SECONDS = 5.0
#: The request: a length (network order) and that much JSON, the three descriptors alongside.
LENGTH = struct.Struct("!I")
MAX_REQUEST = 1 << 20
#: The child's messages to the session: b"pid <n>", then b"exit <status>".
PID, EXIT = b"pid ", b"exit "
#: Signals the session passes on to its child.
FORWARDED = (signal.SIGWINCH, signal.SIGHUP, signal.SIGTERM, signal.SIGCONT)
#: Exit status when the child vanished without saying one (killed).
LOST = 1


def is_kiosk_command(argv: Sequence[str]) -> bool:
    """``kiosk [--config PATH]``: a kiosk session, the only command that runs
    as a fork (the forkserver refuses any other)."""
    args = list(argv)
    return (
        not args
        or (len(args) == 2 and args[0] == "--config" and not args[1].startswith("-"))
        or (len(args) == 1 and args[0].startswith("--config=") and len(args[0]) > len("--config="))
    )


def forkserver_socket(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The socket of the forkserver for ``kiosk [--config PATH]``; None for
    any other command, without the key, or with a file that does not read
    (the kiosk then names what is wrong with it itself)."""
    if not is_kiosk_command(argv):
        return None
    args = list(argv)
    if not args:
        path = environ.get("KIOSK_CONFIG") or "/etc/kiosk/kiosk.toml"
    else:
        path = args[1] if len(args) == 2 else args[0].removeprefix("--config=")
    if environ.get(SOCKET_VARIABLE):
        return environ[SOCKET_VARIABLE]
    import tomllib

    try:
        with open(path, "rb") as file:
            kiosk = tomllib.load(file).get("kiosk", {})
    except (OSError, ValueError):
        return None
    value = kiosk.get(SOCKET_KEY) if isinstance(kiosk, dict) else None
    return value if isinstance(value, str) and value else None


def encode_request(argv: Sequence[str], environ: Mapping[str, str], cwd: str, umask: int) -> bytes:
    body = json.dumps({"argv": list(argv), "env": dict(environ), "cwd": cwd, "umask": umask}).encode()
    return LENGTH.pack(len(body)) + body


def attach(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """Run this session in a child of the forkserver; its exit status, or
    None when there is no forkserver to run it (the caller runs it)."""
    path = forkserver_socket(argv, environ)
    if path is None or not (os.isatty(0) and os.isatty(1)):
        return None  # without a terminal the kiosk says so itself
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(ANSWER_SECONDS)
    try:
        sock.connect(path)
        umask = os.umask(0o077)
        os.umask(umask)
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = "/"
        socket.send_fds(sock, [encode_request(argv, environ, cwd, umask)], [0, 1, 2])
        first = sock.recv(64)
    except OSError:
        sock.close()
        return None
    if not first.startswith(PID):
        sock.close()
        return None  # refused (another user) or the child failed before it started
    line, _, rest = first.partition(b"\n")
    return _follow(sock, int(line[len(PID):]), rest)  # a quick child's status may have come with its pid


def _follow(sock: socket.socket, child: int, received: bytes) -> int:
    """Pass the terminal's signals on until the child says its status (or is gone)."""
    import termios

    try:
        terminal = termios.tcgetattr(0)
    except termios.error:
        terminal = None

    def forward(signum: int, frame: object) -> None:
        try:
            os.kill(child, signum)
        except OSError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    sock.settimeout(None)
    try:
        while chunk := sock.recv(64):
            received += chunk
    except OSError:
        pass
    finally:
        sock.close()
    for line in received.split(b"\n"):
        if line.startswith(EXIT):
            return int(line[len(EXIT):])
    # Killed before it could put the terminal back: do it here.
    if terminal is not None:
        try:
            termios.tcsetattr(0, termios.TCSANOW, terminal)
        except termios.error:
            pass
    print("\x1b[?1049l\x1b[?25h", end="", file=sys.stdout, flush=True)
    return LOST
