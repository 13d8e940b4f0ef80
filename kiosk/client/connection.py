"""One session's connection to the backend (``kiosk backend``), over its Unix socket.

Blocking and thread-safe: the app's workers call through it one at a time
(a lock). It connects when first used, says hello (the protocol's version and
the faces it wants), and then sends one request per call and waits for its
answer. If the backend goes away, the call in flight raises
``BackendUnavailable`` (plain words for the person, like a directory that
went away) and the connection is dropped; the next call connects afresh, with
a new ``generation``: visits begun before it are gone (their handles say so).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Sequence
from typing import Any

from kiosk.backend import protocol
from kiosk.backend.protocol import BackendUnavailable, ProtocolError, VisitHandle

log = logging.getLogger("kiosk.client")

#: The longest one call may take (a throttle's delay plus a queue for a verification slot).
CALL_SECONDS = 120.0
CONNECT_SECONDS = 10.0
#: The hello's answer: a backend systemd starts on this very connection builds itself first.
HELLO_SECONDS = 60.0


class BackendConnection:
    def __init__(self, path: str, faces: Sequence[str], terminal: str, *, call_seconds: float = CALL_SECONDS) -> None:
        self.path = path
        self.faces = tuple(faces)
        self.terminal = terminal
        self._call_seconds = call_seconds
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        #: How many times this connection was (re)opened; a visit's handle carries it.
        self.generation = 0
        #: What the backend said of each face at hello (``server._open_face``).
        self.shown: dict[str, Any] = {}

    def open(self) -> dict[str, Any]:
        """Connect now (if not connected); what the faces show."""
        with self._lock:
            self._ensure()
            return self.shown

    def close(self) -> None:
        with self._lock:
            self._drop()

    def current(self, visit: VisitHandle) -> bool:
        """Is ``visit`` from the connection as it is now?"""
        return visit.generation == self.generation and self._sock is not None

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``name`` ("face.method") on the backend; its result, or its error raised here."""
        with self._lock:
            for arg in args:
                if isinstance(arg, VisitHandle) and not self.current(arg):
                    raise BackendUnavailable("the backend restarted during this visit")
            self._ensure()
            assert self._sock is not None
            request: dict[str, Any] = {"call": name, "args": protocol.encode(list(args))}
            if kwargs:
                request["kwargs"] = protocol.encode(kwargs)
            try:
                self._send(request)
                reply = self._receive()
            except (OSError, ProtocolError) as exc:
                self._drop()
                raise BackendUnavailable(f"the backend went away during {name}: {exc}") from None
            generation = self.generation
        return self._answer(reply, generation)

    # --- the socket -----------------------------------------------------------------------

    def _ensure(self) -> None:
        """A live connection: a dropped or closed one is opened afresh."""
        if self._sock is not None and not self._alive(self._sock):
            log.info("the backend closed our connection; connecting again")
            self._drop()
        if self._sock is None:
            self._connect()

    @staticmethod
    def _alive(sock: socket.socket) -> bool:
        """Nothing is due between calls: readable now means closed (or broken)."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return True
            return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except OSError:
            return False

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_SECONDS)
        try:
            sock.connect(self.path)
            sock.settimeout(HELLO_SECONDS)
            self._sock = sock
            self._send({"hello": "kiosk", "version": protocol.VERSION, "faces": list(self.faces),
                        "terminal": self.terminal})
            reply = self._receive()
        except (OSError, ProtocolError) as exc:
            self._drop()
            sock.close()
            raise BackendUnavailable(f"cannot reach the backend at {self.path}: {exc}") from None
        if "error" in reply:
            self._drop()
            raise protocol.decode_error(reply["error"])
        if reply.get("hello") != "kiosk-backend" or reply.get("version") != protocol.VERSION:
            self._drop()
            raise BackendUnavailable(f"the backend speaks protocol {reply.get('version')!r}")
        self.generation += 1
        shown = protocol.decode(reply.get("faces"))
        self.shown = shown if isinstance(shown, dict) else {}
        sock.settimeout(self._call_seconds)

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, message: dict[str, Any]) -> None:
        assert self._sock is not None
        self._sock.sendall(protocol.frame(message))

    def _receive(self) -> dict[str, Any]:
        length = protocol.read_length(self._exactly(protocol.HEADER.size))
        return protocol.parse(self._exactly(length))

    def _exactly(self, count: int) -> bytes:
        assert self._sock is not None
        chunks: list[bytes] = []
        while count:
            chunk = self._sock.recv(min(count, 1 << 20))
            if not chunk:
                raise ConnectionResetError("the backend closed the connection")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _answer(reply: dict[str, Any], generation: int) -> Any:
        if "error" in reply:
            raise protocol.decode_error(reply["error"])
        try:
            return protocol.decode(reply.get("result"), visit=lambda i, r: VisitHandle(i, r, generation))
        except ProtocolError as exc:
            raise BackendUnavailable(f"a malformed answer from the backend: {exc}") from None
