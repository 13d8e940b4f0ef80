"""`kiosk check` on a PostgreSQL store: reach and login, TLS, schema version,
each a line that says what to do; the password never shown."""

from __future__ import annotations

from urllib.parse import quote

from kiosk.backend.store import common
from kiosk.check import run_checks
from kiosk.cli import main

try:
    import pg as pglib
except ImportError:  # tests/ became a package
    from tests import pg as pglib


def _config(tmp_path, store_url: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[directory]\nkind = "demo"\ndefault_domain = "DEMO"\n'
        '[[directory.domains]]\nnetbios = "DEMO"\ndns = "demo.example"\nbase_dn = "DC=demo,DC=example"\n'
        f'[store]\nurl = "{store_url}"\n[audit]\nfile = "{tmp_path}/audit.jsonl"\n'
    )
    return path


def _check(capsys, config) -> tuple[int, dict[str, str]]:
    code = main(["--config", str(config), "check"])
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines():
        if line.startswith(("ok  ", "FAIL")) and ":" in line:
            status, rest = line.split(None, 1)
            name, _, message = rest.partition(": ")
            lines[name] = f"{status} {message}"
    return code, lines


def test_a_new_database_is_reachable_but_needs_its_schema_first(tmp_path, capsys, pg_cluster, pg_url):
    config = _config(tmp_path, pg_url)
    code, lines = _check(capsys, config)
    assert code == 1
    assert lines["store server"].startswith("ok ") and "PostgreSQL 1" in lines["store server"]
    assert lines["store tls"] == "ok not encrypted: a local connection (a Unix socket or loopback)"
    assert lines["store schema"] == f"FAIL no kiosk schema yet; this kiosk needs version {common.SCHEMA_VERSION}: run `kiosk store migrate`"
    assert "store" not in lines  # not opened: opening would migrate behind the administrator's back

    assert main(["--config", str(config), "store", "migrate"]) == 0
    capsys.readouterr()
    code, lines = _check(capsys, config)
    assert lines["store schema"] == f"ok version {common.SCHEMA_VERSION}, as this kiosk expects"
    assert lines["store"].startswith("ok postgresql://kiosk:***@127.0.0.1:")
    assert lines["store"].endswith(f"readable and writable, 0 enrolled, schema version {common.SCHEMA_VERSION}")
    assert code == 0
    assert not any(pg_cluster.password in v or quote(pg_cluster.password, safe="") in v for v in lines.values())


def test_a_wrong_password_or_a_dead_server_is_named(pg_cluster, pg_url, tmp_path):
    class Whole:
        class directory:
            kind = "demo"

        class store:
            url = pg_url.replace(quote(pg_cluster.password, safe=""), "wrong")

        class audit:
            file = tmp_path / "audit.jsonl"
            syslog = False

    [server] = [r for r in run_checks(Whole()) if r.name == "store server"]
    assert not server.ok and server.name == "store server"
    assert "refused the login (wrong user or password)" in server.message
    Whole.store.url = pg_url.replace(f":{pg_cluster.port}/", ":1/")
    [server] = [r for r in run_checks(Whole()) if r.name == "store server"]
    assert "127.0.0.1:1/" in server.message and "refused the connection" in server.message


# --- TLS ---------------------------------------------------------------------------------------


def test_a_remote_server_without_verify_full_fails_before_any_connection(tmp_path, capsys):
    # What kiosk check itself used to pass to a remote host, and libpq's default.
    for query in ("?sslmode=disable", "?sslmode=require", ""):
        config = _config(tmp_path, f"postgresql://kiosk@db.corp.example:5432/kiosk{query}")
        code, lines = _check(capsys, config)
        assert code == 1
        assert lines["store tls"].startswith("FAIL store.url: the database server db.corp.example is on another host")
        assert "add ?sslmode=verify-full&sslrootcert=" in lines["store tls"]
        # Refused before connecting: the name was never even looked up.
        assert "store server" not in lines and "store" not in lines


def test_verify_full_against_the_servers_ca_is_reported_verified(tmp_path, capsys, pg_tls_cluster):
    pg_tls_cluster.create_database("check_tls")
    try:
        url = pg_tls_cluster.url("check_tls", host="localhost", sslmode="verify-full", sslrootcert=pg_tls_cluster.ca_file)
        config = _config(tmp_path, url)
        assert main(["--config", str(config), "store", "migrate"]) == 0
        capsys.readouterr()
        code, lines = _check(capsys, config)
        assert lines["store server"].startswith(f"ok localhost:{pg_tls_cluster.port}/check_tls: PostgreSQL 1")
        assert lines["store tls"].startswith("ok TLSv1.")  # the protocol the server and libpq agreed on
        assert lines["store tls"].endswith(", server certificate verified (sslmode=verify-full)")
        assert lines["store"].endswith("readable and writable, 0 enrolled, schema version " f"{common.SCHEMA_VERSION}")
        assert code == 0
    finally:
        pg_tls_cluster.drop_database("check_tls")


def test_a_certificate_from_another_ca_fails_in_plain_words(tmp_path, capsys, pg_tls_cluster):
    wrong_ca, _ = pglib.make_ca(tmp_path / "wrong", "someone else's CA")
    url = pg_tls_cluster.url("postgres", host="localhost", sslmode="verify-full", sslrootcert=wrong_ca)
    code, lines = _check(capsys, _config(tmp_path, url))
    assert code == 1
    assert lines["store server"] == (
        f"FAIL TLS to localhost:{pg_tls_cluster.port}/postgres: the server certificate is not trusted "
        "(set sslrootcert to its CA)"
    )
