"""A session's side of the privileged backend (``kiosk backend``).

With ``backend.socket`` set, a kiosk or helpdesk session is only the UI: its
flows call these faces, which implement the same ports the use cases do
(``kiosk.backend.ports``) over the backend's Unix socket
(``kiosk.backend.protocol``). Nothing here imports the use cases or the
adapters: no ldap3, argon2, sqlite3, psycopg or cryptography in a session
(pyproject's import contracts and tests/integration/test_backend_split.py).
"""

from __future__ import annotations

from kiosk.client.connection import BackendConnection
from kiosk.client.faces import RemoteActivation, RemoteHelpdesk, RemoteSelfService

__all__ = [
    "BackendConnection",
    "RemoteActivation",
    "RemoteHelpdesk",
    "RemoteSelfService",
    "connect_helpdesk",
    "connect_kiosk",
]


def connect_kiosk(path: str, terminal: str) -> tuple[RemoteSelfService, RemoteActivation | None]:
    """A kiosk session's faces on one connection (activation: None if switched off)."""
    connection = BackendConnection(path, ("self_service", "activation"), terminal)
    shown = connection.open()
    activation = RemoteActivation(connection) if shown.get("activation") else None
    return RemoteSelfService(connection), activation


def connect_helpdesk(path: str, terminal: str) -> RemoteHelpdesk:
    """A helpdesk session's face; the operator is this process's user (the backend asks the kernel)."""
    connection = BackendConnection(path, ("helpdesk",), terminal)
    connection.open()
    return RemoteHelpdesk(connection)
