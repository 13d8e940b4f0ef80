"""Active Directory over LDAPS or StartTLS, with ldap3.

Only this module imports ldap3 (the factory imports it lazily, so the demo and
the first frame don't pay ~90 ms for it).

Connections:

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

Values are read from ``raw_attributes`` and decoded here: without a schema
ldap3's own formatting varies by attribute, and the raw bytes are exact.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from ldap3 import (
    BASE,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    SIMPLE,
    SUBTREE,
    SYNC,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPCommunicationError,
    LDAPExceptionError,
    LDAPInvalidFilterError,
    LDAPSocketSendError,
    LDAPStartTLSError,
)
from ldap3.utils.conv import escape_bytes, escape_filter_chars

from kiosk.backend.errors import (
    AccountDisabled,
    AccountExpired,
    AccountLocked,
    AccountNotFound,
    ConfigError,
    DirectoryError,
    DirectoryTLSError,
    DirectoryUnavailable,
    InsecureConnection,
    InsufficientRights,
    InvalidCredentials,
    PasswordExpired,
    PasswordMustChange,
    PasswordRejected,
    ServiceAccountError,
)
from kiosk.backend.model import Account, Identity, PasswordPolicy
from kiosk.config import DirectorySettings, DomainSettings

log = logging.getLogger("kiosk.directory.ad")

T = TypeVar("T")

#: Read into ``Account.attributes`` unless the caller names others.
DEFAULT_EXTRA_ATTRIBUTES: tuple[str, ...] = ("employeeID", "department", "mail")

#: LDAP_SERVER_POLICY_HINTS_OID (Windows 2012+): a reset with it enforces
#: password history like a change does. Value: SEQUENCE { INTEGER 1 } in BER.
POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"

#: LDAP_MATCHING_RULE_IN_CHAIN: transitive (nested) group membership.
IN_CHAIN = "1.2.840.113556.1.4.1941"

UF_ACCOUNTDISABLE = 0x0002
UF_LOCKOUT = 0x0010  # only meaningful in msDS-User-Account-Control-Computed
UF_DONT_EXPIRE_PASSWD = 0x10000

#: FILETIME "never" (accountExpires, msDS-UserPasswordExpiryTimeComputed) and
#: the interval "forever" (maxPwdAge, lockoutDuration).
_NEVER = 0x7FFFFFFFFFFFFFFF
_FOREVER_INTERVAL = -0x8000000000000000
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

_ACCOUNT_ATTRIBUTES = (
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",  # constructed: must be asked for by name
    "msDS-UserPasswordExpiryTimeComputed",  # constructed
    "lockoutTime",
    "badPwdCount",
    "pwdLastSet",
    "accountExpires",
    "adminCount",
    "lastLogonTimestamp",
    "lastLogon",
    "primaryGroupID",
    "memberOf",  # direct groups: the start of the nested-group walk
)

#: Every person-user object (not computers, not contacts).
_USER_FILTER = "(&(objectCategory=person)(objectClass=user))"
#: What the helpdesk look-up matches by prefix.
_SEARCH_ATTRIBUTES = ("sAMAccountName", "userPrincipalName", "displayName", "givenName", "sn")
#: Simple paged results control (RFC 2696).
_PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
PAGE_SIZE = 500

_DOMAIN_POLICY_ATTRIBUTES = (
    "minPwdLength",
    "pwdProperties",
    "pwdHistoryLength",
    "minPwdAge",
    "maxPwdAge",
    "lockoutThreshold",
    "lockoutDuration",
)

_PSO_ATTRIBUTES = (
    "msDS-MinimumPasswordLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
    "msDS-LockoutThreshold",
    "msDS-LockoutDuration",
)

# LDAP result codes used below (RFC 4511, plus AD's use of them).
_SUCCESS = 0
_OPERATIONS_ERROR = 1
_STRONGER_AUTH_REQUIRED = 8
_UNAVAILABLE_CRITICAL_EXTENSION = 12
_CONSTRAINT_VIOLATION = 19
_NO_SUCH_OBJECT = 32
_INVALID_CREDENTIALS = 49
_INSUFFICIENT_ACCESS = 50
_BUSY = 51
_UNAVAILABLE = 52
_UNWILLING_TO_PERFORM = 53

#: ``data XXX`` in AD's bind failure message (``AcceptSecurityContext error, data 775``).
_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]+)\b")

_USER_BIND_ERRORS: dict[str, type[DirectoryError]] = {
    "52e": InvalidCredentials,
    "775": AccountLocked,
    "533": AccountDisabled,
    "701": AccountExpired,
    "532": PasswordExpired,
    "773": PasswordMustChange,
}

#: Samba's 0000052D texts (AD itself says only 0000052D, so that is "unknown").
_REJECTION_REASONS: tuple[tuple[str, str], ...] = (
    ("too short", "too_short"),
    ("complexity", "not_complex"),
    ("already used", "in_history"),
    ("history", "in_history"),
    ("too young", "too_young"),
)

#: How long the service connection may sit idle before it is replaced rather
#: than trusted (AD's MaxConnIdleTime is 900 s; NAT and firewalls may be shorter).
SERVICE_IDLE_SECONDS = 120.0
_MAX_GROUP_DEPTH = 32  # nesting deeper than this is a loop or a mistake
_DN_FILTER_CHUNK = 64  # DNs per (|(distinguishedName=...)...) filter
POLICY_CACHE_SECONDS = 300.0
#: After AD refused the service account's password (49), no new bind is tried
#: for this long: each refusal counts toward that account's lockout.
SERVICE_RETRY_SECONDS = 600.0


def ad_data_code(message: str) -> str | None:
    """The ``data XXX`` code of an AD bind failure message, lower-cased."""
    match = _BIND_DATA.search(message or "")
    return match.group(1).lower() if match else None


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


def _set_nodelay(sock: socket.socket | None) -> None:
    # Nagle + the server's delayed ACK cost ~40 ms on the first request after
    # the TLS handshake (measured, see shared notes). Best effort: a closed or
    # odd socket just keeps the default.
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class _VerifiedTls(Tls):
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
        _set_nodelay(connection.socket)
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self._server_name,
        )


class _Unreachable(Exception):
    """A DC could not be used (socket, TLS, timeout); the next one is tried."""

    def __init__(self, url: str, detail: str, *, tls: bool) -> None:
        super().__init__(detail)
        self.url = url
        self.detail = detail
        self.tls = tls


def _is_tls_failure(exc: BaseException) -> bool:
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError, LDAPCertificateError, LDAPStartTLSError)):
        return True
    text = str(exc).lower()
    if "timed out" in text:
        return False  # a slow or silent DC (e.g. the handshake timed out), not a certificate problem
    return "ssl" in text and ("wrap" in text or "certificate" in text)


def _close_quietly(connection: Connection) -> None:
    # Unbind sends one last PDU; on a socket that already broke that may fail,
    # and there is nothing left to clean up then.
    try:
        connection.unbind()
    except Exception:  # noqa: BLE001
        pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --- value decoding ------------------------------------------------------------


class _Entry:
    """One search result entry: raw attribute values, looked up case-insensitively."""

    def __init__(self, dn: str, raw: Mapping[str, Sequence[bytes]]) -> None:
        self.dn = dn
        self._raw = {name.lower(): list(values) for name, values in raw.items()}

    def raw(self, name: str) -> bytes | None:
        values = self._raw.get(name.lower())
        return values[0] if values else None

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return value.decode("utf-8", "replace") if value is not None else default

    def texts(self, name: str) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self._raw.get(name.lower(), [])]

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        text = value.decode("ascii", "replace").strip()
        if text.upper() in ("TRUE", "FALSE"):
            return 1 if text.upper() == "TRUE" else 0
        try:
            return int(text)
        except ValueError:
            return default

    def has(self, name: str) -> bool:
        return bool(self._raw.get(name.lower()))


def filetime(value: int | None) -> datetime | None:
    """A FILETIME (100 ns since 1601, UTC) as a datetime; 0 and "never" are None."""
    if not value or value >= _NEVER or value < 0:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def interval_seconds(value: int | None) -> int | None:
    """A negative 100 ns interval (maxPwdAge, lockoutDuration) in seconds;
    None for "forever" (the most negative value) and for no value."""
    if value is None or value == _FOREVER_INTERVAL:
        return None
    return abs(value) // 10_000_000


def guid_string(raw: bytes) -> str:
    """objectGUID bytes (little-endian fields) as AD writes it: the canonical UUID string."""
    return str(uuid.UUID(bytes_le=raw))


def identity_filter(identity: Identity) -> str | None:
    """The search filter for what a person typed (UPN or sAMAccountName),
    the value escaped (RFC 4515); None when there is nothing to look up."""
    if identity.upn:
        match = f"(userPrincipalName={escape_filter_chars(identity.upn)})"
    elif identity.sam:
        match = f"(sAMAccountName={escape_filter_chars(identity.sam)})"
    else:
        return None
    return f"(&(objectCategory=person)(objectClass=user){match})"


def guid_filter_value(guid: str) -> str:
    return escape_bytes(uuid.UUID(guid).bytes_le)


def sibling_sid(sid: bytes, rid: int) -> bytes:
    """The SID in the same domain as ``sid`` with the last sub-authority ``rid``
    (a user's SID + primaryGroupID = the primary group's SID)."""
    return sid[:-4] + rid.to_bytes(4, "little")


def encode_password(password: str) -> bytes:
    """unicodePwd wants the password in double quotes, UTF-16-LE."""
    return f'"{password}"'.encode("utf-16-le")


def rejection_reason(message: str) -> str:
    lowered = message.lower()
    if "00000056" in lowered:
        return "wrong_old_password"
    for needle, reason in _REJECTION_REASONS:
        if needle in lowered:
            return reason
    return "unknown"


def _result_detail(operation: str, target: str, result: Mapping[str, Any] | None) -> str:
    result = result or {}
    code = result.get("result")
    description = result.get("description", "")
    message = (result.get("message") or "").strip()
    return f"{operation} {target}: LDAP {code} {description}" + (f": {message}" if message else "")


# --- the directory ---------------------------------------------------------------


class ActiveDirectory:
    """The ``Directory`` protocol for Active Directory (and Samba AD)."""

    is_demo = False

    def __init__(
        self,
        settings: DirectorySettings,
        *,
        extra_attributes: Iterable[str] = DEFAULT_EXTRA_ATTRIBUTES,
        include_primary_group: bool = True,
        nested_groups: Literal["walk", "chain"] = "walk",
        policy_cache_seconds: float = POLICY_CACHE_SECONDS,
        service_idle_seconds: float = SERVICE_IDLE_SECONDS,
        service_retry_seconds: float = SERVICE_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.urls:
            raise DirectoryError("no domain controller URL configured (directory.urls)")
        self.settings = settings
        self.endpoints = [Endpoint.parse(url) for url in settings.urls]
        self.extra_attributes = tuple(dict.fromkeys(extra_attributes))
        #: The chain rule does not see the primary group (Domain Users, or a
        #: privileged group someone made primary): it is looked up by SID.
        self.include_primary_group = include_primary_group
        #: "walk": follow memberOf level by level; "chain": one in-chain search.
        self.nested_groups = nested_groups
        domains = settings.domains
        names = ", ".join(d.dns for d in domains) or settings.urls[0]
        self.label = f"Active Directory ({names})"
        self._domains: dict[str, DomainSettings] = {d.netbios.upper(): d for d in domains}
        self._receive_timeout = settings.timeout_seconds
        self._connect_timeout = settings.connect_timeout_seconds
        ca_file = str(settings.ca_file) if settings.ca_file else None
        self._ca_file = ca_file
        self._context = tls_context(ca_file)
        self._tls = {
            e.url: _VerifiedTls(self._context, tls_server_name(e, settings.tls_server_name), ca_file)
            for e in self.endpoints
        }
        self._last_good = 0
        self._service: Connection | None = None
        self._service_used_at = 0.0
        self._service_lock = threading.RLock()
        self._service_idle = service_idle_seconds
        self._service_retry = service_retry_seconds
        #: (monotonic time until which no bind is tried, the refusal's detail)
        self._service_refused: tuple[float, str] | None = None
        self._clock = clock
        self._cache_seconds = policy_cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._cache_lock = threading.Lock()
        #: None = not known yet; False = a DC refused the control (then resets go without).
        self._policy_hints: bool | None = None if settings.use_policy_hints else False

    # --- connections -----------------------------------------------------------

    def _url_order(self) -> list[int]:
        last = self._last_good
        return [last] + [i for i in range(len(self.endpoints)) if i != last]

    def _open_on(self, endpoint: Endpoint, user: str | None = None, password: str | None = None) -> Connection:
        """An open, encrypted, not yet bound connection to one DC, or _Unreachable.
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
            _set_nodelay(connection.socket)
            if not endpoint.implicit_tls:
                connection.start_tls(read_server_info=False)
        except (LDAPExceptionError, OSError) as exc:
            _close_quietly(connection)
            raise _Unreachable(endpoint.url, _describe(exc), tls=_is_tls_failure(exc)) from exc
        if not isinstance(connection.socket, ssl.SSLSocket):
            _close_quietly(connection)
            raise InsecureConnection(f"{endpoint.url}: the connection is not encrypted; refusing to send a password")
        return connection

    def _bound(self, user: str, password: str) -> tuple[Connection, dict[str, Any]]:
        """A connection after a simple bind as ``user``, trying DCs in order.

        Returns the connection and the bind result, success or not (the
        caller maps failures). Raises DirectoryUnavailable / DirectoryTLSError
        when no DC could be reached.
        """
        failures: list[_Unreachable] = []
        for index in self._url_order():
            endpoint = self.endpoints[index]
            try:
                connection = self._open_on(endpoint, user, password)
            except _Unreachable as failure:
                log.warning("domain controller %s unusable: %s", failure.url, failure.detail)
                failures.append(failure)
                continue
            try:
                connection.bind(read_server_info=False)
            except (LDAPCommunicationError, OSError) as exc:
                _close_quietly(connection)
                failure = _Unreachable(endpoint.url, f"bind: {_describe(exc)}", tls=False)
                log.warning("domain controller %s failed during bind: %s", endpoint.url, failure.detail)
                failures.append(failure)
                continue
            result = dict(connection.result or {})
            if result.get("result") in (_BUSY, _UNAVAILABLE):
                _close_quietly(connection)
                failures.append(_Unreachable(endpoint.url, _result_detail("bind", endpoint.url, result), tls=False))
                continue
            self._last_good = index
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
            connection, result = self._bound(user, password)
            if result.get("result") != _SUCCESS:
                _close_quietly(connection)
                detail = _result_detail("service account bind as", user, result)
                code = ad_data_code(result.get("message", ""))
                if code:
                    detail += f" (AD data {code})"
                if result.get("result") == _INVALID_CREDENTIALS:
                    self._service_refused = (now + self._service_retry, detail)
                raise ServiceAccountError(detail)
            self._service_refused = None
            self._service = connection
        self._service_used_at = now
        return connection

    def _drop_service(self) -> None:
        if self._service is not None:
            _close_quietly(self._service)
        self._service = None

    def _with_service(self, operation: Callable[[Connection], T], *, retry: bool = True) -> T:
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
                        raise DirectoryUnavailable(f"connection to the directory lost: {_describe(exc)}") from exc
                    log.info("service connection lost (%s); reconnecting", _describe(exc))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- reading ---------------------------------------------------------------

    def _domain(self, netbios: str) -> DomainSettings | None:
        return self._domains.get(netbios.upper())

    def _domain_of_dn(self, dn: str) -> DomainSettings | None:
        key = _dn_key(dn)
        matches = [d for d in self._domains.values() if key.endswith(_dn_key(d.base_dn))]
        return max(matches, key=lambda d: len(d.base_dn), default=None)

    @staticmethod
    def _search(
        connection: Connection,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: str = SUBTREE,
        size_limit: int = 0,
    ) -> list[_Entry]:
        connection.search(base, search_filter, search_scope=scope, attributes=list(attributes), size_limit=size_limit)
        result = connection.result or {}
        code = result.get("result")
        # 4 sizeLimitExceeded still carries the entries found so far.
        if code not in (_SUCCESS, 4) and not (code == _NO_SUCH_OBJECT and scope == BASE):
            _raise_for_result(_result_detail("search", f"{base} {search_filter}", result), result)
        return [
            _Entry(item["dn"], item.get("raw_attributes") or {})
            for item in connection.response or []
            if item.get("type") == "searchResEntry"
        ]

    def find_account(self, identity: Identity) -> Account | None:
        domain = self._domain(identity.domain)
        if domain is None:
            return None
        search_filter = identity_filter(identity)
        if search_filter is None:
            return None
        return self._find_one(domain, search_filter)

    def refresh(self, account: Account) -> Account:
        domain = self._domain(account.domain) or self._domain_of_dn(account.dn)
        if domain is None:
            raise AccountNotFound(f"no configured domain holds {account.dn}")
        found = self._find_one(domain, f"(objectGUID={guid_filter_value(account.guid)})")
        if found is None:
            raise AccountNotFound(f"no account with objectGUID {account.guid} ({account.qualified_name})")
        return found

    def _find_one(self, domain: DomainSettings, search_filter: str) -> Account | None:
        attributes = _ACCOUNT_ATTRIBUTES + self.extra_attributes

        def read(connection: Connection) -> tuple[_Entry, frozenset[str]] | None:
            entries = self._search(connection, domain.base_dn, search_filter, attributes, size_limit=2)
            if len(entries) != 1:
                if len(entries) > 1:
                    log.warning("more than one account matches %s under %s", search_filter, domain.base_dn)
                return None
            entry = entries[0]
            return entry, self._groups(connection, domain, entry)

        found = self._with_service(read)
        if found is None:
            return None
        entry, groups = found
        return self._account(domain, entry, groups)

    def _groups(
        self,
        connection: Connection,
        domain: DomainSettings,
        entry: _Entry,
        parents: dict[str, list[str]] | None = None,
    ) -> frozenset[str]:
        """Every group the account is in, nested ones included, as lower-cased DNs.
        ``parents`` (group DN key -> its memberOf) is a cache a listing shares."""
        primary = self._primary_group_dn(connection, domain, entry) if self.include_primary_group else None
        if self.nested_groups == "chain":
            return self._groups_by_chain(connection, domain, entry.dn, primary)
        return self._groups_by_walk(
            connection, domain, entry.texts("memberOf") + ([primary] if primary else []), parents
        )

    def _groups_by_walk(
        self,
        connection: Connection,
        domain: DomainSettings,
        direct: list[str],
        parents: dict[str, list[str]] | None = None,
    ) -> frozenset[str]:
        # Follows memberOf upwards, one search per nesting level (usually 1-3).
        # Same answer as the in-chain rule, which on Samba 4.17 costs ~10 ms a
        # search against ~1 ms per level here (measured on the lab). A listing
        # passes ``parents`` so that each group is read once, not once per member.
        seen: set[str] = set()
        frontier = direct
        for _ in range(_MAX_GROUP_DEPTH):
            new = list({dn.lower(): dn for dn in frontier if dn.lower() not in seen}.values())
            if not new:
                break
            seen.update(dn.lower() for dn in new)
            frontier = []
            unknown = new
            if parents is not None:
                unknown = [dn for dn in new if _dn_key(dn) not in parents]
                for dn in new:
                    frontier.extend(parents.get(_dn_key(dn), ()))
            for start in range(0, len(unknown), _DN_FILTER_CHUNK):
                chunk = unknown[start : start + _DN_FILTER_CHUNK]
                wanted = "".join(f"(distinguishedName={escape_filter_chars(dn)})" for dn in chunk)
                found = self._search(connection, domain.base_dn, f"(|{wanted})", ["memberOf"])
                for group in found:
                    frontier.extend(group.texts("memberOf"))
                if parents is not None:
                    read = {_dn_key(group.dn): group.texts("memberOf") for group in found}
                    for dn in chunk:  # a DN outside the base DN has no parents we can see
                        parents[_dn_key(dn)] = read.get(_dn_key(dn), [])
        return frozenset(seen)

    def _groups_by_chain(
        self, connection: Connection, domain: DomainSettings, dn: str, primary: str | None
    ) -> frozenset[str]:
        # LDAP_MATCHING_RULE_IN_CHAIN: one search, the DC does the walk.
        members = [dn] + ([primary] if primary else [])
        chain = "".join(f"(member:{IN_CHAIN}:={escape_filter_chars(m)})" for m in members)
        if len(members) > 1:
            chain = f"(|{chain})"
        entries = self._search(connection, domain.base_dn, f"(&(objectClass=group){chain})", ["1.1"])
        groups = {e.dn.lower() for e in entries}
        if primary:
            groups.add(primary.lower())
        return frozenset(groups)

    def _primary_group_dn(self, connection: Connection, domain: DomainSettings, entry: _Entry) -> str | None:
        sid = entry.raw("objectSid")
        rid = entry.integer("primaryGroupID")
        if not sid or not rid or len(sid) < 12:
            return None
        group_sid = sibling_sid(sid, rid)
        key = ("primary-group", group_sid.hex())
        cached = self._cached(key)
        if cached is not None:
            return cached or None
        entries = self._search(connection, domain.base_dn, f"(objectSid={escape_bytes(group_sid)})", ["1.1"])
        dn = entries[0].dn if len(entries) == 1 else ""
        self._store(key, dn)
        return dn or None

    def _account(self, domain: DomainSettings, entry: _Entry, groups: frozenset[str]) -> Account:
        guid_raw = entry.raw("objectGUID")
        if not guid_raw or len(guid_raw) != 16:
            raise DirectoryError(f"{entry.dn} has no readable objectGUID (check the service account's read rights)")
        uac = entry.integer("userAccountControl", 0) or 0
        computed = entry.integer("msDS-User-Account-Control-Computed", 0) or 0
        # lockoutTime stays set after the lockout duration ran out (until the
        # next good bind): only the computed UF_LOCKOUT bit means "locked now".
        locked = bool(computed & UF_LOCKOUT)
        pwd_last_set = entry.integer("pwdLastSet")
        account_expires = filetime(entry.integer("accountExpires"))
        last_logon = max(entry.integer("lastLogonTimestamp", 0) or 0, entry.integer("lastLogon", 0) or 0)
        extras = {name: ", ".join(entry.texts(name)) for name in self.extra_attributes if entry.has(name)}
        return Account(
            guid=guid_string(guid_raw),
            dn=entry.text("distinguishedName") or entry.dn,
            sam=entry.text("sAMAccountName"),
            domain=domain.netbios,
            upn=entry.text("userPrincipalName") or None,
            display_name=entry.text("displayName"),
            given_name=entry.text("givenName"),
            surname=entry.text("sn"),
            enabled=not uac & UF_ACCOUNTDISABLE,
            locked=locked,
            locked_since=filetime(entry.integer("lockoutTime")) if locked else None,
            bad_password_count=entry.integer("badPwdCount", 0) or 0,
            password_last_set=filetime(pwd_last_set),
            password_expires=filetime(entry.integer("msDS-UserPasswordExpiryTimeComputed")),
            must_change_password=pwd_last_set == 0 and not uac & UF_DONT_EXPIRE_PASSWD,
            expired=account_expires is not None and account_expires <= datetime.now(UTC),
            admin_count=(entry.integer("adminCount", 0) or 0) > 0,
            groups=groups,
            # lastLogon is per DC (not replicated); lastLogonTimestamp lags by
            # up to 14 days. Both zero: this account has never logged on.
            never_logged_on=last_logon == 0,
            attributes=extras,
        )

    # --- listing and search ------------------------------------------------------

    def _pages(self, domain: DomainSettings, search_filter: str, attributes: Sequence[str]) -> Iterator[list[_Entry]]:
        """A subtree search under the domain's base DN, one page (PAGE_SIZE
        entries) at a time. The service lock is held per page, not between
        pages, so a long listing does not stop the kiosk's visitors."""
        cookie: bytes | None = None
        while True:

            def read(connection: Connection, cookie: bytes | None = cookie) -> tuple[list[_Entry], bytes | None]:
                connection.search(
                    domain.base_dn,
                    search_filter,
                    search_scope=SUBTREE,
                    attributes=list(attributes),
                    paged_size=PAGE_SIZE,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                if result.get("result") != _SUCCESS:
                    _raise_for_result(_result_detail("paged search", f"{domain.base_dn} {search_filter}", result), result)
                control = (result.get("controls") or {}).get(_PAGED_RESULTS_OID) or {}
                entries = [
                    _Entry(item["dn"], item.get("raw_attributes") or {})
                    for item in connection.response or []
                    if item.get("type") == "searchResEntry"
                ]
                return entries, (control.get("value") or {}).get("cookie") or None

            # A page cookie belongs to its connection: only the first page may
            # be repeated on a new one.
            entries, cookie = self._with_service(read, retry=cookie is None)
            yield entries
            if not cookie:
                return

    def search_accounts(self, text: str, *, limit: int = 50) -> list[Account]:
        text = text.strip()
        if not text or limit <= 0:
            return []
        value = escape_filter_chars(text)
        terms = "".join(f"({name}={value}*)" for name in _SEARCH_ATTRIBUTES)
        search_filter = f"(&{_USER_FILTER}(|{terms}))"
        attributes = _ACCOUNT_ATTRIBUTES + self.extra_attributes

        def key(item: tuple[DomainSettings, _Entry]) -> tuple[str, str]:
            return item[1].text("sAMAccountName").casefold(), item[0].netbios

        best: list[tuple[DomainSettings, _Entry]] = []
        for domain in self._domains.values():
            for entries in self._pages(domain, search_filter, attributes):
                # Keep only the first ``limit`` by name: a one-letter search in
                # a big domain must not hold every match in memory.
                best = heapq.nsmallest(limit, best + [(domain, e) for e in entries], key=key)
        parents: dict[str, list[str]] = {}
        return self._with_service(
            lambda connection: [
                self._account(domain, entry, self._groups(connection, domain, entry, parents)) for domain, entry in best
            ]
        )

    def accounts(self) -> Iterator[Account]:
        # One paged search per domain; group membership costs one search per
        # nesting level per account for groups not seen before (the walk shares
        # a cache across the listing), plus the primary-group look-up (cached per SID).
        attributes = _ACCOUNT_ATTRIBUTES + self.extra_attributes
        parents: dict[str, list[str]] = {}
        for domain in list(self._domains.values()):
            for entries in self._pages(domain, _USER_FILTER, attributes):
                yield from self._with_service(
                    lambda connection, entries=entries, domain=domain: [
                        self._account(domain, e, self._groups(connection, domain, e, parents)) for e in entries
                    ]
                )

    # --- attributes ----------------------------------------------------------------

    def read_attributes(self, account: Account, names: Sequence[str]) -> dict[str, list[str]]:
        names = list(dict.fromkeys(names))
        if not names:
            return {}

        def read(connection: Connection) -> list[_Entry]:
            return self._search(connection, account.dn, "(objectClass=*)", names, scope=BASE)

        entries = self._with_service(read)
        if not entries:
            raise AccountNotFound(f"{account.dn} is gone")
        return {name: entries[0].texts(name) for name in names if entries[0].has(name)}

    def update_attributes(self, account: Account, changes: Mapping[str, str | None]) -> None:
        if not changes:
            return
        # Replace with no value deletes, and is no error when there was none.
        modification = {
            name: [(MODIFY_REPLACE, [value] if value is not None else [])] for name, value in changes.items()
        }

        def write(connection: Connection) -> dict[str, Any]:
            connection.modify(account.dn, modification)
            return dict(connection.result or {})

        result = self._with_service(write)  # a replace is idempotent: safe to repeat
        if result.get("result") != _SUCCESS:
            names = ", ".join(changes)
            _raise_for_result(_result_detail(f"update of {names} on", account.dn, result), result)

    def matches(self, account: Account, ldap_filter: str) -> bool:
        def read(connection: Connection) -> list[_Entry]:
            return self._search(connection, account.dn, ldap_filter, ["1.1"], scope=BASE)

        try:
            return bool(self._with_service(read))
        except LDAPInvalidFilterError as exc:
            raise ConfigError(f"invalid LDAP filter {ldap_filter!r}: {exc}") from None

    # --- passwords ---------------------------------------------------------------

    def verify_password(self, account: Account, password: str) -> None:
        if not password:
            # An empty simple bind is an anonymous bind, which "succeeds".
            raise InvalidCredentials("empty password (not sent: it would be an anonymous bind)")
        connection, result = self._bound(account.dn, password)
        try:
            if result.get("result") == _SUCCESS:
                return
        finally:
            _close_quietly(connection)
        detail = _result_detail("bind as", account.dn, result)
        if result.get("result") == _INVALID_CREDENTIALS:
            error = _USER_BIND_ERRORS.get(ad_data_code(result.get("message", "")) or "", InvalidCredentials)
            raise error(detail)
        _raise_for_result(detail, result)

    def unlock(self, account: Account) -> None:
        def write(connection: Connection) -> dict[str, Any]:
            connection.modify(account.dn, {"lockoutTime": [(MODIFY_REPLACE, [0])]})
            return dict(connection.result or {})

        result = self._with_service(write)
        if result.get("result") != _SUCCESS:
            _raise_for_result(_result_detail("unlock (lockoutTime=0)", account.dn, result), result)

    def reset_password(self, account: Account, new_password: str, *, must_change: bool = False) -> None:
        value = encode_password(new_password)

        def write(connection: Connection) -> dict[str, Any]:
            changes: dict[str, Any] = {"unicodePwd": [(MODIFY_REPLACE, [value])]}
            if must_change:
                # One modify: the password never stands without must-change.
                changes["pwdLastSet"] = [(MODIFY_REPLACE, [0])]
            if self._policy_hints is not False:
                connection.modify(account.dn, changes, controls=[(POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)])
                result = dict(connection.result or {})
                if result.get("result") != _UNAVAILABLE_CRITICAL_EXTENSION:
                    if result.get("result") == _SUCCESS:
                        self._policy_hints = True
                    return result
                # This DC does not know the control: history cannot be enforced
                # on resets here. Say so once and stop sending it.
                log.warning(
                    "the DC does not support the password policy hints control (LDAP %s %s); "
                    "resets will not enforce password history",
                    result.get("result"),
                    result.get("description", ""),
                )
                self._policy_hints = False
            connection.modify(account.dn, changes)
            return dict(connection.result or {})

        # A replace is idempotent: repeating it after a dropped connection is safe.
        result = self._with_service(write)
        if result.get("result") != _SUCCESS:
            _raise_for_password_write(_result_detail("password reset of", account.dn, result), result)

    @property
    def policy_hints_supported(self) -> bool | None:
        """Whether the DC took the policy-hints control on a reset (None: not tried yet)."""
        return self._policy_hints

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        # The change operation (delete old + add new) is allowed to any
        # authenticated principal that knows the old password, so the service
        # connection does it; that also works for users who cannot bind
        # themselves (must change, expired password).
        if not old_password:
            raise PasswordRejected("wrong_old_password", f"change of {account.dn}: empty old password")
        old, new = encode_password(old_password), encode_password(new_password)

        def write(connection: Connection) -> dict[str, Any]:
            connection.modify(account.dn, {"unicodePwd": [(MODIFY_DELETE, [old]), (MODIFY_ADD, [new])]})
            return dict(connection.result or {})

        # Not idempotent: after a success, a repeat would fail as "wrong old password".
        result = self._with_service(write, retry=False)
        if result.get("result") != _SUCCESS:
            _raise_for_password_write(_result_detail("password change of", account.dn, result), result)

    # --- policy ------------------------------------------------------------------

    def password_policy(self, account: Account) -> PasswordPolicy:
        domain = self._domain(account.domain) or self._domain_of_dn(account.dn)
        if domain is None:
            raise AccountNotFound(f"no configured domain holds {account.dn}")

        def read(connection: Connection) -> PasswordPolicy:
            entries = self._search(connection, account.dn, "(objectClass=*)", ["msDS-ResultantPSO"], scope=BASE)
            if not entries:
                raise AccountNotFound(f"{account.dn} is gone")
            pso_dn = entries[0].text("msDS-ResultantPSO")
            if pso_dn:
                pso = self._pso_policy(connection, pso_dn)
                if pso is not None:
                    return pso
            return self._domain_policy(connection, domain)

        return self._with_service(read)

    def _domain_policy(self, connection: Connection, domain: DomainSettings) -> PasswordPolicy:
        key = ("domain-policy", domain.base_dn.lower())
        cached = self._cached(key)
        if cached is not None:
            return cached
        entries = self._search(connection, domain.base_dn, "(objectClass=*)", _DOMAIN_POLICY_ATTRIBUTES, scope=BASE)
        if not entries:
            raise DirectoryError(f"cannot read the password policy on {domain.base_dn}")
        entry = entries[0]
        policy = PasswordPolicy(
            min_length=entry.integer("minPwdLength", 0) or 0,
            complexity=bool((entry.integer("pwdProperties", 0) or 0) & 1),
            history_length=entry.integer("pwdHistoryLength", 0) or 0,
            min_age_seconds=interval_seconds(entry.integer("minPwdAge")) or 0,
            max_age_seconds=interval_seconds(entry.integer("maxPwdAge")) or None,
            lockout_threshold=entry.integer("lockoutThreshold", 0) or 0,
            # "forever" (until an administrator unlocks) is 0, as in the GPO editor.
            lockout_duration_seconds=interval_seconds(entry.integer("lockoutDuration")) or 0,
            source="domain",
        )
        self._store(key, policy)
        return policy

    def _pso_policy(self, connection: Connection, pso_dn: str) -> PasswordPolicy | None:
        key = ("pso", pso_dn.lower())
        cached = self._cached(key)
        if cached is not None:
            return cached
        entries = self._search(connection, pso_dn, "(objectClass=*)", _PSO_ATTRIBUTES, scope=BASE)
        if not entries or not entries[0].has("msDS-MinimumPasswordLength"):
            # By default only Domain Admins may read PSOs: grant the service
            # account read access on the Password Settings Container.
            log.warning("cannot read the fine-grained policy %s; using the domain policy", pso_dn)
            return None
        entry = entries[0]
        policy = PasswordPolicy(
            min_length=entry.integer("msDS-MinimumPasswordLength", 0) or 0,
            complexity=bool(entry.integer("msDS-PasswordComplexityEnabled", 0)),
            history_length=entry.integer("msDS-PasswordHistoryLength", 0) or 0,
            min_age_seconds=interval_seconds(entry.integer("msDS-MinimumPasswordAge")) or 0,
            max_age_seconds=interval_seconds(entry.integer("msDS-MaximumPasswordAge")) or None,
            lockout_threshold=entry.integer("msDS-LockoutThreshold", 0) or 0,
            lockout_duration_seconds=interval_seconds(entry.integer("msDS-LockoutDuration")) or 0,
            source=pso_dn,
        )
        self._store(key, policy)
        return policy

    def _cached(self, key: tuple[str, str]) -> Any:
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is None or hit[0] < self._clock():
                return None
            return hit[1]

    def _store(self, key: tuple[str, str], value: Any) -> None:
        with self._cache_lock:
            self._cache[key] = (self._clock() + self._cache_seconds, value)

    # --- checks (kiosk check) -------------------------------------------------------

    def check_service_bind(self) -> None:
        """Bind as the service account now (a fresh connection), even during a
        back-off: an administrator asked. ServiceAccountError."""
        with self._service_lock:
            self._service_refused = None
            self._drop_service()
            self._service_connection()

    def check_base_dn(self, domain: DomainSettings) -> None:
        def read(connection: Connection) -> None:
            entries = self._search(connection, domain.base_dn, "(objectClass=*)", ["1.1"], scope=BASE)
            if not entries:
                raise DirectoryError(f"{domain.base_dn} does not exist or cannot be read")

        self._with_service(read)

    def check_domain_policy(self, domain: DomainSettings) -> PasswordPolicy:
        with self._cache_lock:
            self._cache.pop(("domain-policy", domain.base_dn.lower()), None)
        return self._with_service(lambda connection: self._domain_policy(connection, domain))

    def writable_attributes(self, account: Account) -> frozenset[str]:
        """Attributes of ``account`` the service account may write
        (allowedAttributesEffective), lower-cased: a rights check that changes nothing."""

        def read(connection: Connection) -> frozenset[str]:
            entries = self._search(connection, account.dn, "(objectClass=*)", ["allowedAttributesEffective"], scope=BASE)
            return frozenset(v.lower() for v in entries[0].texts("allowedAttributesEffective")) if entries else frozenset()

        return self._with_service(read)

    def close(self) -> None:
        with self._service_lock:
            self._drop_service()



# === probes (kiosk check) ==========================================================
# Read-only questions ``kiosk check`` asks a domain controller, as the service
# account. Kept in one section on purpose: it is meant to become its own module
# (``directory/ad/probe.py``) without touching the adapter above. The check
# logic uses only what is public here; the adapter's privates are used only
# inside this section.

#: Well-known RIDs of privileged domain groups (and the built-in Administrator).
PRIVILEGED_DOMAIN_RIDS: dict[int, str] = {
    500: "Administrator",
    512: "Domain Admins",
    516: "Domain Controllers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    520: "Group Policy Creator Owners",
    526: "Key Admins",
    527: "Enterprise Key Admins",
}
#: Privileged BUILTIN groups (S-1-5-32-RID).
PRIVILEGED_BUILTIN_RIDS: dict[int, str] = {
    544: "Administrators",
    548: "Account Operators",
    549: "Server Operators",
    550: "Print Operators",
    551: "Backup Operators",
}

#: Where fine-grained password policies (PSOs) live, below the domain's naming context.
PASSWORD_SETTINGS_CONTAINER = "CN=Password Settings Container,CN=System"
#: A DN that does not exist: the policy-hints probe modifies it, so nothing is ever written.
_HINTS_PROBE_RDN = "CN=kiosk-check-policy-hints-probe"
_LEVEL = "LEVEL"  # ldap3's one-level scope


def sid_string(raw: bytes) -> str:
    """A binary SID (objectSid, tokenGroups) as S-1-5-21-...; "" when malformed."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return ""
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
    return "S-1-" + "-".join(str(v) for v in [authority, *subs])


def privileged_sid_name(sid: str) -> str | None:
    """The name of a well-known privileged group (or account) this SID is, by SID only."""
    parts = sid.split("-")
    if len(parts) == 5 and parts[:4] == ["S", "1", "5", "32"]:
        return PRIVILEGED_BUILTIN_RIDS.get(int(parts[4]))
    if len(parts) == 8 and parts[:4] == ["S", "1", "5", "21"]:
        return PRIVILEGED_DOMAIN_RIDS.get(int(parts[7]))
    return None


@dataclass(frozen=True)
class RootDse:
    default_naming_context: str
    naming_contexts: tuple[str, ...]
    supported_controls: frozenset[str]


@dataclass(frozen=True)
class DomainFacts:
    """What the DC says about the domain a configured base DN lies in."""

    naming_context: str  # "" when the base DN is in none of the DC's naming contexts
    netbios: str  # "" when unreadable
    dns: str
    upn_suffixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceAccountFacts:
    dn: str
    sid: str
    #: Every security group in the account's token (nested and primary included), as SIDs.
    token_sids: tuple[str, ...]

    @property
    def privileged(self) -> list[str]:
        """Names of the privileged groups (by well-known SID) the account is in."""
        names = [privileged_sid_name(s) for s in (self.sid, *self.token_sids)]
        return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class PasswordSettingsFacts:
    container_dn: str
    #: The container itself could be read by the service account.
    container_readable: bool
    #: PSOs whose settings the service account can read.
    readable: tuple[str, ...]
    #: PSOs known to exist (linked from an account or group, or named by an
    #: account's msDS-ResultantPSO) whose settings the service account cannot read.
    unreadable: tuple[str, ...]


@dataclass(frozen=True)
class HintsProbe:
    """Whether a reset can carry the policy-hints control (password history on resets)."""

    #: True: a DC took it; False: refused (or use_policy_hints is off); None: unknown.
    supported: bool | None
    #: The DC lists the control in its rootDSE supportedControl.
    advertised: bool
    #: How it is known: "config", "reset" (a real reset this process made), "probe".
    source: str
    detail: str = ""


class ActiveDirectoryProbe:
    """Read-only probes for ``kiosk check``, over an ``ActiveDirectory``'s service connection."""

    def __init__(self, directory: ActiveDirectory) -> None:
        self.directory = directory

    def _read(self, operation: Callable[[Connection], T]) -> T:
        return self.directory._with_service(operation)

    def _base(self, dn: str, attributes: Sequence[str]) -> _Entry | None:
        def read(connection: Connection) -> _Entry | None:
            connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=list(attributes))
            result = connection.result or {}
            if result.get("result") not in (_SUCCESS, _NO_SUCH_OBJECT, 10):  # 10: a referral elsewhere
                _raise_for_result(_result_detail("search", dn, result), result)
            for item in connection.response or []:
                if item.get("type") == "searchResEntry":
                    return _Entry(item["dn"], item.get("raw_attributes") or {})
            return None

        return self._read(read)

    def root_dse(self) -> RootDse:
        entry = self._base("", ["defaultNamingContext", "namingContexts", "supportedControl"])
        if entry is None:
            return RootDse("", (), frozenset())
        return RootDse(
            entry.text("defaultNamingContext"),
            tuple(entry.texts("namingContexts")),
            frozenset(entry.texts("supportedControl")),
        )

    def entry(self, dn: str, attributes: Sequence[str] = ("objectClass",)) -> dict[str, list[str]] | None:
        """The entry's attributes (names lower-cased), or None when it does not
        exist or the service account cannot see it."""
        found = self._base(dn, attributes)
        if found is None:
            return None
        return {name.lower(): found.texts(name) for name in attributes if found.has(name)}

    def domain_facts(self, domain: DomainSettings) -> DomainFacts:
        """The naming context holding ``domain.base_dn`` and that domain's real
        NetBIOS and DNS names (its crossRef in CN=Partitions)."""
        root = self.root_dse()
        key = _dn_key(domain.base_dn)
        contexts = [nc for nc in root.naming_contexts if key == _dn_key(nc) or key.endswith("," + _dn_key(nc))]
        if not contexts:
            return DomainFacts("", "", "")
        context = max(contexts, key=len)
        configuration = next((nc for nc in root.naming_contexts if nc.lower().startswith("cn=configuration,")), "")
        if not configuration:
            return DomainFacts(context, "", "")
        partitions = "CN=Partitions," + configuration

        def read(connection: Connection) -> tuple[list[_Entry], list[_Entry]]:
            refs = self.directory._search(
                connection, partitions, f"(&(objectClass=crossRef)(nCName={escape_filter_chars(context)}))",
                ["nETBIOSName", "dnsRoot"], scope=_LEVEL,
            )
            return refs, self.directory._search(connection, partitions, "(objectClass=*)", ["uPNSuffixes"], scope=BASE)

        refs, container = self._read(read)
        suffixes = tuple(container[0].texts("uPNSuffixes")) if container else ()
        if not refs:
            return DomainFacts(context, "", "", suffixes)
        return DomainFacts(context, refs[0].text("nETBIOSName").upper(), refs[0].text("dnsRoot").lower(), suffixes)

    def users_named(self, domain: DomainSettings, sam: str) -> list[str]:
        """DNs of the user objects with this sAMAccountName in the domain."""
        search_filter = f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(sam)}))"
        return self._read(
            lambda c: [e.dn for e in self.directory._search(c, domain.base_dn, search_filter, ["1.1"], size_limit=2)]
        )

    def accounts_under(self, base_dn: str, limit: int) -> tuple[list[Account], bool]:
        """Up to ``limit`` person accounts under ``base_dn`` (groups read as the
        kiosk reads them), and whether there were more."""
        directory = self.directory
        domain = directory._domain_of_dn(base_dn)
        if domain is None:
            return [], False
        attributes = _ACCOUNT_ATTRIBUTES + directory.extra_attributes
        parents: dict[str, list[str]] = {}

        def read(connection: Connection) -> tuple[list[Account], bool]:
            connection.search(base_dn, _USER_FILTER, search_scope=SUBTREE, attributes=list(attributes), size_limit=limit)
            result = connection.result or {}
            if result.get("result") not in (_SUCCESS, 4, _NO_SUCH_OBJECT):
                _raise_for_result(_result_detail("search", f"{base_dn} {_USER_FILTER}", result), result)
            entries = [
                _Entry(item["dn"], item.get("raw_attributes") or {})
                for item in connection.response or []
                if item.get("type") == "searchResEntry"
            ]
            accounts = [directory._account(domain, e, directory._groups(connection, domain, e, parents)) for e in entries]
            return accounts, result.get("result") == 4

        return self._read(read)

    def service_account(self) -> ServiceAccountFacts | None:
        """The service account's entry, SID and token groups (tokenGroups on its
        own entry: nested and primary groups included, decided by SID). None
        when its entry cannot be found from directory.service_user."""
        directory = self.directory
        user = directory.settings.service_user.strip()
        dn = ""
        if "=" in user and "," in user:
            dn = user
        else:
            if "\\" in user:
                prefix, _, sam = user.partition("\\")
                domains = [d for d in directory._domains.values() if d.netbios == prefix.upper()] or list(directory._domains.values())
                search_filter = f"(sAMAccountName={escape_filter_chars(sam)})"
            elif "@" in user:
                domains = list(directory._domains.values())
                search_filter = f"(userPrincipalName={escape_filter_chars(user)})"
            else:
                domains = list(directory._domains.values())
                search_filter = f"(sAMAccountName={escape_filter_chars(user)})"
            for domain in domains:
                found = self._read(
                    lambda c, d=domain: self.directory._search(c, d.base_dn, search_filter, ["1.1"], size_limit=2)
                )
                if len(found) == 1:
                    dn = found[0].dn
                    break
        if not dn:
            return None
        entry = self._base(dn, ["objectSid", "tokenGroups"])
        if entry is None:
            return None
        sid = sid_string(entry.raw("objectSid") or b"")
        tokens = tuple(s for s in (sid_string(v) for v in entry._raw.get("tokengroups", [])) if s)
        return ServiceAccountFacts(dn=entry.dn, sid=sid, token_sids=tokens)

    def password_settings(self, domain: DomainSettings, accounts: Iterable[Account] = ()) -> PasswordSettingsFacts:
        """The PSOs of the domain as the service account sees them. A PSO it may
        not read is listed without attributes (Samba) or not at all; it is still
        found through what points at it and is readable by default:
        msDS-PSOApplied on accounts and groups, msDS-ResultantPSO of ``accounts``."""
        context = self.domain_facts(domain).naming_context or domain.base_dn
        container_dn = f"{PASSWORD_SETTINGS_CONTAINER},{context}"
        container = self._base(container_dn, ["objectClass"])

        def listed(connection: Connection) -> list[_Entry]:
            if container is None:
                return []
            return self.directory._search(
                connection, container_dn, "(objectClass=msDS-PasswordSettings)", ["msDS-MinimumPasswordLength"], scope=_LEVEL
            )

        readable: dict[str, str] = {}
        # Without read access a PSO is still listed (Samba 4.17: its DN, no attributes).
        referenced: dict[str, str] = {}
        for pso in self._read(listed):
            (readable if pso.has("msDS-MinimumPasswordLength") else referenced)[_dn_key(pso.dn)] = pso.dn

        def applied(connection: Connection) -> list[_Entry]:
            return self.directory._search(connection, context, "(msDS-PSOApplied=*)", ["msDS-PSOApplied"])

        for holder in self._read(applied):
            for dn in holder.texts("msDS-PSOApplied"):
                referenced.setdefault(_dn_key(dn), dn)
        for account in accounts:
            found = self._base(account.dn, ["msDS-ResultantPSO"])
            dn = found.text("msDS-ResultantPSO") if found is not None else ""
            if dn:
                referenced.setdefault(_dn_key(dn), dn)
        unreadable = []
        for key, dn in referenced.items():
            if key in readable:
                continue
            pso = self._base(dn, ["msDS-MinimumPasswordLength"])
            if pso is not None and pso.has("msDS-MinimumPasswordLength"):
                readable[key] = dn
            else:
                unreadable.append(dn)
        return PasswordSettingsFacts(container_dn, container is not None, tuple(readable.values()), tuple(unreadable))

    def policy_hints(self) -> HintsProbe:
        """Can resets carry the policy-hints control (history enforced on
        resets)? What the adapter already learned from a real reset wins;
        otherwise a harmless probe: the control, critical, on a modify of a DN
        that does not exist. A DC that does not know it refuses the control
        (12) before looking for the entry; one that does answers 32."""
        directory = self.directory
        advertised = POLICY_HINTS_OID in self.root_dse().supported_controls
        if not directory.settings.use_policy_hints:
            return HintsProbe(False, advertised, "config", "directory.use_policy_hints is false")
        known = directory.policy_hints_supported
        if known is not None:
            return HintsProbe(known, advertised, "reset")
        base = next(iter(directory._domains.values())).base_dn if directory._domains else self.root_dse().default_naming_context

        def probe(connection: Connection) -> dict[str, Any]:
            connection.modify(
                f"{_HINTS_PROBE_RDN},{base}",
                {"description": [(MODIFY_REPLACE, ["kiosk check"])]},
                controls=[(POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)],
            )
            return dict(connection.result or {})

        result = self._read(probe)
        code = result.get("result")
        detail = f"LDAP {code} {result.get('description', '')}".strip()
        if code == _UNAVAILABLE_CRITICAL_EXTENSION:
            directory._policy_hints = False  # what a refused reset would have taught it
            return HintsProbe(False, advertised, "probe", detail)
        if code in (_NO_SUCH_OBJECT, _INSUFFICIENT_ACCESS, _SUCCESS):
            return HintsProbe(True, advertised, "probe", detail)
        return HintsProbe(None, advertised, "probe", detail)


# === end of probes =================================================================


def _dn_key(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


def _raise_for_result(detail: str, result: Mapping[str, Any]) -> None:
    code = result.get("result")
    if code == _INSUFFICIENT_ACCESS:
        raise InsufficientRights(detail)
    if code == _NO_SUCH_OBJECT:
        raise AccountNotFound(detail)
    if code in (_BUSY, _UNAVAILABLE):
        raise DirectoryUnavailable(detail)
    if code == _STRONGER_AUTH_REQUIRED:
        raise InsecureConnection(detail)
    raise DirectoryError(detail)


def _raise_for_password_write(detail: str, result: Mapping[str, Any]) -> None:
    code = result.get("result")
    message = result.get("message") or ""
    if "00000775" in message:
        raise AccountLocked(detail)
    if code in (_CONSTRAINT_VIOLATION, _UNWILLING_TO_PERFORM) or "0000052d" in message.lower() or "00000056" in message:
        raise PasswordRejected(rejection_reason(message), detail)
    if code == _OPERATIONS_ERROR and "00002020" in message:
        raise ServiceAccountError(detail)  # the connection is not authenticated
    _raise_for_result(detail, result)
