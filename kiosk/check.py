"""``kiosk check``: walk the path to each domain controller, one step at a time,
and say in one actionable line what is wrong where.

Per DC URL, in the configured order: DNS, TCP, TLS (handshake and certificate:
unknown CA, name mismatch, expired), the service account's bind, then for each
domain its base DN and password policy. Optionally, with ``test_account``, a
rights check that changes nothing (allowedAttributesEffective). A failed step
ends the checks for that DC: the later steps cannot run.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kiosk.config import DirectorySettings, Settings


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str  # one line: what was found, and what to do about it when not ok


@dataclass
class _State:
    #: Where the service account's password was refused: the other DCs are
    #: not asked again, as each refused bind counts toward its lockout.
    refused_at: str | None = None


#: OpenSSL verify codes, grouped by what the administrator has to fix.
_UNKNOWN_CA_CODES = {2, 18, 19, 20, 21}  # no issuer / self-signed / unable to verify
_EXPIRED_CODES = {10}
_NOT_YET_VALID_CODES = {9}
_NAME_CODES = {62, 64}  # hostname mismatch, IP address mismatch

_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"

#: What AD's bind failure codes mean for the service account.
_SERVICE_BIND_CODES = {
    "52e": "the service account password for {user} was refused (AD data 52e: wrong password, "
    "or no such account); update the secret kiosk_directory__service_password",
    "775": "the service account {user} is locked out (AD data 775); unlock it and check what "
    "keeps using an old password",
    "533": "the service account {user} is disabled (AD data 533); enable it",
    "701": "the service account {user} has expired (AD data 701); extend its accountExpires",
    "532": "the service account {user}'s password has expired (AD data 532); set a new one "
    "(and 'password never expires' or a rotation)",
    "773": "the service account {user} must change its password (AD data 773); set one "
    "without 'must change at next logon'",
}


def run_checks(settings: Settings | DirectorySettings, *, test_account: str | None = None) -> list[CheckResult]:
    """Check every configured DC; ``test_account`` (as a person would type it)
    adds a rights check on that account."""
    directory: DirectorySettings = getattr(settings, "directory", settings)
    local: list[CheckResult] = []
    if hasattr(settings, "store"):
        local = [*_check_store(settings.store.url), _check_audit(settings)]
    if directory.kind == "demo":
        return [CheckResult("directory", True, "demo directory: there is no domain controller to check"), *local]
    if not directory.urls:
        return [CheckResult("directory", False, "directory.urls is empty: name at least one domain controller"), *local]
    results: list[CheckResult] = []
    rights_checked = False
    state = _State()
    for url in directory.urls:
        dc_settings = dataclasses.replace(directory, urls=[url])
        ok = _check_dc(url, dc_settings, results, state)
        if ok and test_account and not rights_checked:
            results.append(_check_rights(dc_settings, test_account))
            rights_checked = True
    if test_account and not rights_checked:
        results.append(CheckResult(f"rights on {test_account}", False, "not checked: no domain controller could be used"))
    return results + local


# --- the store and the audit log -----------------------------------------------------


def _check_store(url: str) -> list[CheckResult]:
    """A database server first gets its own lines (reach, TLS, schema); then
    every store is opened, read, and written (one failure count, taken back):
    the write every verification needs before it checks an answer."""
    from kiosk.backend.store import is_shared_store
    from kiosk.backend.store.common import redact_url

    results: list[CheckResult] = []
    if is_shared_store(url):
        results = _check_database_server(url)
        if not all(r.ok for r in results):
            return results  # the store line could not say more
    return [*results, _check_store_use(url, redact_url(url))]


def _check_store_use(url: str, shown: str) -> CheckResult:
    import time

    from kiosk.backend.errors import KioskError
    from kiosk.backend.store import open_store

    try:
        store = open_store(url)
        try:
            enrolled = store.count()
            version = store.schema_version()
            failure_id, _ = store.add_failure("check:probe", time.time(), 60)
            store.remove_failure("check:probe", failure_id)
        finally:
            store.close()
    except KioskError as exc:
        return CheckResult("store", False, f"{shown}: {exc.detail or exc.code}")
    return CheckResult("store", True, f"{shown}: readable and writable, {enrolled} enrolled, schema version {version}")


def _check_database_server(url: str) -> list[CheckResult]:
    """PostgreSQL: can it be reached and logged into, is the connection
    encrypted as configured, is its schema the one this kiosk writes."""
    from kiosk.backend.errors import ConfigError, StoreError
    from kiosk.backend.store import common

    try:
        from kiosk.backend.store.postgres import probe_server
    except ImportError:
        return [CheckResult("store server", False, "psycopg is not installed: pip install 'sspr-kiosk[postgresql]'")]
    try:
        facts = probe_server(url)
    except (StoreError, ConfigError) as exc:
        return [CheckResult("store server", False, f"{exc.detail or exc}")]
    results = [CheckResult("store server", True, f"{facts.where}: PostgreSQL {facts.server_version}, logged in")]

    verified = facts.sslmode in ("verify-full", "verify-ca")
    if facts.tls_protocol is None:
        if facts.sslmode == "disable" and not facts.loopback:
            tls = CheckResult(
                "store tls", True,
                "not encrypted: sslmode=disable in store.url (answer hashes cross the network in clear)",
            )
        elif facts.loopback:
            tls = CheckResult("store tls", True, "not encrypted: a local connection (a Unix socket or loopback)")
        else:
            tls = CheckResult(
                "store tls", False,
                f"not encrypted (sslmode={facts.sslmode or 'prefer, the default'}): answer hashes would cross the "
                "network in clear; enable TLS on the server and add ?sslmode=verify-full to store.url",
            )
    elif verified:
        tls = CheckResult("store tls", True, f"{facts.tls_protocol}, server certificate verified (sslmode={facts.sslmode})")
    else:
        tls = CheckResult(
            "store tls", True,
            f"{facts.tls_protocol}, but the server's certificate is not verified (sslmode={facts.sslmode or 'prefer'}); "
            "use sslmode=verify-full with sslrootcert",
        )
    results.append(tls)

    expected = common.SCHEMA_VERSION
    if facts.schema_version == expected:
        results.append(CheckResult("store schema", True, f"version {expected}, as this kiosk expects"))
    elif facts.schema_version < expected:
        what = "no kiosk schema yet" if facts.schema_version == 0 else f"version {facts.schema_version}"
        results.append(CheckResult("store schema", False, f"{what}; this kiosk needs version {expected}: run `kiosk store migrate`"))
    else:
        results.append(
            CheckResult("store schema", False, f"version {facts.schema_version} is newer than this kiosk's {expected}: upgrade the kiosk")
        )
    return results


def _check_audit(settings: Settings) -> CheckResult:
    import os
    from pathlib import Path

    audit = settings.audit
    where: list[str] = []
    if audit.file is not None:
        path = Path(audit.file)
        target = path if path.exists() else path.parent
        if not target.exists():
            return CheckResult("audit", False, f"audit.file: the directory {path.parent} does not exist; create it for the kiosk user")
        if not os.access(target, os.W_OK):
            return CheckResult("audit", False, f"audit.file: {target} is not writable by this user")
        where.append(str(path))
    if audit.syslog:
        if not Path("/dev/log").exists():
            return CheckResult("audit", False, "audit.syslog is on but /dev/log does not exist (no syslog daemon)")
        where.append("syslog")
    if not where:
        return CheckResult("audit", False, "no audit destination: set audit.file or audit.syslog")
    return CheckResult("audit", True, "writes to " + " and ".join(where))


def print_checks(results: list[CheckResult], stream: TextIO | None = None) -> int:
    """Print one line per result; 0 when all passed, else 1."""
    out = stream or sys.stdout
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'}  {result.name}: {result.message}", file=out)
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)
    return 1 if failed else 0


# --- one DC ------------------------------------------------------------------------


def _check_dc(url: str, settings: DirectorySettings, results: list[CheckResult], state: _State) -> bool:
    from kiosk.backend.directory.ad import Endpoint, tls_context, tls_server_name

    try:
        endpoint = Endpoint.parse(url)
    except Exception as exc:  # noqa: BLE001 - a config mistake, reported as such
        results.append(CheckResult(f"url {url}", False, str(exc)))
        return False
    where = f"{endpoint.host}:{endpoint.port}"
    timeout = settings.connect_timeout_seconds

    # DNS
    try:
        addresses = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        results.append(
            CheckResult(f"dns {endpoint.host}", False, f"cannot resolve {endpoint.host} ({exc.strerror}); check directory.urls and DNS")
        )
        return False
    shown = ", ".join(dict.fromkeys(a[4][0] for a in addresses))
    results.append(CheckResult(f"dns {endpoint.host}", True, f"resolves to {shown}"))

    # TCP
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except TimeoutError:
        results.append(
            CheckResult(f"tcp {where}", False, f"no answer within {timeout:g} s: a firewall drops the traffic, or the host is down")
        )
        return False
    except OSError as exc:
        reason = exc.strerror or str(exc)
        results.append(
            CheckResult(f"tcp {where}", False, f"cannot connect ({reason}): is the DC up, and is port {endpoint.port} open?")
        )
        return False
    results.append(CheckResult(f"tcp {where}", True, "connected"))

    # TLS
    ca_file = str(settings.ca_file) if settings.ca_file else None
    name = tls_server_name(endpoint, settings.tls_server_name)
    try:
        tls_result = _check_tls(sock, endpoint, tls_context(ca_file), name, ca_file, settings.timeout_seconds)
    except OSError as exc:  # e.g. the CA file cannot be read
        tls_result = CheckResult("tls", False, f"cannot set up TLS: {exc}")
    finally:
        sock.close()
    results.append(CheckResult(f"tls {where}", tls_result.ok, tls_result.message))
    if not tls_result.ok:
        return False

    # Service account and directory reads, through the real backend.
    return _check_directory(settings, where, results, state)


def _check_tls(
    sock: socket.socket,
    endpoint: Any,
    context: ssl.SSLContext,
    name: str,
    ca_file: str | None,
    timeout: float,
) -> CheckResult:
    store = f"the CA file {ca_file}" if ca_file else "the system CA store (directory.ca_file is not set)"
    sock.settimeout(timeout)
    if not endpoint.implicit_tls:
        refused = _start_tls(sock)
        if refused:
            return CheckResult("tls", False, f"StartTLS refused: {refused}; use ldaps:// or enable TLS on the DC")
    try:
        with context.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=True) as tls:
            cert = tls.getpeercert() or {}
            version = tls.version()
    except ssl.SSLCertVerificationError as exc:
        return CheckResult("tls", False, _certificate_problem(exc, endpoint, name, store))
    except ssl.SSLError as exc:
        return CheckResult("tls", False, f"TLS handshake failed ({exc.reason or exc}); is this an LDAPS port?")
    except TimeoutError:
        return CheckResult("tls", False, f"no TLS answer within {timeout:g} s; is this an LDAPS port?")
    except OSError as exc:
        return CheckResult("tls", False, f"connection lost during the TLS handshake ({exc.strerror or exc})")
    subject = _cert_subject(cert)
    return CheckResult(
        "tls", True, f"{version}, certificate {subject} verified for {name} against {store}, valid until {cert.get('notAfter', '?')}"
    )


def _certificate_problem(exc: ssl.SSLCertVerificationError, endpoint: Any, name: str, store: str) -> str:
    code = exc.verify_code
    cert = _fetch_unverified_certificate(endpoint)
    subject = _cert_subject(cert) if cert else "(unreadable)"
    if code in _UNKNOWN_CA_CODES:
        issuer = _cert_name(cert.get("issuer", ())) if cert else "?"
        return (
            f"unknown CA: the certificate {subject} was issued by {issuer}, which is not in {store}; "
            "set directory.ca_file to that CA's certificate (PEM)"
        )
    if code in _EXPIRED_CODES:
        until = cert.get("notAfter", "?") if cert else "?"
        return f"the DC's certificate {subject} expired ({until}); renew it on the DC"
    if code in _NOT_YET_VALID_CODES:
        since = cert.get("notBefore", "?") if cert else "?"
        return f"the DC's certificate {subject} is not valid before {since}; check the clocks"
    if code in _NAME_CODES:
        names = _cert_names(cert) if cert else []
        listed = ", ".join(names) or "(none readable)"
        return (
            f"name mismatch: the certificate names {listed}, not {name}; set directory.tls_server_name "
            "to one of those names, or use it in the URL"
        )
    return f"certificate rejected: {exc.verify_message} (OpenSSL {code}); store: {store}"


def _start_tls(sock: socket.socket) -> str | None:
    """Send the StartTLS extended request by hand; None when the DC agreed.
    (By hand so that the handshake after it can be examined by the stdlib.)"""
    oid = b"\x80" + bytes([len(_STARTTLS_OID)]) + _STARTTLS_OID
    extended = b"\x77" + bytes([len(oid)]) + oid
    body = b"\x02\x01\x01" + extended
    sock.sendall(b"\x30" + bytes([len(body)]) + body)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return "the DC closed the connection"
        data += chunk
        total = _ber_total_length(data)
        if total is not None and len(data) >= total:
            break
    # ExtendedResponse [APPLICATION 24] starts with resultCode ENUMERATED.
    marker = data.find(b"\x78")
    code_at = data.find(b"\x0a\x01", marker)
    if marker < 0 or code_at < 0:
        return "unexpected answer to StartTLS"
    code = data[code_at + 2]
    return None if code == 0 else f"LDAP result {code}"


def _ber_total_length(data: bytes) -> int | None:
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if len(data) < 2 + count:
        return None
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big")


def _fetch_unverified_certificate(endpoint: Any) -> dict[str, Any] | None:
    """The DC's certificate as a dict, fetched without verification, only to
    name it in the message. Uses the stdlib's certificate decoder (private but
    long-standing); without it the message just lacks the names."""
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as raw:
            raw.settimeout(5)
            if not endpoint.implicit_tls and _start_tls(raw):
                return None
            with context.wrap_socket(raw, server_hostname=endpoint.host) as tls:
                der = tls.getpeercert(binary_form=True)
        if not der:
            return None
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as handle:
            handle.write(ssl.DER_cert_to_PEM_cert(der))
            path = handle.name
        try:
            return ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
        finally:
            os.unlink(path)
    except Exception:  # noqa: BLE001 - diagnostics only
        return None


def _cert_name(rdns: Any) -> str:
    parts = [f"{key}={value}" for rdn in rdns for key, value in rdn]
    common = [value for rdn in rdns for key, value in rdn if key == "commonName"]
    return f"CN={common[0]}" if common else (", ".join(parts) or "?")


def _cert_subject(cert: dict[str, Any]) -> str:
    return _cert_name(cert.get("subject", ())) if cert else "?"


def _cert_names(cert: dict[str, Any]) -> list[str]:
    names = [value for kind, value in cert.get("subjectAltName", ()) if kind in ("DNS", "IP Address")]
    if not names:  # no SAN: the stdlib falls back to the subject's CN
        names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    return names


def _check_directory(settings: DirectorySettings, where: str, results: list[CheckResult], state: _State) -> bool:
    from kiosk.backend.directory.ad import ActiveDirectory, ad_data_code
    from kiosk.backend.errors import DirectoryError, ServiceAccountError

    user = settings.service_user or "(not set)"
    if state.refused_at is not None:
        results.append(
            CheckResult(
                f"bind {where}",
                False,
                f"not tried: {state.refused_at} already refused the service account {user} "
                "(each refused bind counts toward its lockout)",
            )
        )
        return False
    directory = ActiveDirectory(settings)
    try:
        try:
            directory.check_service_bind()
        except ServiceAccountError as exc:
            code = ad_data_code(exc.detail)
            template = _SERVICE_BIND_CODES.get(code or "")
            message = template.format(user=user) if template else f"the service account {user} cannot bind: {exc.detail}"
            results.append(CheckResult(f"bind {where}", False, message))
            if code is not None or " 49 " in exc.detail:
                state.refused_at = where
            return False
        except DirectoryError as exc:
            results.append(CheckResult(f"bind {where}", False, f"bind as {user} failed: {exc.detail or exc.code}"))
            return False
        results.append(CheckResult(f"bind {where}", True, f"bound as {user}"))
        all_ok = True
        for domain in settings.domains:
            try:
                directory.check_base_dn(domain)
                results.append(CheckResult(f"base dn {domain.netbios} @ {where}", True, f"{domain.base_dn} is readable"))
            except DirectoryError as exc:
                all_ok = False
                results.append(
                    CheckResult(
                        f"base dn {domain.netbios} @ {where}",
                        False,
                        f"cannot read {domain.base_dn} ({exc.detail or exc.code}); check directory.domains base_dn "
                        "and the service account's read access",
                    )
                )
                continue
            try:
                policy = directory.check_domain_policy(domain)
            except DirectoryError as exc:
                all_ok = False
                results.append(
                    CheckResult(f"policy {domain.netbios} @ {where}", False, f"cannot read the password policy on {domain.base_dn}: {exc.detail or exc.code}")
                )
                continue
            results.append(
                CheckResult(
                    f"policy {domain.netbios} @ {where}",
                    True,
                    f"min length {policy.min_length}, complexity {'on' if policy.complexity else 'off'}, "
                    f"history {policy.history_length}, lockout after {policy.lockout_threshold or 'never'}",
                )
            )
        return all_ok
    finally:
        directory.close()


def _check_rights(settings: DirectorySettings, test_account: str) -> CheckResult:
    from kiosk.backend.directory.ad import ActiveDirectory
    from kiosk.backend.errors import DirectoryError
    from kiosk.backend.identity import parse_identity

    name = f"rights on {test_account}"
    identity = parse_identity(test_account, [(d.netbios, d.dns) for d in settings.domains], settings.effective_default_domain)
    if identity is None:
        return CheckResult(name, False, f"{test_account!r} is not a user name (sam, DOMAIN\\sam or user@domain)")
    directory = ActiveDirectory(settings)
    try:
        account = directory.find_account(identity)
        if account is None:
            return CheckResult(name, False, f"no single account {identity.display} was found in its domain")
        writable = directory.writable_attributes(account)
    except DirectoryError as exc:
        return CheckResult(name, False, f"could not check: {exc.detail or exc.code}")
    finally:
        directory.close()
    missing = [a for a in ("lockoutTime", "pwdLastSet") if a.lower() not in writable]
    if missing:
        return CheckResult(
            name,
            False,
            f"the service account may not write {', '.join(missing)} on {account.dn}: delegate "
            "'Read/write lockoutTime' and 'pwdLastSet' (and the Reset Password right) on its OU",
        )
    return CheckResult(
        name,
        True,
        f"may write lockoutTime and pwdLastSet on {account.dn} (the Reset Password right cannot be "
        "checked without resetting a password)",
    )
