"""Which terminal this is: the key for per-terminal throttling and the audit log."""

from __future__ import annotations

import os
from collections.abc import Mapping


def terminal_name(configured: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The configured id, else ``ssh:<client address>``, else the tty, else "console".

    Thin clients often share one address, so a kiosk id in the config is the
    most useful key; over SSH the client's address is the best we know."""
    if configured:
        return configured
    environ = os.environ if environ is None else environ
    client = environ.get("SSH_CLIENT", "").split(" ")[0]
    if client:
        return f"ssh:{client}"
    try:
        return os.ttyname(0)
    except OSError:
        return "console"
