"""The enrollment store in PostgreSQL, shared by several kiosk hosts.

The queries are ``SqlStore``'s (``sql.py``); this is PostgreSQL's dialect of them.

Chosen by ``store.url = "postgresql://…"``; only then is psycopg imported
(this module is loaded by ``open_store`` on demand), so a SQLite kiosk never
pays for it at start-up.

- The same tables as SQLite, made by the same migration history
  (``common.MIGRATIONS``); ``kiosk_schema`` holds the version and the kiosk's
  application id (SQLite's two PRAGMAs). Migrations run under an advisory lock,
  so hosts starting together migrate once.
- Failure counting is exact across hosts: ``add_failure`` takes a per-key
  advisory lock for its transaction, so two hosts counting the same key are
  serialised and each sees the other's row (READ COMMITTED alone would let
  both count "limit − 1" and both go ahead). Ids come from an identity
  sequence and are never reused.
- ``site_secret`` is made once whoever asks first (INSERT … ON CONFLICT DO NOTHING).
- A server on another host is used only with ``sslmode=verify-full``
  (``tls_refusal``, decided from the URL's text before any connection).
- Failure times are the server's clock (``shared_time``), not each host's.
- A small ``psycopg_pool.ConnectionPool`` per store object, opened on first
  use; a forked child opens its own and leaves the parent's alone.
- Every psycopg error becomes ``StoreError`` in plain words: never SQL, never
  values, never the password of the URL (``common.redact_url``). A lost server
  fails the calls that need it, in bounded time; the pool reconnects by itself
  once it is back.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from kiosk.backend.errors import ConfigError, StoreError
from kiosk.backend.store import common
from kiosk.backend.store.common import APPLICATION_ID, POSTGRES_TYPES, redact_url
from kiosk.backend.store.sql import SqlStore

__all__ = ["PostgresStore", "ServerFacts", "probe_server", "tls_refusal"]

log = logging.getLogger("kiosk.store")
# The pool logs every connection request at INFO, which would flood the kiosk's log.
logging.getLogger("psycopg.pool").setLevel(logging.WARNING)

#: Longest a call waits for a connection (server down, or every connection busy)
#: before it fails closed; about as long as a locked SQLite store is waited on.
WAIT_SECONDS = 8.0
#: libpq's own defaults when the URL does not set them: a dead host or a cut
#: network is noticed in seconds, not after the kernel's TCP timeouts (minutes).
CONNECTION_DEFAULTS = {
    "connect_timeout": "5",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "2",
    "tcp_user_timeout": "15000",
    "application_name": "kiosk",
}
#: A statement (or a lock it waits for) that takes longer is cancelled: a person never waits for good.
STATEMENT_TIMEOUT_MS = 10_000
#: One person per kiosk process: two connections are plenty, and many kiosk
#: processes per host must fit the server's max_connections.
POOL_MAX = 2
#: Connections idle this long are closed, so quiet kiosk sessions hold none.
POOL_MAX_IDLE_SECONDS = 60.0
#: A connection idle longer than this is tested before use: after a server
#: restart, old connections are dead, and the first visitor should not be the one to find out.
CHECK_AFTER_IDLE_SECONDS = 5.0

#: The first key of every advisory lock the kiosk takes ("KIOS").
_LOCK_CLASS = APPLICATION_ID
_MIGRATION_LOCK = 0

T = TypeVar("T")


class PostgresStore(SqlStore[psycopg.Connection]):
    COLUMN_TYPES = POSTGRES_TYPES
    FOR_UPDATE = " FOR UPDATE"

    def __init__(self, url: str, *, migrate: bool = True, wait_seconds: float | None = None) -> None:
        super().__init__()
        self.url = redact_url(url)  # the only form kept in plain sight
        self._conninfo = _conninfo(url)
        params = conninfo_to_dict(self._conninfo)
        refusal = tls_refusal(params)
        if refusal is not None:
            raise ConfigError(refusal)  # before any connection: not even a login crosses in clear
        self._where = _where(params)
        self._wait_seconds = WAIT_SECONDS if wait_seconds is None else wait_seconds
        self._guard = threading.Lock()
        self._pool: ConnectionPool | None = None
        self._inherited: list[ConnectionPool] = []
        self._pid = os.getpid()
        self._closed = False
        self._last_used: WeakKeyDictionary[psycopg.Connection, float] = WeakKeyDictionary()
        #: The pool connects in its own thread and only says "timed out": the last
        #: reason a connection failed is kept here, to say why.
        self._connect_errors: list[psycopg.Error] = []
        if migrate:
            self._run(self._migrate)

    # --- connections ------------------------------------------------------------------

    def _the_pool(self) -> ConnectionPool:
        with self._guard:
            if self._closed:
                raise StoreError("the store is closed")
            if self._pid != os.getpid():
                # Forked: the parent's pool (its sockets, its threads) is not ours to use
                # or close. Kept referenced, so nothing here ever finalises it.
                if self._pool is not None:
                    self._inherited.append(self._pool)
                self._pool, self._pid = None, os.getpid()
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=0,
                    max_size=POOL_MAX,
                    max_idle=POOL_MAX_IDLE_SECONDS,
                    timeout=self._wait_seconds,
                    reconnect_timeout=self._wait_seconds,
                    num_workers=1,
                    connection_class=_recording_connection_class(self._connect_errors),
                    kwargs={"autocommit": True},
                    configure=_configure,
                    check=self._check_if_idle_long,
                    name="kiosk-store",
                    open=False,
                )
                self._pool.open(wait=False)
            return self._pool

    def _check_if_idle_long(self, conn: psycopg.Connection) -> None:
        last = self._last_used.get(conn)
        if last is None or time.monotonic() - last > CHECK_AFTER_IDLE_SECONDS:
            ConnectionPool.check_connection(conn)

    def _run(self, operation: Callable[[psycopg.Connection], T]) -> T:
        """Run ``operation`` on a pooled connection; every psycopg error becomes StoreError."""
        pool = self._the_pool()
        self._connect_errors.clear()
        try:
            with pool.connection() as conn:
                try:
                    return operation(conn)
                finally:
                    self._last_used[conn] = time.monotonic()
        except PoolTimeout:
            if self._connect_errors:
                raise StoreError(_describe(self._connect_errors[-1], self._where)) from None
            raise StoreError(
                f"the database server {self._where} cannot be reached (no connection within "
                f"{self._wait_seconds:g} s)"
            ) from None
        except psycopg.Error as exc:
            if _connection_lost(exc):
                self._drop_dead_connections(pool)
            raise StoreError(_describe(exc, self._where)) from None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            # A row we cannot decode: someone else's table, or damage.
            raise StoreError(f"not a kiosk store / corrupt ({type(exc).__name__})") from None

    @staticmethod
    def _drop_dead_connections(pool: ConnectionPool) -> None:
        """After a lost connection, test the idle ones now (the server probably
        restarted), so the next call gets a live one or a new one."""
        try:
            pool.check()
        except Exception:  # noqa: BLE001 - best effort; the next call checks anyway
            log.debug("store pool check failed", exc_info=True)

    # --- the dialect ---------------------------------------------------------------------

    def _execute(self, conn: psycopg.Connection, sql: str, params: tuple = ()) -> psycopg.Cursor:
        return conn.execute(_placeholders(sql), params)

    def _write(self, conn: psycopg.Connection) -> AbstractContextManager[Any]:
        return conn.transaction()

    def _write_one(self, conn: psycopg.Connection, sql: str, params: tuple = ()) -> psycopg.Cursor:
        # Autocommit: one statement is its own transaction.
        return self._execute(conn, sql, params)

    def _lock_failures(self, conn: psycopg.Connection, key: str) -> None:
        # Until commit, no other host counts this key: each count is exact.
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _key_lock(key)))

    def _insert_failure(self, conn: psycopg.Connection, key: str, at: float) -> int:
        return int(_one(conn, "INSERT INTO failure (key, at) VALUES (%s, %s) RETURNING id", (key, at)))

    def shared_time(self) -> float:
        """The database server's clock: every host writes and compares failure
        times by it, so one host's skew cannot widen another's window."""
        return float(self._run(lambda conn: _one(conn, "SELECT extract(epoch FROM clock_timestamp())::float8")))

    # --- schema ------------------------------------------------------------------------

    def _migrate(self, conn: psycopg.Connection) -> None:
        target = common.schema_version()
        if _read_schema(conn) == (APPLICATION_ID, target):
            return
        with conn.transaction():
            # One host migrates; the others wait here, then find nothing to do.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _MIGRATION_LOCK))
            found = _read_schema(conn)
            if found is None:
                if _has_tables(conn):
                    raise StoreError(
                        f"not a kiosk store ({self._where} already holds another program's tables); "
                        "give the kiosk its own database or schema"
                    )
                conn.execute("CREATE TABLE kiosk_schema (application_id INTEGER NOT NULL, version INTEGER NOT NULL)")
                conn.execute("INSERT INTO kiosk_schema VALUES (%s, 0)", (APPLICATION_ID,))
                found = (APPLICATION_ID, 0)
            app_id, version = found
            if app_id != APPLICATION_ID:
                raise StoreError(f"not a kiosk store / corrupt ({self._where}: another program's kiosk_schema)")
            if version > target:
                raise StoreError(common.newer_schema_message(version))
            try:
                self._apply_migrations(conn, version, target)
            except psycopg.errors.InsufficientPrivilege:
                raise StoreError(
                    f"the store's schema is version {version}, older than this kiosk's {target}, and "
                    "this database role may not change it: run `kiosk store migrate` as the schema's owner"
                ) from None
            conn.execute("UPDATE kiosk_schema SET version = %s", (target,))

    def schema_version(self) -> int:
        def op(conn: psycopg.Connection) -> int:
            found = _read_schema(conn)
            return 0 if found is None else found[1]

        return self._run(op)

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
            self._closed = True
            if self._pid != os.getpid():
                return  # a forked child: the pool is the parent's
        if pool is not None:
            try:
                pool.close(timeout=1.0)
            except Exception:  # noqa: BLE001 - closing must not fail a caller
                log.debug("store pool close failed", exc_info=True)

    @property
    def _shown(self) -> str:
        return self.url


# --- what kiosk check reports --------------------------------------------------------------


@dataclass(frozen=True)
class ServerFacts:
    where: str  # host:port/database, no user, no password
    server_version: str
    sslmode: str  # as configured (the URL's, else $PGSSLMODE's; "" when neither says: libpq then means "prefer")
    tls_protocol: str | None  # None: not encrypted
    loopback: bool  # a Unix socket or a loopback address
    schema_version: int


def probe_server(url: str, *, timeout_seconds: float = 5.0) -> ServerFacts:
    """Connect once, without the pool and without changing anything, and say what is there."""
    conninfo = _conninfo(url, connect_timeout=str(max(1, round(timeout_seconds))))
    params = conninfo_to_dict(conninfo)
    where = _where(params)
    refusal = tls_refusal(params)
    if refusal is not None:
        raise ConfigError(refusal)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            protocol = _tls_protocol(conn)
            found = _read_schema(conn)
            return ServerFacts(
                where=where,
                server_version=str(conn.info.parameter_status("server_version") or "?"),
                sslmode=_sslmode(params),
                tls_protocol=protocol,
                loopback=_is_local(str(conn.info.hostaddr or conn.info.host)),
                schema_version=0 if found is None else found[1],
            )
    except psycopg.Error as exc:
        raise StoreError(_describe(exc, where)) from None


# --- helpers ---------------------------------------------------------------------------------


def _tls_protocol(conn: psycopg.Connection) -> str | None:
    """"TLSv1.3" and the like, or None when the connection is not encrypted (asked
    of the server: psycopg's libpq wrapper does not expose PQsslAttribute)."""
    if not conn.pgconn.ssl_in_use:
        return None
    row = conn.execute("SELECT version FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()").fetchone()
    return str(row[0]) if row and row[0] else "TLS"



def _conninfo(url: str, **overrides: str) -> str:
    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except psycopg.Error:
        raise StoreError(f"store.url: {redact_url(url)} is not a valid PostgreSQL URL") from None
    for key, value in CONNECTION_DEFAULTS.items():
        params.setdefault(key, value)
    params.update(overrides)
    return make_conninfo(**params)


def _recording_connection_class(errors: list[psycopg.Error]) -> type[psycopg.Connection]:
    """A Connection whose failed connects are appended to ``errors`` (the pool's
    worker thread connects; the waiting caller only sees a timeout)."""

    class RecordingConnection(psycopg.Connection):
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().connect(*args, **kwargs)
            except psycopg.Error as exc:
                errors[:] = [exc]
                raise

    return RecordingConnection


def _configure(conn: psycopg.Connection) -> None:
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")


def _where(params: dict[str, Any]) -> str:
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or '?'}"


