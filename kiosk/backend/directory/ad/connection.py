"""Domain controllers, TLS, failover and binds.

* One long-lived connection bound as the kiosk's service account serves every
  search and write. It is a plain SYNC connection behind a lock: requests on
  one socket are serialised anyway, and the lock also guards its replacement
  when it dropped or sat idle too long (an idle TCP session may have been
  dropped silently by a firewall; a request on it would then wait for the
  whole receive timeout).
* A person's password is checked by a simple bind on a fresh, short-lived
  connection, never by rebinding the service connection.
* Every connection: ``get_info=NONE`` (no schema/DSA read before the bind),
  TCP_NODELAY before the TLS handshake (without it the first request after the
  handshake waits ~40 ms for a delayed ACK), a verified certificate, and a
  check that the socket really is encrypted before a password is sent.
* Domain controllers are tried in the configured order on connection errors,
  starting from the last one that worked.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SIMPLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPCommunicationError,
    LDAPExceptionError,
    LDAPSocketSendError,
    LDAPStartTLSError,
)

from kiosk.backend.directory.ad.codec import Entry, entries_of
from kiosk.backend.directory.ad.constants import LOGGER
from kiosk.backend.directory.ad.results import (
    BUSY,
    INVALID_CREDENTIALS,
    NO_SUCH_OBJECT,
    SIZE_LIMIT_EXCEEDED,
    SUCCESS,
    UNAVAILABLE,
    ad_data_code,
    raise_for_result,
    result_detail,
)
from kiosk.backend.errors import (
    DirectoryError,
    DirectoryTLSError,
    DirectoryUnavailable,
    InsecureConnection,
    ServiceAccountError,
)
from kiosk.config import DirectorySettings

log = logging.getLogger(LOGGER)

T = TypeVar("T")

#: How long the service connection may sit idle before it is replaced rather
#: than trusted (AD's MaxConnIdleTime is 900 s; NAT and firewalls may be shorter).
SERVICE_IDLE_SECONDS = 120.0
#: After AD refused the service account's password (49), no new bind is tried
#: for this long: each refusal counts toward that account's lockout.
SERVICE_RETRY_SECONDS = 600.0


# --- endpoints and TLS ------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One domain controller URL: ``ldaps://host[:636]`` or ``ldap://host[:389]`` (StartTLS)."""

    url: str
    host: str
    port: int
    implicit_tls: bool

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("ldaps", "ldap") or not parts.hostname:
            raise DirectoryError(f"{url!r} is not an ldaps:// or ldap:// URL with a host")
        implicit = scheme == "ldaps"
        return cls(url=url, host=parts.hostname, port=parts.port or (636 if implicit else 389), implicit_tls=implicit)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates are always verified, names included: ``ca_file`` or the system store."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def tls_server_name(endpoint: Endpoint, configured: str | None) -> str:
    """The name checked in the DC's certificate: ``tls_server_name`` when set
    (needed when the URL holds an IP address), else the URL's host."""
    return configured or endpoint.host


def set_nodelay(sock: socket.socket | None) -> None:
    # Nagle + the server's delayed ACK cost ~40 ms on the first request after
    # the TLS handshake (measured, see shared notes). Best effort: a closed or
    # odd socket just keeps the default.
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class VerifiedTls(Tls):
    """ldap3's Tls with one prebuilt SSLContext, stdlib hostname checking and
    TCP_NODELAY set before the handshake.

    ldap3 builds a context (re-reading the CA bundle) per connection and then
    matches names itself; the stdlib context does both once, the standard way.
    """

    def __init__(self, context: ssl.SSLContext, server_name: str, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file, valid_names=[server_name])
        self._context = context
        self._server_name = server_name

    def wrap_socket(self, connection: Connection, do_handshake: bool = False) -> None:
        set_nodelay(connection.socket)
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self._server_name,
        )


class Unreachable(Exception):
    """A DC could not be used (socket, TLS, timeout); the next one is tried."""

    def __init__(self, url: str, detail: str, *, tls: bool) -> None:
        super().__init__(detail)
        self.url = url
        self.detail = detail
        self.tls = tls


