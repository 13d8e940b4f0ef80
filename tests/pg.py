"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian's ``postgresql`` package).

Importable without pytest (``bench/store_scale.py`` uses it too):

    cluster = PgCluster.start()          # initdb + pg_ctl in a temp dir, 127.0.0.1:<free port>
    url = cluster.create_database("t1")  # postgresql://kiosk:<password>@127.0.0.1:<port>/t1
    cluster.stop_server(); cluster.start_server()   # the server goes away and comes back
    cluster.drop_database("t1")
    cluster.remove()                     # stops the server, deletes the directory

    tls = PgCluster.start(tls=True)      # ssl = on, with a certificate from a CA made here
    tls.url("t1", host="localhost", sslmode="verify-full", sslrootcert=tls.ca_file)

initdb and postgres refuse to run as root: as root they run as the ``postgres``
system user (which the Debian package creates) in a directory that user owns.
The cluster trades durability for speed (fsync off): it lives for one run.
The kiosk connects over TCP with a password (scram-sha-256), as it would to a
real server; administration goes over the Unix socket in the temp dir.

With ``tls=True`` the server also speaks TLS, with a certificate for
``localhost``, 127.0.0.1 and ``SERVER_NAMES`` issued by a CA made for the
cluster (``ca_file``); ``make_ca`` makes another CA, e.g. a wrong one. The
``openssl`` program makes them (Debian's ``openssl`` package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: The role the kiosk connects as; owns every test database.
ROLE = "kiosk"
#: Characters a real password has, some of them special in a URL (hence percent-encoded).
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the cluster would not start."""


def find_bin_dir() -> Path:
    """Where initdb and pg_ctl are: $KIOSK_PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH."""
    if os.environ.get("KIOSK_PG_BIN"):
        return Path(os.environ["KIOSK_PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PgUnavailable("no PostgreSQL server binaries (install the Debian package postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: Names besides localhost that the TLS cluster's certificate is issued for (none resolve:
#: a URL names one as ``host`` and reaches the server by ``hostaddr=127.0.0.1``).
SERVER_NAMES = ("db.kiosk.test",)


def _openssl(*args: str, cwd: Path) -> None:
    if not shutil.which("openssl"):
        raise PgUnavailable("no openssl program to make test certificates (install the Debian package openssl)")
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise PgUnavailable(f"openssl {args[0]} failed: {result.stderr.strip()[-2000:]}")


def make_ca(directory: Path, name: str = "kiosk test CA") -> tuple[Path, Path]:
    """A new certificate authority in ``directory``: (its certificate, its key), PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = name.replace(" ", "-")
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "7", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    return cert, key


def make_server_certificate(
    directory: Path, ca: tuple[Path, Path], names: tuple[str, ...] = ("localhost", *SERVER_NAMES),
    addresses: tuple[str, ...] = ("127.0.0.1",),
) -> tuple[Path, Path]:
    """A server certificate for ``names`` and ``addresses``, issued by ``ca``: (certificate, key)."""
    ca_cert, ca_key = ca
    cert, key, request = directory / "server.pem", directory / "server.key", directory / "server.csr"
    extensions = directory / "server.ext"
    alt = ",".join([*(f"DNS:{n}" for n in names), *(f"IP:{a}" for a in addresses)])
    extensions.write_text(f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(request), "-subj", f"/CN={names[0]}", cwd=directory,
    )
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "7", "-extfile", str(extensions), cwd=directory,
    )
    return cert, key


@dataclass
class PgCluster:
    bin_dir: Path
    base: Path  # data/, sockets/, server.log, tls/
    port: int
    password: str  # the kiosk role's
    run_as: str | None  # "postgres" when we are root
    ca_file: Path | None = None  # the CA of the server's certificate, when started with tls=True

    # --- life cycle ----------------------------------------------------------------

    @classmethod
    def start(cls, *, tls: bool = False) -> PgCluster:
        bin_dir = find_bin_dir()
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable("running as root and there is no 'postgres' user to run the server as") from None
            run_as = "postgres"
        base = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        cluster = cls(bin_dir, base, _free_port(), "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(20)) + "%@:/", run_as)
        try:
            cluster._init()
            if tls:
                cluster._enable_tls()
            cluster.start_server()
            from psycopg import sql

            cluster._admin(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(cluster.password)))
        except BaseException:
            cluster.remove()
            raise
        return cluster

    def _init(self) -> None:
        (self.base / "sockets").mkdir()
        if self.run_as:
            os.chmod(self.base, 0o700)
            shutil.chown(self.base, self.run_as, self.run_as)
            shutil.chown(self.base / "sockets", self.run_as, self.run_as)
        self._run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base / 'sockets'}'",
            "max_connections": "250",  # 50 kiosk processes at once in the concurrency tests
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_min_messages": "warning",
        }
        conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self._run(["sh", "-c", f"cat >> '{self.data}/postgresql.conf'"], stdin=conf)

    def _enable_tls(self) -> None:
        """ssl = on, with a server certificate from a CA made here (``ca_file``)."""
        tls_dir = self.base / "tls"
        ca = make_ca(tls_dir)
        cert, key = make_server_certificate(tls_dir, ca)
        # The server wants its key private to the user it runs as: kept in its data directory.
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            target = self.data / name
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
            if self.run_as:
                shutil.chown(target, self.run_as, self.run_as)
        conf = "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        self._run(["sh", "-c", f"cat >> '{self.data}/postgresql.conf'"], stdin=conf)
        self.ca_file = ca[0]

    def start_server(self) -> None:
        self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"),
                   "-w", "-t", "60", "start"])

    def stop_server(self, mode: str = "fast") -> None:
        self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def running(self) -> bool:
        result = subprocess.run(
            self._as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True, text=True, check=False,
        )
        return result.returncode == 0

    def remove(self) -> None:
        """Stop the server (if running) and delete everything it had."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PgUnavailable):
                self.stop_server("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # --- databases ----------------------------------------------------------------------

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str, host: str = "127.0.0.1", **params: object) -> str:
        """How the kiosk reaches ``database``: TCP to ``host`` (loopback), with the
        role's password; ``params`` become the URL's query (``sslmode=…``)."""
        from urllib.parse import quote, urlencode

        query = f"?{urlencode({k: str(v) for k, v in params.items()})}" if params else ""
        return f"postgresql://{ROLE}:{quote(self.password, safe='')}@{host}:{self.port}/{database}{query}"

    def create_database(self, name: str) -> str:
        self._admin(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def admin_sql(self, database: str, statement: str, params: tuple = ()) -> list[tuple]:
        """Run one statement as the superuser in ``database`` (to look behind the kiosk's back)."""
        return self._admin(statement, params, database=database)

    def _admin(self, statement: object, params: tuple = (), *, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(
            host=str(self.base / "sockets"), port=self.port, user="postgres", dbname=database, autocommit=True
        ) as conn:
            cursor = conn.execute(statement, params or None)  # type: ignore[call-overload]
            return cursor.fetchall() if cursor.description else []

    # --- running the server's programs ------------------------------------------------------

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    def _run(self, command: list[str], stdin: str | None = None) -> None:
        result = subprocess.run(
            self._as_owner(command), input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PgUnavailable(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}\n{tail}")