def _is_local(host: str) -> bool:
    """A Unix socket (its directory, or an abstract ``@name``), ``localhost``, or a
    loopback address literal (127.0.0.0/8, ::1). Decided by the text alone, never
    by resolving it: a name like ``127.example.com`` or one that DNS maps to
    127.0.0.1 today is remote."""
    host = host.strip()
    if not host or host.startswith(("/", "@")):
        return True
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _sslmode(params: dict[str, Any]) -> str:
    """The sslmode libpq will use: the URL's, else $PGSSLMODE's ("" when neither: "prefer")."""
    return str(params.get("sslmode") or os.environ.get("PGSSLMODE") or "")


def _targets(params: dict[str, Any]) -> list[str]:
    """Where libpq will connect, one entry per host of the URL (a comma-separated
    list): ``hostaddr`` where given (``host`` then only names the certificate),
    else ``host``; with neither, $PGHOSTADDR / $PGHOST, else the default socket ("")."""
    hosts = str(params.get("host") or os.environ.get("PGHOST") or "").split(",")
    addrs = str(params.get("hostaddr") or os.environ.get("PGHOSTADDR") or "").split(",")
    count = max(len(hosts), len(addrs))
    hosts = hosts * count if len(hosts) == 1 else hosts
    addrs = addrs * count if len(addrs) == 1 else addrs
    return [addr.strip() or host.strip() for host, addr in zip(hosts, addrs)]


