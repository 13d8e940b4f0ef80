"""The listening Unix sockets of ``kiosk backend`` and ``kiosk forkserver``:
the one systemd hands a service it starts on a socket's first connection
(socket activation: ``LISTEN_PID``, ``LISTEN_FDS``, the socket at fd 3), or
one made at a path. Standard library only."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from collections.abc import Mapping
from pathlib import Path

SD_LISTEN_FDS_START = 3


def systemd_socket(environ: Mapping[str, str] = os.environ) -> socket.socket | None:
    """The listening Unix stream socket systemd passed, if any."""
    if environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    try:
        count = int(environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return None
    if count < 1:
        return None
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for any child
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise OSError("the socket systemd passed is not a Unix stream socket")
    return sock


def listening_socket(path: Path, *, mode: int) -> socket.socket:
    """A Unix socket at ``path``, made with ``mode`` (never more open, not
    even for a moment). A stale socket is replaced; any other file there is not."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise OSError(f"{path} exists and is not a socket")
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o777 & ~mode)
    try:
        sock.bind(str(path))
    finally:
        os.umask(previous)
    sock.listen(128)
    return sock


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """The connected peer's pid, uid and gid, from the kernel (SO_PEERCRED), never from what it says."""
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", data)
    return pid, uid, gid