def is_tls_failure(exc: BaseException) -> bool:
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError, LDAPCertificateError, LDAPStartTLSError)):
        return True
    text = str(exc).lower()
    if "timed out" in text:
        return False  # a slow or silent DC (e.g. the handshake timed out), not a certificate problem
    return "ssl" in text and ("wrap" in text or "certificate" in text)


def close_quietly(connection: Connection) -> None:
    # Unbind sends one last PDU; on a socket that already broke that may fail,
    # and there is nothing left to clean up then.
    try:
        connection.unbind()
    except Exception:  # noqa: BLE001
        pass


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --- one request ----------------------------------------------------------------


def search(
    connection: Connection,
    base: str,
    search_filter: str,
    attributes: Sequence[str],
    *,
    scope: str = SUBTREE,
    size_limit: int = 0,
) -> list[Entry]:
    """One search; the entries found. A base search of a missing entry is no
    error (no entries); other refusals raise the mapped typed error."""
    connection.search(base, search_filter, search_scope=scope, attributes=list(attributes), size_limit=size_limit)
    result = connection.result or {}
    code = result.get("result")
    # 4 sizeLimitExceeded still carries the entries found so far.
    if code not in (SUCCESS, SIZE_LIMIT_EXCEEDED) and not (code == NO_SUCH_OBJECT and scope == BASE):
        raise_for_result(result_detail("search", f"{base} {search_filter}", result), result)
    return entries_of(connection.response)


# --- the connections of one directory ----------------------------------------------