def tls_refusal(params: dict[str, Any] | str) -> str | None:
    """Why this store URL (or its parameters) must not be used, or None.

    A database server on another host is reached only with ``sslmode=verify-full``:
    encrypted, and the server's certificate checked against the CA and the host
    name, so nobody in between can read answer hashes and failure counters, nor
    pose as the server. Local connections (a Unix socket, localhost, a loopback
    address) are exempt. Decided before any connection is made."""
    if isinstance(params, str):
        try:
            params = conninfo_to_dict(params)
        except psycopg.Error:
            return None  # not a URL at all: opening it says so
    remote = [target for target in _targets(params) if not _is_local(target)]
    sslmode = _sslmode(params)
    if not remote or sslmode == "verify-full":
        return None
    said = f"sslmode={sslmode}" if sslmode else "no sslmode, so libpq's default prefer"
    return (
        f"store.url: the database server {', '.join(remote)} is on another host and store.url does not "
        f"ask for verified TLS ({said}): answer hashes and failure counters could be read or changed on "
        "the way, or a stranger could pose as the server. Enable TLS on the server and add "
        "?sslmode=verify-full&sslrootcert=/path/to/its-ca.pem to store.url "
        "(only a Unix socket, localhost or a loopback address may go without)"
    )


def _one(conn: psycopg.Connection, query: str, params: tuple = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _key_lock(key: str) -> int:
    """The second half of a failure key's advisory lock: a stable 32-bit digest
    (two keys sharing one only wait for each other; they never miscount)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big", signed=True)


def _read_schema(conn: psycopg.Connection) -> tuple[int, int] | None:
    """(application id, version) from kiosk_schema, or None if there is no such table."""
    # A plain query of pg_class, not to_regclass(): after waiting for another host's
    # migration lock, only a fresh snapshot is sure to see the table it made.
    exists = _one(
        conn,
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = 'kiosk_schema'",
    )
    if not exists:
        return None
    row = conn.execute("SELECT application_id, version FROM kiosk_schema").fetchone()
    if row is None:
        return (0, 0)
    return int(row[0]), int(row[1])


def _has_tables(conn: psycopg.Connection) -> bool:
    return bool(
        _one(
            conn,
            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        )
    )


@functools.lru_cache(maxsize=64)
def _placeholders(sql: str) -> str:
    """``SqlStore``'s ``?`` placeholders in psycopg's style."""
    return sql.replace("?", "%s")


# --- errors ------------------------------------------------------------------------------------

#: SQLSTATE → plain words (``{where}`` is host:port/database). Classes by their first two characters.
_STATES = {
    "28P01": "the database server {where} refused the login (wrong user or password)",
    "28000": "the database server {where} refused the login (no pg_hba.conf entry, or TLS required)",
    "3D000": "the database {where} does not exist; create it (see the README) and run kiosk store migrate",
    "42501": "the database role may not do this at {where} (permission denied)",
    "42P01": "not a kiosk store / corrupt ({where}: a table is missing; run kiosk store migrate)",
    "42703": "not a kiosk store / corrupt ({where}: a column is missing)",
    "57014": "the database server {where} did not answer in time",
    "57P01": "the database server {where} is shutting down",
    "57P02": "the database server {where} is shutting down",
    "57P03": "the database server {where} is starting up or not accepting connections",
    "25006": "the database {where} is read-only (a standby?)",
    "53100": "database disk full ({where})",
    "53300": "the database server {where} has too many connections",
    "55P03": "locked by another host ({where})",
}
_CLASSES = {
    "08": "the connection to the database server {where} was lost",
    "53": "the database server {where} is out of resources",
    "XX": "the database {where} reports internal damage",
}


def _connection_lost(exc: psycopg.Error) -> bool:
    state = exc.sqlstate or ""
    return isinstance(exc, psycopg.OperationalError) and (not state or state[:2] in ("08", "57"))


def _describe(exc: psycopg.Error, where: str) -> str:
    """Plain words for the log and the audit; never the SQL, the values or a password."""
    state = exc.sqlstate or ""
    if state in _STATES:
        return _STATES[state].format(where=where)
    if state[:2] in _CLASSES:
        return _CLASSES[state[:2]].format(where=where)
    if not state and isinstance(exc, psycopg.OperationalError):
        return _connection_problem(str(exc).lower(), where)
    return f"store error at {where} ({type(exc).__name__})"


def _connection_problem(text: str, where: str) -> str:
    """libpq's connection failures carry no SQLSTATE: tell them apart by their (English) words."""
    if "certificate" in text or "ssl" in text or "tls" in text:
        if "does not match" in text:
            return f"TLS to {where}: the server certificate's name does not match the host in store.url"
        if "root certificate" in text or "verify failed" in text or "certificate verify" in text:
            return f"TLS to {where}: the server certificate is not trusted (set sslrootcert to its CA)"
        if "does not support ssl" in text or "server does not support" in text:
            return f"TLS to {where}: the server does not offer TLS, and store.url's sslmode requires it"
        return f"TLS to {where} failed"
    if "password" in text and ("no password supplied" in text or "authentication failed" in text):
        return f"the database server {where} refused the login (wrong user or password)"
    if "timeout" in text or "timed out" in text:
        return f"the database server {where} did not answer in time (is it reachable?)"
    if "refused" in text:
        return f"the database server {where} refused the connection (is it running, on that port?)"
    if "translate host name" in text or "name or service not known" in text:
        return f"the database host of {where} cannot be resolved (DNS)"
    if "no such file" in text and "socket" in text:
        return f"no database server at {where} (no such socket)"
    return f"the connection to the database server {where} was lost"
