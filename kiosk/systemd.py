"""What systemd hands a service it starts on a socket's first connection
(socket activation: ``LISTEN_PID``, ``LISTEN_FDS``, the socket at fd 3), for
``kiosk backend`` and ``kiosk forkserver``. Standard library only."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

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
