"""``kiosk backend``: one privileged process per host that serves every session.

It alone holds the service account's secret, the enrollment store, the
directory connections (one service bind, reused by every session), argon2,
the throttle, the audit log and the notices. It validates the configuration
once, builds one ``Backend`` and the use cases on it, and serves the
sessions' calls (``kiosk.backend.protocol``) on a Unix socket:

- each peer is known by ``SO_PEERCRED``, never by what it says: the kiosk's
  session user (``backend.session_user``) gets self-service and activation;
  a member of ``backend.helpdesk_group`` gets the helpdesk as the operator
  its uid names (``pwd.getpwuid``), who must still prove themselves to the
  directory (``Helpdesk.authorize``); anybody else is refused;
- calls run in a bounded thread pool; answer verifications (argon2id, 64 MiB
  each) wait for one of ``backend.max_verifications`` slots, so memory stays
  bounded however many people press Enter at once;
- at most ``backend.max_sessions`` sessions at once; one more is told, in
  plain words, to try again later;
- a connection's visits are its own, and are ended when it closes.

The socket comes from systemd (socket activation: ``LISTEN_FDS``) or is made
at ``--socket``/``backend.socket`` with mode 0666: connecting proves nothing,
the peer check decides (a group-only socket would also shut out the helpdesk
staff, who log in as themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import pwd
import signal
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.backend import protocol
from kiosk.backend.errors import ConfigError, KioskError, NotAllowed
from kiosk.backend.protocol import BackendBusy, BackendUnavailable, ProtocolError, VisitHandle
from kiosk.unix_socket import listening_socket, peer_credentials, systemd_socket

if TYPE_CHECKING:
    from kiosk.backend.activation import Activation
    from kiosk.backend.directory.base import Directory
    from kiosk.backend.helpdesk import Helpdesk
    from kiosk.backend.service import SelfService
    from kiosk.backend.usecase import Visit
    from kiosk.config import Settings

log = logging.getLogger("kiosk.backend.server")

#: How long a session may take to say hello.
HELLO_SECONDS = 10.0
#: Visits one connection may hold at once (a kiosk holds one): the oldest is forgotten past it.
MAX_VISITS = 16
#: Threads beside the verification slots: directory and store calls, throttle delays.
SPARE_THREADS = 32

#: The calls each face answers: the methods of its port (``kiosk.backend.ports``),
#: nothing else of the use case (no ``issue_code``, no ``close``).
CALLS: dict[str, frozenset[str]] = {
    "self_service": frozenset({
        "begin", "end", "prove_password", "check_answer", "enroll", "challenge", "verify", "unlock",
        "password_rules", "reset_password", "requires_code", "verify_with_code", "totp_begin",
        "totp_confirm", "check_current_password", "change_password", "factor_choices", "send_code",
        "verify_factors",
    }),
    "activation": frozenset({"begin", "end", "proof_labels", "prove", "check_answer", "password_rules", "complete"}),
    "helpdesk": frozenset({
        "authorize", "search", "card", "caller_questions", "verify_caller", "unlock", "reset", "revoke",
        "clear_attempts", "caller_code", "verify_caller_code",
    }),
}
#: Calls that verify or hash answers (argon2id): they wait for a verification slot.
COSTLY: frozenset[str] = frozenset({
    "self_service.enroll", "self_service.verify", "self_service.verify_with_code", "self_service.totp_confirm",
    "self_service.verify_factors",
    "activation.complete", "helpdesk.verify_caller", "helpdesk.reset",
})
#: Actions whose second factor the welcome screen may ask about before any visit.
CODE_ACTIONS = ("unlock", "reset", "enroll", "change", "activate")


@dataclass(frozen=True)
class Peer:
    """Who is at the other end, as the kernel says (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int

    @property
    def name(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return f"uid {self.uid}"

    def in_group(self, group: str) -> bool:
        try:
            entry = pwd.getpwuid(self.uid)
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            return False
        return gid == entry.pw_gid or gid in os.getgrouplist(entry.pw_name, entry.pw_gid)


def peer_of(sock: socket.socket) -> Peer:
    return Peer(*peer_credentials(sock))


class Faces:
    """The one backend of this process and the use cases on it."""

    def __init__(self, settings: Settings, *, directory: Directory | None = None) -> None:
        from kiosk.backend.activation import Activation
        from kiosk.backend.wiring import build_service

        self.settings = settings
        self.service: SelfService = build_service(settings, directory=directory)
        self.activation: Activation | None = (
            Activation(settings, self.service.backend) if settings.features.activate else None
        )
        rules = settings.backend
        self.session_uid: int | None
        try:
            self.session_uid = pwd.getpwnam(rules.session_user).pw_uid
        except KeyError:
            log.warning("backend.session_user %r is no user here: no self-service", rules.session_user)
            self.session_uid = None

    def allowed(self, peer: Peer) -> tuple[str, ...]:
        """The faces this peer may use."""
        if self.session_uid is not None and peer.uid == self.session_uid:
            return ("self_service", "activation")
        group = self.settings.backend.helpdesk_group
        if (not group or peer.in_group(group)) and peer.uid != os.getuid():
            return ("helpdesk",)
        return ()

    def helpdesk(self, operator: str, terminal: str) -> Helpdesk:
        from kiosk.backend.helpdesk import Helpdesk

        return Helpdesk(
            self.settings, self.service.backend, verification=self.service, operator=operator, terminal=terminal
        )

    def close(self) -> None:
        self.service.close()


@dataclass(eq=False)
class Session:
    """One connection: its peer, its faces, its visits."""

    peer: Peer
    faces: dict[str, Any] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    count: int = 0

    def handle(self, visit: Visit) -> VisitHandle:
        for known_id, known in self.visits.items():
            if known is visit:
                return VisitHandle(known_id, visit.reference)
        if len(self.visits) >= MAX_VISITS:
            del self.visits[next(iter(self.visits))]
        self.count += 1
        visit_id = f"v{self.count}"
        self.visits[visit_id] = visit
        return VisitHandle(visit_id, visit.reference)

    def visit(self, visit_id: str, reference: str) -> Visit:
        visit = self.visits.get(visit_id)
        if visit is None or visit.reference != reference:
            raise BackendUnavailable("a visit this connection does not know (the backend restarted?)")
        return visit


class BackendServer:
    def __init__(self, settings: Settings, *, directory: Directory | None = None) -> None:
        self.settings = settings
        self.faces = Faces(settings, directory=directory)
        rules = settings.backend
        self._verifications = rules.verifications
        self._max_sessions = rules.max_sessions
        self._pool = ThreadPoolExecutor(
            max_workers=self._verifications + SPARE_THREADS, thread_name_prefix="kiosk-call"
        )
        self._slots: asyncio.Semaphore | None = None
        self.sessions: set[Session] = set()

    # --- serving ---------------------------------------------------------------------------

    async def serve(self, sock: socket.socket, *, stop: asyncio.Event | None = None) -> None:
        """Serve on a listening socket until ``stop`` is set (or SIGTERM/SIGINT)."""
        self._slots = asyncio.Semaphore(self._verifications)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):  # not the main thread
                loop.add_signal_handler(number, stop.set)
        server = await asyncio.start_unix_server(self._connection, sock=sock)
        log.info(
            "kiosk backend serving (%d verifications at once, %d sessions at most)",
            self._verifications, self._max_sessions,
        )
        async with server:
            await stop.wait()
        log.info("kiosk backend stopping")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.faces.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            peer = peer_of(sock)
        except OSError:
            writer.close()
            return
        session = Session(peer)
        try:
            if await self._hello(session, reader, writer):
                self.sessions.add(session)
                await self._calls(session, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass  # the session went away (or never spoke): its visits end below
        except ProtocolError as exc:
            log.warning("session pid %d (%s): %s", peer.pid, peer.name, exc)
        finally:
            self.sessions.discard(session)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if session.visits:
                await asyncio.get_running_loop().run_in_executor(self._pool, self._end_visits, session)

    async def _hello(self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        hello = await asyncio.wait_for(_read(reader), HELLO_SECONDS)
        peer = session.peer
        if hello.get("hello") != "kiosk" or hello.get("version") != protocol.VERSION:
            await _write(writer, {"error": protocol.encode_error(
                BackendUnavailable(f"protocol version {hello.get('version')!r}, not {protocol.VERSION}"))})
            return False
        wanted = hello.get("faces")
        allowed = self.faces.allowed(peer)
        if not isinstance(wanted, list) or not wanted or not set(wanted) <= set(allowed):
            log.warning("refused pid %d uid %d (%s): asked for %s, may use %s",
                        peer.pid, peer.uid, peer.name, wanted, list(allowed) or "nothing")
            await _write(writer, {"error": protocol.encode_error(NotAllowed("this user may not use the backend"))})
            return False
        if len(self.sessions) >= self._max_sessions:
            log.warning("refused pid %d (%s): %d sessions already", peer.pid, peer.name, len(self.sessions))
            await _write(writer, {"error": protocol.encode_error(BackendBusy("too many sessions"))})
            return False
        terminal = str(hello.get("terminal") or "")
        shown: dict[str, Any] = {}
        for face in wanted:
            shown[face] = self._open_face(session, face, terminal)
        await _write(writer, {"hello": "kiosk-backend", "version": protocol.VERSION, "faces": protocol.encode(shown)})
        log.info("session pid %d (%s): %s", peer.pid, peer.name, ", ".join(wanted))
        return True

    def _open_face(self, session: Session, face: str, terminal: str) -> dict[str, Any] | None:
        """Give the session a face; what its first screens show of it."""
        faces = self.faces
        if face == "self_service":
            service = faces.service
            session.faces[face] = service
            return {
                "default_domain": service.default_domain,
                "features": service.features,
                "questionnaire": service.questionnaire,
                "is_demo": service.is_demo,
                "demo_hint": service.demo_hint,
                "requires_code": {action: service.requires_code(action) for action in CODE_ACTIONS},
            }
        if face == "activation":
            if faces.activation is None:
                return None
            session.faces[face] = faces.activation
            return {"questionnaire": faces.activation.questionnaire, "limit_seconds": faces.activation.limit_seconds}
        # The operator is whom the kernel says, never what the session claims.
        operator = session.peer.name
        helpdesk = faces.helpdesk(operator, terminal or "helpdesk")
        session.faces[face] = helpdesk
        return {"operator": operator, "needs_operator_password": helpdesk.needs_operator_password}

    async def _calls(self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        assert self._slots is not None
        while True:
            request = await _read(reader)
            name = request.get("call")
            try:
                call = self._bind(session, name, request.get("args"), request.get("kwargs"))
                if name in COSTLY:
                    async with self._slots:
                        result = await loop.run_in_executor(self._pool, call)
                else:
                    result = await loop.run_in_executor(self._pool, call)
                reply = {"result": protocol.encode(_handles(session, result))}
            except KioskError as error:
                reply = {"error": protocol.encode_error(error)}
            except ProtocolError as error:
                log.warning("session pid %d: bad call %r: %s", session.peer.pid, name, error)
                reply = {"error": protocol.encode_error(BackendUnavailable(f"bad call: {error}"))}
            except Exception:  # noqa: BLE001 - the frames to our log, plain words to the person
                from kiosk.backend.audit import new_reference

                reference = new_reference()
                log.exception("reference %s: %s failed", reference, name)
                reply = {"error": protocol.encode_error(BackendUnavailable(f"backend fault, reference {reference}"))}
            await _write(writer, reply)

    def _bind(self, session: Session, name: Any, args: Any, kwargs: Any) -> Callable[[], Any]:
        """The use case's method for ``name`` with its arguments decoded."""
        if not isinstance(name, str) or "." not in name:
            raise ProtocolError("no call named")
        face, method = name.split(".", 1)
        target = session.faces.get(face)
        if target is None or method not in CALLS.get(face, ()):
            raise ProtocolError(f"{name} is not offered to this session")
        args = protocol.decode(args if args is not None else [], visit=session.visit)
        kwargs = protocol.decode(kwargs, visit=session.visit) if kwargs is not None else {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ProtocolError("malformed arguments")
        function = getattr(target, method)
        if method == "end":
            return lambda: self._end(session, function, args)
        return lambda: function(*args, **kwargs)

    @staticmethod
    def _end(session: Session, end: Callable[[Any], None], args: Sequence[Any]) -> None:
        (visit,) = args
        for visit_id, known in list(session.visits.items()):
            if known is visit:
                del session.visits[visit_id]
        end(visit)

    @staticmethod
    def _end_visits(session: Session) -> None:
        """A connection closed: its visits end (as the session would have ended them)."""
        from kiosk.backend.activation import ActivationVisit

        for visit in list(session.visits.values()):
            face = "activation" if isinstance(visit, ActivationVisit) else "self_service"
            target = session.faces.get(face)
            if target is not None and hasattr(target, "end"):
                with contextlib.suppress(Exception):
                    target.end(visit)
        session.visits.clear()


def _handles(session: Session, value: Any) -> Any:
    """A result with each Visit in it as its handle (a visit never crosses)."""
    from kiosk.backend.usecase import Visit

    if isinstance(value, Visit):
        return session.handle(value)
    if isinstance(value, tuple) and any(isinstance(item, Visit) for item in value):
        return tuple(_handles(session, item) for item in value)
    return value


async def _read(reader: asyncio.StreamReader) -> dict[str, Any]:
    header = await reader.readexactly(protocol.HEADER.size)
    body = await reader.readexactly(protocol.read_length(header))
    return protocol.parse(body)


async def _write(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(protocol.frame(message))
    await writer.drain()


# --- the socket ----------------------------------------------------------------------------


def run(settings: Settings, *, socket_path: Path | None = None) -> int:
    """``kiosk backend``: build the backend, then serve until SIGTERM."""
    sock = systemd_socket()
    if sock is None:
        path = socket_path or (Path(settings.backend.socket) if settings.backend.socket else None)
        if path is None:
            raise ConfigError("no socket: pass --socket PATH, set backend.socket, or start it from systemd")
        # Mode 0666: anybody may connect, the peer check (SO_PEERCRED) decides what they get.
        sock = listening_socket(path, mode=0o666)
    else:
        path = None
    try:
        server = BackendServer(settings)
        asyncio.run(server.serve(sock))
    finally:
        sock.close()
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
    return 0
