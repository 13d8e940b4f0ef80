"""A PostgreSQL store on another host is reached only over verified TLS.

"Another host" is decided by the URL's text, never by resolving it: a Unix
socket, ``localhost`` and loopback address literals (127.0.0.0/8, ::1) are
local; every other name or address is remote and needs ``sslmode=verify-full``
(encrypted, the certificate checked against the CA and the host name). The
refusal comes before any connection, so not even the login crosses in clear.

Against a real server: a cluster with ssl = on and a certificate from a CA the
fixture made (``pg_tls_cluster``). What ``kiosk check`` says about it is in
test_check_store.py.
"""

from __future__ import annotations

from urllib.parse import quote

import psycopg
import pytest

from kiosk.backend.errors import ConfigError, StoreError
from kiosk.backend.store import open_store
from kiosk.backend.store.postgres import PostgresStore, tls_refusal

try:
    import pg as pglib
except ImportError:  # tests/ became a package
    from tests import pg as pglib

from store_samples import GUID, enrollment

LOCAL = [
    "postgresql://kiosk@127.0.0.1/kiosk",
    "postgresql://kiosk@127.8.9.10:5433/kiosk?sslmode=disable",
    "postgresql://kiosk@[::1]/kiosk?sslmode=prefer",
    "postgresql://kiosk@localhost/kiosk",
    "postgresql://kiosk@LOCALHOST/kiosk?sslmode=require",
    "postgresql:///kiosk",  # no host: libpq's default Unix socket
    "postgresql:///kiosk?host=/var/run/postgresql",
    "postgresql://kiosk@127.0.0.1,localhost/kiosk",
    # host only names the certificate when hostaddr says where to connect: a tunnel on loopback
    "postgresql://kiosk@db.corp.example/kiosk?hostaddr=127.0.0.1&sslmode=require",
]
REMOTE = [
    "postgresql://kiosk@db.corp.example/kiosk",  # libpq's default is prefer: TLS if offered, else clear
    "postgresql://kiosk@db.corp.example/kiosk?sslmode=disable",
    "postgresql://kiosk@db.corp.example/kiosk?sslmode=allow",
    "postgresql://kiosk@db.corp.example/kiosk?sslmode=prefer",
    "postgresql://kiosk@db.corp.example/kiosk?sslmode=require",  # encrypted, but to anyone
    "postgresql://kiosk@db.corp.example/kiosk?sslmode=verify-ca",  # any certificate of that CA, any name
    "postgresql://kiosk@192.0.2.10/kiosk?sslmode=require",
    "postgresql://kiosk@[2001:db8::1]/kiosk?sslmode=require",
    "postgresql://kiosk@127.example.com/kiosk",  # looks like loopback, is a name
    "postgresql://kiosk@localhost.example.com/kiosk",
    "postgresql://kiosk@127.0.0.1,db.corp.example/kiosk",  # one of the hosts is remote
    "postgresql://kiosk@localhost/kiosk?hostaddr=192.0.2.10",  # connects to 192.0.2.10
]


@pytest.mark.parametrize("url", LOCAL)
def test_a_local_server_may_go_without_tls(url):
    assert tls_refusal(url) is None


@pytest.mark.parametrize("url", REMOTE)
def test_a_remote_server_without_verify_full_is_refused_in_plain_words(url):
    refusal = tls_refusal(url)
    assert refusal is not None
    assert "is on another host" in refusal
    assert "add ?sslmode=verify-full&sslrootcert=" in refusal


@pytest.mark.parametrize("url", REMOTE)
def test_with_verify_full_a_remote_server_is_allowed(url):
    fixed = url.replace("sslmode=", "was=") + ("&" if "?" in url else "?") + "sslmode=verify-full"
    assert tls_refusal(fixed) is None


def test_the_environment_counts_as_libpq_reads_it(monkeypatch):
    monkeypatch.setenv("PGHOST", "db.corp.example")
    assert tls_refusal("postgresql:///kiosk") is not None
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    assert tls_refusal("postgresql:///kiosk") is None
    assert tls_refusal("postgresql:///kiosk?sslmode=require") is not None  # the URL's word wins, as in libpq


def test_a_remote_store_is_refused_before_any_connection(monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(psycopg.Connection, "connect", no_connection)
    url = "postgresql://kiosk:s3cret@db.corp.example/kiosk?sslmode=disable"
    with pytest.raises(ConfigError) as refused:
        open_store(url)
    message = str(refused.value)
    assert message.startswith("store.url: the database server db.corp.example is on another host")
    assert "(sslmode=disable)" in message
    assert "s3cret" not in message
    with pytest.raises(ConfigError, match="no sslmode, so libpq's default prefer"):
        PostgresStore("postgresql://kiosk@db.corp.example/kiosk", migrate=False)


# --- against a server with TLS ----------------------------------------------------------------


@pytest.fixture
def tls_database(pg_tls_cluster, request):
    name = "tls_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    pg_tls_cluster.create_database(name)
    yield name
    pg_tls_cluster.drop_database(name)


@pytest.mark.parametrize(
    "where",
    [dict(host="localhost"), dict(host=pglib.SERVER_NAMES[0], hostaddr="127.0.0.1")],
    ids=["localhost", "by-name"],
)
def test_verify_full_with_the_servers_ca_connects(pg_tls_cluster, tls_database, where):
    url = pg_tls_cluster.url(tls_database, sslmode="verify-full", sslrootcert=pg_tls_cluster.ca_file, **where)
    with open_store(url) as store:
        store.put(enrollment())
        assert store.get(GUID) == enrollment()
        encrypted = store._run(
            lambda conn: conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()[0]
        )
    assert encrypted is True


def test_a_certificate_from_another_ca_is_refused_in_plain_words(pg_tls_cluster, tls_database, tmp_path):
    wrong_ca, _ = pglib.make_ca(tmp_path, "someone else's CA")
    url = pg_tls_cluster.url(tls_database, host="localhost", sslmode="verify-full", sslrootcert=wrong_ca)
    with pytest.raises(StoreError) as refused:
        PostgresStore(url, wait_seconds=2.0)
    assert refused.value.detail == (
        f"TLS to localhost:{pg_tls_cluster.port}/{tls_database}: the server certificate is not trusted "
        "(set sslrootcert to its CA)"
    )
    assert pg_tls_cluster.password not in refused.value.detail
    assert quote(pg_tls_cluster.password, safe="") not in refused.value.detail


def test_a_certificate_for_another_name_is_refused_in_plain_words(pg_tls_cluster, tls_database):
    url = pg_tls_cluster.url(
        tls_database, host="other.kiosk.test", hostaddr="127.0.0.1",
        sslmode="verify-full", sslrootcert=pg_tls_cluster.ca_file,
    )
    with pytest.raises(StoreError, match="the server certificate's name does not match the host in store.url"):
        PostgresStore(url, wait_seconds=2.0)