class Connections:
    """The DCs of one directory: failover, person binds, and the shared
    service-account connection."""

    def __init__(
        self,
        settings: DirectorySettings,
        *,
        service_idle_seconds: float = SERVICE_IDLE_SECONDS,
        service_retry_seconds: float = SERVICE_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.urls:
            raise DirectoryError("no domain controller URL configured (directory.urls)")
        self.settings = settings
        self.endpoints = [Endpoint.parse(url) for url in settings.urls]
        self._receive_timeout = settings.timeout_seconds
        self._connect_timeout = settings.connect_timeout_seconds
        ca_file = str(settings.ca_file) if settings.ca_file else None
        self._context = tls_context(ca_file)
        self._tls = {
            e.url: VerifiedTls(self._context, tls_server_name(e, settings.tls_server_name), ca_file)
            for e in self.endpoints
        }
        #: Index of the endpoint that last worked: the first one tried next.
        self.last_good = 0
        self._service: Connection | None = None
        self._service_used_at = 0.0
        self._service_lock = threading.RLock()
        self._service_idle = service_idle_seconds
        self._service_retry = service_retry_seconds
        #: (monotonic time until which no bind is tried, the refusal's detail)
        self._service_refused: tuple[float, str] | None = None
        self._clock = clock

    @property
    def service(self) -> Connection | None:
        """The service connection as it stands (None: not open)."""
        return self._service

    def _url_order(self) -> list[int]:
        last = self.last_good
        return [last] + [i for i in range(len(self.endpoints)) if i != last]

    def _open_on(self, endpoint: Endpoint, user: str | None = None, password: str | None = None) -> Connection:
        """An open, encrypted, not yet bound connection to one DC, or Unreachable.
        ``user``/``password`` are only stored for the bind that follows."""
        server = Server(
            endpoint.host,
            port=endpoint.port,
            use_ssl=endpoint.implicit_tls,
            tls=self._tls[endpoint.url],
            get_info=NONE,
            connect_timeout=self._connect_timeout,
        )
        connection = Connection(
            server,
            user=user,
            password=password,
            authentication=SIMPLE,
            client_strategy=SYNC,
            auto_bind=False,
            auto_referrals=False,  # a referral chase to another DC would bypass our TLS settings
            raise_exceptions=False,
            read_only=False,
            # ldap3 packs this into SO_RCVTIMEO as an integer: a float breaks it.
            receive_timeout=max(1, math.ceil(self._receive_timeout)),
        )
        try:
            connection.open(read_server_info=False)
            set_nodelay(connection.socket)
            if not endpoint.implicit_tls:
                connection.start_tls(read_server_info=False)
        except (LDAPExceptionError, OSError) as exc:
            close_quietly(connection)
            raise Unreachable(endpoint.url, describe(exc), tls=is_tls_failure(exc)) from exc
        if not isinstance(connection.socket, ssl.SSLSocket):
            close_quietly(connection)
            raise InsecureConnection(f"{endpoint.url}: the connection is not encrypted; refusing to send a password")
        return connection

    def bound(self, user: str, password: str) -> tuple[Connection, dict[str, Any]]:
        """A connection after a simple bind as ``user``, trying DCs in order.

        Returns the connection and the bind result, success or not (the
        caller maps failures). Raises DirectoryUnavailable / DirectoryTLSError
        when no DC could be reached.
        """
        failures: list[Unreachable] = []
        for index in self._url_order():
            endpoint = self.endpoints[index]
            try:
                connection = self._open_on(endpoint, user, password)
            except Unreachable as failure:
                log.warning("domain controller %s unusable: %s", failure.url, failure.detail)
                failures.append(failure)
                continue
            try:
                connection.bind(read_server_info=False)
            except (LDAPCommunicationError, OSError) as exc:
                close_quietly(connection)
                lost = Unreachable(endpoint.url, f"bind: {describe(exc)}", tls=False)
                log.warning("domain controller %s failed during bind: %s", endpoint.url, lost.detail)
                failures.append(lost)
                continue
            result = dict(connection.result or {})
            if result.get("result") in (BUSY, UNAVAILABLE):
                close_quietly(connection)
                failures.append(Unreachable(endpoint.url, result_detail("bind", endpoint.url, result), tls=False))
                continue
            self.last_good = index
            return connection, result
        details = "; ".join(f"{f.url}: {f.detail}" for f in failures)
        if any(f.tls for f in failures):
            raise DirectoryTLSError(f"TLS failed with the domain controller(s): {details}")
        raise DirectoryUnavailable(f"no domain controller answered: {details}")

    def _service_connection(self) -> Connection:
        """The service-account connection, (re)established when needed. Hold the lock."""
        connection = self._service
        now = self._clock()
        if connection is not None and (connection.closed or now - self._service_used_at > self._service_idle):
            self._drop_service()
            connection = None
        if connection is None:
            user = self.settings.service_user
            secret = self.settings.service_password
            password = secret.get_secret_value() if secret is not None else ""
            if not user or not password:
                raise ServiceAccountError("no service account configured (directory.service_user / service password)")
            if self._service_refused is not None and now < self._service_refused[0]:
                # Every refused bind counts toward the service account's own
                # lockout: a kiosk retrying on each visitor would lock it out.
                raise ServiceAccountError(f"{self._service_refused[1]} (not retried before the back-off ends)")
            connection, result = self.bound(user, password)
            if result.get("result") != SUCCESS:
                close_quietly(connection)
                detail = result_detail("service account bind as", user, result)
                code = ad_data_code(result.get("message", ""))
                if code:
                    detail += f" (AD data {code})"
                if result.get("result") == INVALID_CREDENTIALS:
                    self._service_refused = (now + self._service_retry, detail)
                raise ServiceAccountError(detail)
            self._service_refused = None
            self._service = connection
        self._service_used_at = now
        return connection

    def _drop_service(self) -> None:
        if self._service is not None:
            close_quietly(self._service)
        self._service = None

    def run(self, operation: Callable[[Connection], T], *, retry: bool = True) -> T:
        """Run ``operation`` on the service connection; if the connection broke,
        reconnect (any DC) and, when ``retry``, run it once more.

        ``retry=False`` is for writes that must not run twice (a password
        change): those are repeated only when the request was never sent.
        """
        with self._service_lock:
            for attempt in (1, 2):
                connection = self._service_connection()
                try:
                    return operation(connection)
                except LDAPCommunicationError as exc:
                    self._drop_service()
                    may_repeat = retry or isinstance(exc, LDAPSocketSendError)
                    if attempt == 2 or not may_repeat:
                        raise DirectoryUnavailable(f"connection to the directory lost: {describe(exc)}") from exc
                    log.info("service connection lost (%s); reconnecting", describe(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    def rebind(self) -> None:
        """Bind as the service account now (a fresh connection), even during a
        back-off: an administrator asked. ServiceAccountError."""
        with self._service_lock:
            self._service_refused = None
            self._drop_service()
            self._service_connection()

    def close(self) -> None:
        with self._service_lock:
            self._drop_service()
