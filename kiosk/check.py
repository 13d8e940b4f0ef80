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
from typing import TYPE_CHECKING, Any, TextIO, cast

from kiosk.backend.dn import dn_key, is_within

if TYPE_CHECKING:
    from pathlib import Path

    from kiosk.backend.directory.ad import ActiveDirectoryProbe
    from kiosk.backend.model import Account
    from kiosk.config import DirectorySettings, EligibilitySettings, Settings


@dataclass(frozen=True)
class CheckResult:
    name: str
    #: False: this cannot work as configured (``kiosk check`` exits 1).
    ok: bool
    message: str  # one line: what was found, and what to do about it when not ok
    #: With ``ok``: it works, but not as well as it should (the line says why
    #: and what to do); warnings alone leave the exit status 0.
    warning: bool = False

    @property
    def state(self) -> str:
        """"ok", "warn" or "fail"."""
        if not self.ok:
            return "fail"
        return "warn" if self.warning else "ok"


def _warn(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, message, warning=True)


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
    # Whole settings, or just a directory section (tests, the lab): read by shape.
    directory = cast("DirectorySettings", getattr(settings, "directory", settings))
    rules = cast("EligibilitySettings | None", getattr(settings, "eligibility", None))
    local: list[CheckResult] = []
    if hasattr(settings, "store"):
        whole = cast("Settings", settings)
        local = [
            *_check_store(whole.store.url), *_check_pepper(whole), _check_audit(whole), *_check_mail(whole),
            *_check_passwords(whole),
        ]
        local.extend(_check_factors(whole, local))
        local.extend(_check_languages(whole))
        local.extend(_check_forkserver(whole))
    if directory.kind == "demo":
        return [*_check_demo(directory, rules), *local]
    if not directory.urls:
        return [CheckResult("directory", False, "directory.urls is empty: name at least one domain controller"), *local]
    results: list[CheckResult] = []
    rights_checked = False
    configuration_checked = False
    state = _State()
    for url in directory.urls:
        dc_settings = dataclasses.replace(directory, urls=[url])
        ok = _check_dc(url, dc_settings, results, state)
        if ok and test_account and not rights_checked:
            results.append(_check_rights(dc_settings, test_account))
            rights_checked = True
        if ok and not configuration_checked:
            # What the configuration asks of the domain, asked once (of the first DC that works).
            results.extend(_check_configuration(dc_settings, rules, test_account))
            configuration_checked = True
    if test_account and not rights_checked:
        results.append(CheckResult(f"rights on {test_account}", False, "not checked: no domain controller could be used"))
    return results + local


# --- the forkserver -------------------------------------------------------------------------


def _check_forkserver(settings: Settings) -> list[CheckResult]:
    """``kiosk.forkserver_socket``: where sessions find ``kiosk forkserver``.
    A missing socket is a warning: sessions then load the kiosk themselves."""
    import stat
    from pathlib import Path

    kiosk, backend = getattr(settings, "kiosk", None), getattr(settings, "backend", None)  # read by shape
    configured = getattr(kiosk, "forkserver_socket", "")
    if not configured:
        return []
    results = []
    if not getattr(backend, "socket", ""):
        results.append(_warn(
            "forkserver",
            "kiosk.forkserver_socket is set but backend.socket is not: the shipped kiosk-forkserver.service "
            "lets a session reach no network and write no store, which a session building its own backend needs",
        ))
    try:
        is_socket = stat.S_ISSOCK(Path(configured).stat().st_mode)
    except OSError as exc:
        return [*results, _warn(
            "forkserver",
            f"{configured}: {exc.strerror or exc}; sessions load the kiosk themselves "
            "(systemctl enable --now kiosk-forkserver.socket)",
        )]
    if not is_socket:
        return [*results, CheckResult("forkserver", False, f"{configured} is not a socket")]
    return [*results, CheckResult("forkserver", True, f"sessions start as forks of the forkserver on {configured}")]


# --- languages ---------------------------------------------------------------------------


def _check_languages(settings: Settings) -> list[CheckResult]:
    """Each offered language: its catalogue is installed, and every text the
    configuration adds (questions, group titles, text overrides, a changed
    title or help text, what mails quote) has its own wording in it; a missing one shows in the
    default language's (or English) words instead."""
    from kiosk.config.schema import KioskSettings, MailSettings, RemindersSettings
    from kiosk.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

    kiosk = getattr(settings, "kiosk", None)  # read by shape, like _check_factors
    if kiosk is None:
        return []
    offered = list(kiosk.languages)
    default = kiosk.default_language or offered[0]
    results: list[CheckResult] = []
    names = ", ".join(f"{code} ({LANGUAGES[code].name})" for code in offered)
    wide = [code for code in offered if LANGUAGES[code].wide]
    note = f"; {', '.join(wide)} hidden on the Linux console (TERM=linux)" if wide else ""
    results.append(CheckResult("languages", True, f"offers {names}, default {default}{note}"))
    defaults = KioskSettings()
    for code in offered:
        if code != SOURCE_LANGUAGE and not (LOCALE_DIR / code / "LC_MESSAGES" / "kiosk.mo").is_file():
            results.append(CheckResult(f"language {code}", False, f"the catalogue kiosk/locale/{code} is not installed: reinstall the kiosk"))
            continue
        missing: list[str] = []
        for question in settings.questions.questions:
            if isinstance(question.text, str):
                if code != default:
                    missing.append(f"question {question.id} (text.{code})")
            elif code not in question.text:
                missing.append(f"question {question.id} (text.{code})")
        for step in settings.questions.questionnaire:
            if step.group is not None and code != default and code not in step.title:
                missing.append(f"group {step.group!r} (title.{code})")
        if settings.features.activate:
            for proof in settings.activation.proof:
                if code not in proof.label if isinstance(proof.label, dict) else code != default:
                    missing.append(f"activation proof {proof.attribute} (label.{code})")
        own = kiosk.texts.get(code)
        own = own if isinstance(own, dict) else {}
        if code != SOURCE_LANGUAGE:
            for key, value in kiosk.texts.items():
                if isinstance(value, str) and key not in own:
                    missing.append(f"kiosk.texts.{code}.{key!r} (overridden in English)")
        for key, setting, value, built_in in (
            ("banner.title", "kiosk.title", kiosk.title, defaults.title),
            ("welcome.help", "kiosk.help_text", kiosk.help_text, defaults.help_text),
        ):
            if value != built_in and code != default and key not in own:
                missing.append(f"kiosk.texts.{code}.{key!r} ({setting} is changed)")
        mail, reminders = getattr(settings, "mail", None), getattr(settings, "reminders", None)
        for name, quoted, default_text, used in (
            ("mail.contact", getattr(mail, "contact", ""), MailSettings().contact, getattr(mail, "enabled", False)),
            ("reminders.kiosk_location", getattr(reminders, "kiosk_location", ""), RemindersSettings().kiosk_location,
             getattr(reminders, "enabled", False)),
        ):
            # what a mail quotes: its default is translated, a changed text is not
            if used and (code not in quoted if isinstance(quoted, dict) else quoted != default_text and code != default):
                missing.append(f"{name}.{code} (in mails)")
        if missing:
            shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
            results.append(
                _warn(f"language {code}", f"missing {LANGUAGES[code].name} texts: {shown}; add them, or people reading {code} see other words there")
            )
        else:
            results.append(CheckResult(f"language {code}", True, "every configured text is translated"))
    return results


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
        from kiosk.backend.store.postgres import probe_server, tls_refusal
    except ImportError:
        return [CheckResult("store server", False, "psycopg is not installed: pip install 'sspr-kiosk[postgresql]'")]
    refusal = tls_refusal(url)
    if refusal is not None:  # said before connecting: not even the login crosses in clear
        return [CheckResult("store tls", False, refusal)]
    try:
        facts = probe_server(url)
    except (StoreError, ConfigError) as exc:
        return [CheckResult("store server", False, f"{exc.detail or exc}")]
    results = [CheckResult("store server", True, f"{facts.where}: PostgreSQL {facts.server_version}, logged in")]

    # A remote server without sslmode=verify-full was refused above, so only a local one may be in clear.
    if facts.tls_protocol is None:
        tls = CheckResult("store tls", True, "not encrypted: a local connection (a Unix socket or loopback)")
    elif facts.sslmode == "verify-full":
        tls = CheckResult("store tls", True, f"{facts.tls_protocol}, server certificate verified (sslmode=verify-full)")
    else:
        tls = CheckResult(
            "store tls", True,
            f"{facts.tls_protocol}, the server's certificate not verified (sslmode={facts.sslmode or 'prefer'}): "
            "a local connection",
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


def _check_passwords(settings: Settings) -> list[CheckResult]:
    """The kiosk's own password rules: the minimum against NIST SP 800-63B rev 4's
    15 for password-only use, and a local Pwned Passwords copy, its size and age."""
    import time

    from kiosk.backend.password_quality import NIST_MIN_LENGTH, pwned_copy_state

    config = getattr(settings, "passwords", None)  # settings are read by shape, like _check_mail's
    if config is None:
        return []
    results: list[CheckResult] = []
    if config.min_length >= NIST_MIN_LENGTH:
        results.append(CheckResult("passwords min_length", True, f"at least {config.min_length} characters"))
    else:
        shown = f"{config.min_length}, or the directory's own if larger" if config.min_length else "the directory's own"
        results.append(_warn(
            "passwords min_length",
            f"the minimum length is {shown}: under the {NIST_MIN_LENGTH} that NIST SP 800-63B rev 4 asks of a password "
            f"used alone; set passwords.min_length = {NIST_MIN_LENGTH} (or the domain's minimum)",
        ))
    directory = config.pwned_dir
    if directory is None:
        results.append(CheckResult("passwords pwned_dir", True, "not set: the built-in list of common passwords only"))
        return results
    try:
        count, newest = pwned_copy_state(directory)
    except OSError as exc:
        results.append(CheckResult("passwords pwned_dir", False, f"{directory}: cannot read it ({exc.strerror or exc})"))
        return results
    if count == 0 or newest is None:
        results.append(CheckResult(
            "passwords pwned_dir", False,
            f"{directory}: no range files (5-hex SHA-1 prefix names, e.g. 21BD1): download the copy into it",
        ))
        return results
    days = max(0, int((time.time() - newest) // 86400))
    shown = f"{directory}: {count} range files of 1048576, newest {days} day(s) old"
    if count < 16**5:
        results.append(_warn("passwords pwned_dir", f"{shown}: incomplete, passwords in the missing ones pass"))
    elif days > 180:
        results.append(_warn("passwords pwned_dir", f"{shown}: refresh it (new breaches are added)"))
    else:
        results.append(CheckResult("passwords pwned_dir", True, shown))
    return results


def _check_pepper(settings: Settings) -> list[CheckResult]:
    answers = getattr(settings, "answers", None)  # a partial settings object (tests) has none
    return [] if answers is None else [_check_pepper_file(answers.pepper_file)]


def _check_pepper_file(configured: Path | None) -> CheckResult:
    """The answers' site pepper: present (or where it will be made), readable,
    32 bytes, not readable by others; its owner, mode and id (every host
    sharing a store must show the same id)."""
    import grp
    import pwd
    import stat

    from kiosk.backend.answers import PEPPER_BYTES, pepper_id, pepper_path

    name = "answers pepper"
    path = pepper_path(configured, os.environ)
    if path is None:
        return _warn(name, "no pepper file and no secrets directory to make one in: answers are hashed without "
                           "a pepper, so a copy of the store allows guessing them offline; set answers.pepper_file")
    try:
        facts = path.stat()
    except FileNotFoundError:
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return CheckResult(name, False, f"{path} does not exist and this user cannot make it in {path.parent}: "
                                            f"make it (head -c {PEPPER_BYTES} /dev/urandom, mode 0640 root:kiosk)")
        return _warn(name, f"{path} does not exist yet: the kiosk makes it on first use (mode 0600); "
                           "with several hosts, copy that one file to each")
    except OSError as exc:
        return CheckResult(name, False, f"cannot read {path}: {exc.strerror or exc}")

    def _named(lookup: Any, number: int) -> str:
        try:
            return str(lookup(number)[0])
        except KeyError:
            return str(number)

    owner = f"{_named(pwd.getpwuid, facts.st_uid)}:{_named(grp.getgrgid, facts.st_gid)}"
    mode = stat.S_IMODE(facts.st_mode)
    shown = f"{path} ({owner}, mode {mode:04o}"
    pepper = _read_key_file(name, path, mode, shown, PEPPER_BYTES)
    if isinstance(pepper, CheckResult):
        return pepper
    return CheckResult(name, True, f"{shown}, id {pepper_id(pepper)}; every host sharing the store needs this file)")


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


def _check_mail(settings: Settings) -> list[CheckResult]:
    """The SMTP relay of the notices, when mail is on: reach, TLS (certificate
    verified), login; and how many notices wait in the outbox."""
    mail = getattr(settings, "mail", None)
    if mail is None or not mail.enabled:
        return []
    from kiosk.backend.mail import MailError, SmtpMailer

    try:
        facts = SmtpMailer(mail).probe()
    except MailError as exc:
        passed = {"reach": [], "tls": ["reach"], "login": ["reach", "tls"], "send": ["reach", "tls", "login"]}
        done = [CheckResult(f"mail {step}", True, f"{mail.host}:{mail.port}") for step in passed.get(exc.step, [])]
        return [*done, CheckResult(f"mail {exc.step}", False, exc.detail)]
    trust = f"the CA file {mail.ca_file}" if mail.ca_file else "the system CA store"
    results = [
        CheckResult("mail reach", True, f"{facts.where}: the relay answers"),
        CheckResult("mail tls", True, f"{facts.tls_version} ({mail.tls}), certificate verified for {mail.host} against {trust}"),
        CheckResult("mail login", True, f"logged in as {mail.username}") if mail.username
        else CheckResult("mail login", True, "no login (mail.username is not set)"),
    ]
    return results


_LABELS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def print_checks(results: list[CheckResult], stream: TextIO | None = None) -> int:
    """Print one line per result; 0 when none failed (warnings allowed), else 1."""
    out = stream or sys.stdout
    for result in results:
        print(f"{_LABELS[result.state]}  {result.name}: {result.message}", file=out)
    failed = sum(r.state == "fail" for r in results)
    warned = sum(r.state == "warn" for r in results)
    passed = len(results) - failed - warned
    summary = f"{passed} passed, {warned} warnings, {failed} failed" if warned else f"{passed} passed, {failed} failed"
    print(summary, file=out)
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
    shown = ", ".join(dict.fromkeys(str(a[4][0]) for a in addresses))
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
    from kiosk.backend.directory.ad import ActiveDirectory, ActiveDirectoryProbe, ad_data_code
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
    probe = ActiveDirectoryProbe(directory)
    try:
        try:
            probe.service_bind()
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
                probe.base_dn(domain)
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
                policy = probe.domain_policy(domain)
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
    from kiosk.backend.directory.ad import ActiveDirectory, ActiveDirectoryProbe
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
        writable = ActiveDirectoryProbe(directory).writable_attributes(account)
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


# --- what the configuration asks of the domain ------------------------------------------
#
# Asked once, of the first DC that works, through the adapter's public probes
# (kiosk.backend.directory.ad.probe): the domains and the default
# domain, the service account's groups, fine-grained password policies, the
# policy-hints control, and whether the eligibility rules name real objects
# and leave anyone eligible.

#: Accounts read per base DN to see whether anyone is eligible (one search, no paging).
ELIGIBILITY_SAMPLE = 500


def _check_configuration(
    settings: DirectorySettings, rules: EligibilitySettings | None, test_account: str | None
) -> list[CheckResult]:
    from kiosk.backend.directory.ad import ActiveDirectory, ActiveDirectoryProbe
    from kiosk.backend.errors import DirectoryError

    directory = ActiveDirectory(settings)
    probe = ActiveDirectoryProbe(directory)
    results: list[CheckResult] = []
    steps: list[tuple[str, Any]] = [
        ("domains", lambda: _check_domains(probe, settings)),
        ("service account", lambda: [_check_service_account(probe, settings)]),
        ("policy hints", lambda: [_check_policy_hints(probe)]),
    ]
    if rules is not None:
        steps.append(("eligibility", lambda: _check_eligibility(probe, settings, rules)))
    steps.append(("password settings", lambda: _check_password_settings(probe, settings, test_account)))
    try:
        for name, step in steps:
            try:
                results.extend(step())
            except DirectoryError as exc:
                results.append(CheckResult(name, False, f"could not check: {exc.detail or exc.code}"))
    finally:
        directory.close()
    return results


def _domain_of(settings: DirectorySettings, dn: str) -> Any:
    found = [d for d in settings.domains if is_within(dn, d.base_dn)]
    return max(found, key=lambda d: len(d.base_dn), default=None)


def _check_domains(probe: ActiveDirectoryProbe, settings: DirectorySettings) -> list[CheckResult]:
    results: list[CheckResult] = []
    for domain in settings.domains:
        name = f"domain {domain.netbios}"
        facts = probe.domain_facts(domain)
        if not facts.naming_context:
            results.append(CheckResult(
                name, False,
                f"base_dn {domain.base_dn} is in none of this DC's naming contexts "
                f"({', '.join(probe.root_dse().naming_contexts) or 'none readable'}): it matches no domain here; "
                "set base_dn to the domain's DN (or an OU in it)",
            ))
            continue
        if facts.netbios and facts.netbios != domain.netbios:
            results.append(CheckResult(
                name, False,
                f"base_dn {domain.base_dn} is in the domain {facts.netbios} ({facts.dns}), not {domain.netbios}: "
                f"people typing {facts.netbios}\\name would be unknown; set netbios = \"{facts.netbios}\" "
                "(and default_domain to match)",
            ))
            continue
        if facts.dns and domain.dns != facts.dns and domain.dns not in {s.lower() for s in facts.upn_suffixes}:
            results.append(_warn(
                name,
                f"dns = \"{domain.dns}\" is neither the domain's DNS name ({facts.dns}) nor one of its UPN suffixes: "
                f"name@{facts.dns} is looked up in the default domain instead; set dns = \"{facts.dns}\"",
            ))
            continue
        results.append(CheckResult(
            name, True, f"{domain.base_dn} is in the domain {facts.netbios or '?'} ({facts.dns or '?'}, {facts.naming_context})"
        ))
    default = settings.effective_default_domain
    configured = {d.netbios for d in settings.domains}
    if default not in configured:
        results.append(CheckResult(
            "default domain", False,
            f"directory.default_domain {default!r} matches no configured domain ({', '.join(sorted(configured))}): "
            "every bare name would be unknown; set it to one of them",
        ))
    else:
        results.append(CheckResult("default domain", True, f"bare names are looked up in {default}"))
    return results


def _check_service_account(probe: ActiveDirectoryProbe, settings: DirectorySettings) -> CheckResult:
    name = "service account"
    facts = probe.service_account()
    if facts is None:
        return _warn(
            name,
            f"could not find the entry of {settings.service_user} to check its groups; "
            "give directory.service_user as DOMAIN\\name, name@dns or its DN",
        )
    privileged = facts.privileged
    if privileged:
        return CheckResult(
            name, False,
            f"{facts.dn} is a member (nested counts) of {', '.join(privileged)}: it must not be an administrator; "
            "use an ordinary account with only the delegated rights (README: The service account's rights)",
        )
    return CheckResult(name, True, f"{facts.dn} is in no administrative group ({len(facts.token_sids)} groups in its token)")


def _check_policy_hints(probe: ActiveDirectoryProbe) -> CheckResult:
    name = "policy hints"
    hints = probe.policy_hints()
    if hints.supported:
        return CheckResult(name, True, "the DC takes the policy-hints control: resets enforce password history")
    if hints.source == "config":
        return _warn(
            name,
            "directory.use_policy_hints is false: kiosk resets do not enforce password history (a person may "
            "reuse an old password); set it to true on Windows Server 2012 or later DCs",
        )
    if hints.supported is False:
        return _warn(
            name,
            "the DC refuses the policy-hints control (1.2.840.113556.1.4.2239; Samba does): kiosk resets "
            "cannot enforce password history, only a person's own change does; to enforce it, use DCs on "
            "Windows Server 2012 or later",
        )
    return _warn(name, f"could not tell whether the DC takes the policy-hints control ({hints.detail})")


def _check_password_settings(
    probe: ActiveDirectoryProbe, settings: DirectorySettings, test_account: str | None
) -> list[CheckResult]:
    from kiosk.backend.identity import parse_identity

    accounts: list[Account] = []  # msDS-PSOApplied finds the PSOs in use; also the test account's resultant PSO
    if test_account:
        identity = parse_identity(test_account, [(d.netbios, d.dns) for d in settings.domains], settings.effective_default_domain)
        account = probe.directory.find_account(identity) if identity is not None else None
        if account is not None:
            accounts.append(account)
    fix = "grant the service account Read on CN=Password Settings Container,CN=System,<domain> (inherited by its PSOs)"
    results: list[CheckResult] = []
    for domain in settings.domains:
        name = f"password settings {domain.netbios}"
        facts = probe.password_settings(domain, [a for a in accounts if a.domain == domain.netbios])
        if facts.unreadable:
            shown = ", ".join(dn.split(",", 1)[0] for dn in facts.unreadable)
            results.append(CheckResult(
                name, False,
                f"{len(facts.unreadable)} fine-grained password policy(ies) exist that the service account cannot read "
                f"({shown}): people under them would be shown the domain policy's rules and then refused; {fix}",
            ))
        elif not facts.container_readable:
            results.append(_warn(name, f"cannot read {facts.container_dn}: fine-grained policies would not be seen; {fix}"))
        elif facts.readable:
            results.append(CheckResult(name, True, f"{len(facts.readable)} fine-grained password policy(ies), all readable"))
        else:
            results.append(CheckResult(name, True, "no fine-grained password policies (the domain policy applies to all)"))
    return results


def _check_eligibility(
    probe: ActiveDirectoryProbe, settings: DirectorySettings, rules: EligibilitySettings
) -> list[CheckResult]:
    """Every DN and name in [eligibility] exists, and someone is eligible at all."""
    results: list[CheckResult] = []
    bases_text = ", ".join(d.base_dn for d in settings.domains)
    good_ous: list[str] = []
    for key, dns, want_group in (
        ("allowed_ous", rules.allowed_ous, False),
        ("allowed_groups", rules.allowed_groups, True),
        ("denied_groups", rules.denied_groups, True),
    ):
        for dn in dns:
            name = f"eligibility {key}"
            effect = "it denies nobody (its members would be let in)" if key.startswith("denied") else "it matches nobody"
            if _domain_of(settings, dn) is None:
                results.append(CheckResult(
                    name, False, f"{dn} is in no configured domain ({bases_text}): {effect}; fix the DN"
                ))
                continue
            entry = probe.entry(dn, ["objectClass"])
            if entry is None:
                results.append(CheckResult(
                    name, False,
                    f"{dn} does not exist (or the service account cannot read it): {effect}; check its spelling",
                ))
                continue
            classes = {c.lower() for c in entry.get("objectclass", [])}
            if want_group and "group" not in classes:
                results.append(CheckResult(name, False, f"{dn} is not a group ({', '.join(sorted(classes))}); name a group's DN"))
                continue
            if key == "allowed_ous":
                good_ous.append(dn)
    for sam in rules.denied_users:
        if not any(probe.users_named(domain, sam) for domain in settings.domains):
            results.append(_warn(
                "eligibility denied_users",
                f"{sam!r} matches no account in {', '.join(d.netbios for d in settings.domains)}: it denies nobody; "
                "check the spelling (a sAMAccountName)",
            ))
    if rules.allowed_ous and not good_ous:
        results.append(CheckResult(
            "eligibility", False, "nobody is eligible: none of eligibility.allowed_ous exists; fix them (or empty the list)"
        ))
        return results
    bases = good_ous or [d.base_dn for d in settings.domains]
    sample: list[Account] = []
    more = False
    for base in bases:
        found, truncated = probe.accounts_under(base, ELIGIBILITY_SAMPLE)
        sample.extend(found)
        more = more or truncated
    results.append(_eligible_count(sample, rules, bases, more))
    return results


def _eligible_count(accounts: list[Account], rules: EligibilitySettings, bases: list[str], more: bool) -> CheckResult:
    from collections import Counter

    from kiosk.backend.eligibility import check_eligibility

    where = "under " + ", ".join(bases) if bases else "in the demo directory"
    if not accounts:
        return CheckResult("eligibility", False, f"nobody is eligible: there is no user account {where}")
    verdicts = [(a, check_eligibility(a, rules)) for a in accounts]
    eligible = [a for a, v in verdicts if v.allowed]
    counted = f"{'the first ' if more else ''}{len(accounts)} accounts {where}"
    if not eligible:
        reasons = Counter(v.reason for _, v in verdicts)
        listed = "; ".join(f"{count} {reason}" for reason, count in reasons.most_common(3))
        return CheckResult(
            "eligibility", False,
            f"nobody is eligible among {counted} ({listed}); check allowed_ous/allowed_groups and the deny lists",
        )
    return CheckResult(
        "eligibility", True, f"{len(eligible)} of {counted} are eligible (e.g. {eligible[0].qualified_name})"
    )


# --- a demo directory in a config ---------------------------------------------------


def _check_demo(settings: DirectorySettings, rules: EligibilitySettings | None) -> list[CheckResult]:
    """No DC to check: say what the demo holds, whether its names can be found
    as configured, and who of them is eligible."""
    from kiosk.backend.directory import open_directory
    from kiosk.backend.identity import parse_identity

    directory = open_directory(settings)
    try:
        accounts = list(directory.accounts())
        domains = sorted({a.domain for a in accounts})
        results = [CheckResult(
            "directory", True,
            f"demo directory: {directory.label}, {len(accounts)} pretend people in {', '.join(domains) or 'no domain'} "
            f"({', '.join(a.sam for a in accounts)}); no domain controller to check",
        )]
        configured = getattr(settings, "domains", None) or []
        pairs = [(d.netbios, d.dns) for d in configured] or [(n, "") for n in domains]
        default = getattr(settings, "effective_default_domain", "") or (domains[0] if domains else "")
        found = []
        for account in accounts:
            identity = parse_identity(account.sam, pairs, default)
            if identity is not None and directory.find_account(identity) is not None:
                found.append(account.sam)
        if accounts and not found:
            results.append(CheckResult(
                "default domain", False,
                f"every demo name would be unknown: a bare name is looked up in {default or '(none)'}, the demo holds "
                f"{', '.join(domains)}; remove directory.default_domain and [[directory.domains]] from a demo config "
                f"(or set them to {', '.join(domains)})",
            ))
        else:
            results.append(CheckResult("default domain", True, f"bare names are looked up in {default}: {len(found)} of the demo's people found"))
        if rules is not None:
            results.extend(_demo_eligibility(accounts, rules))
    finally:
        directory.close()
    return results


def _demo_eligibility(accounts: list[Account], rules: EligibilitySettings) -> list[CheckResult]:
    results: list[CheckResult] = []
    groups = {dn_key(g) for a in accounts for g in a.groups}
    for dn in rules.allowed_ous:
        if not any(is_within(a.dn, dn, strictly=True) for a in accounts):
            results.append(CheckResult("eligibility allowed_ous", False, f"{dn} holds no demo account: it matches nobody"))
    for key, dns in (("allowed_groups", rules.allowed_groups), ("denied_groups", rules.denied_groups)):
        for dn in dns:
            if dn_key(dn) not in groups:
                results.append(CheckResult(f"eligibility {key}", False, f"{dn} is no group of the demo's: it matches nobody"))
    for sam in rules.denied_users:
        if not any(a.sam.lower() == sam.lower() for a in accounts):
            results.append(_warn("eligibility denied_users", f"{sam!r} is none of the demo's people: it denies nobody"))
    results.append(_eligible_count(accounts, rules, [], False))
    return results


# --- the second factor ([factors]) ------------------------------------------------------------

#: What each method needs of a person, as the factor lines say it.
_METHOD_NAMES = {"questions": "security questions", "totp": "an authenticator app", "email": "a mail address"}


def _check_factors(settings: Settings, earlier: list[CheckResult]) -> list[CheckResult]:
    """The [factors] policy against what can work: an e-mailed code needs the
    relay (``earlier`` holds its lines), an authenticator app needs
    ``features.totp`` (else nobody can set one up) and its key file; and, among
    the eligible people, how many have each method the policy names (no one
    with a required one: nobody passes). Nothing to say when the policy is
    questions alone and authenticators are off (the kiosk before second factors)."""
    factors = getattr(settings, "factors", None)  # read by shape, like _check_mail
    features = getattr(settings, "features", None)
    if factors is None or features is None:
        return []
    from kiosk.config.schema import FACTOR_ACTIONS

    methods = factors.methods
    if methods <= {"questions"} and not features.totp:
        return []
    actions = [a for a in FACTOR_ACTIONS if a == "helpdesk" or getattr(features, a, False)]
    scopes = {action: _factor_scopes(factors, action) for action in actions}
    results = [CheckResult("factors policy", True, "; ".join(
        f"{action}: " + ", ".join(f"{who}: {_alternatives_text(alts)}" for who, alts in scopes[action])
        for action in actions
    ))]
    if "totp" in methods and not features.totp:
        results.append(_factor_blocked(
            "factors totp", "totp", scopes,
            "features.totp is off, so nobody can set up an authenticator app (only people who set one up before "
            "have one); turn on features.totp or change [factors]",
        ))
    if "email" in methods:
        relay_failed = [r for r in earlier if r.name.startswith("mail") and not r.ok]
        mail = getattr(settings, "mail", None)
        if mail is None or not mail.enabled:
            results.append(_factor_blocked(
                "factors email", "email", scopes, "mail is off: no e-mailed code can be sent; set up [mail]"
            ))
        elif relay_failed:
            results.append(_factor_blocked(
                "factors email", "email", scopes,
                f"the relay failed its check ({relay_failed[0].name}): no e-mailed code can be sent until it works",
            ))
    if features.totp or "totp" in methods:
        results.append(_check_totp_key(settings))
    results.extend(_factor_people(settings, methods, scopes))
    return results


def _factor_scopes(factors: Any, action: str) -> list[tuple[str, list[list[str]]]]:
    """(who, alternatives) for ``action``: everyone's, then each group's own."""
    scopes: list[tuple[str, list[list[str]]]] = []
    for group in factors.groups:
        own = getattr(group, action)
        if own is not None:
            scopes.append((f"group {group.group.split(',', 1)[0]}", own))
    return [("everyone else" if scopes else "everyone", getattr(factors, action)), *scopes]


def _alternatives_text(alternatives: list[list[str]]) -> str:
    return " or ".join("+".join(alternative) for alternative in alternatives)


def _factor_blocked(
    name: str, method: str, scopes: dict[str, list[tuple[str, list[list[str]]]]], why: str
) -> CheckResult:
    """``method`` cannot be used: a failure where some action's alternatives all
    need it (those people cannot do that action), else a warning (the
    alternatives with it are dead)."""
    blocked = _needing(method, scopes)
    if blocked:
        return CheckResult(name, False, f"{why}; meanwhile nobody passes {', '.join(blocked)}: every alternative needs {method}")
    return _warn(name, f"{why}; the alternatives with {method} cannot be used meanwhile")


def _needing(method: str, scopes: dict[str, list[tuple[str, list[list[str]]]]]) -> list[str]:
    """"reset for everyone", "unlock for group CN=Finance": where every alternative needs ``method``."""
    return [f"{action} for {who}" for action, listed in scopes.items() for who, alts in listed
            if all(method in alternative for alternative in alts)]


def _read_key_file(name: str, path: Path, mode: int, shown: str, size: int) -> bytes | CheckResult:
    """A key kept outside the store (the pepper, the TOTP key): its bytes, or
    the failure that says why not (readable by anyone, unreadable, wrong size).
    ``shown`` opens the line's parenthesis ("PATH (mode 0600")."""
    if mode & 0o007:
        return CheckResult(name, False, f"{shown}) can be read by anyone: chmod o-rwx (0640 root:kiosk or 0600)")
    try:
        key = path.read_bytes()
    except OSError as exc:
        return CheckResult(name, False, f"{shown}) cannot be read by this user: {exc.strerror or exc}")
    if len(key) != size:
        return CheckResult(name, False, f"{shown}) is {len(key)} bytes, not {size}")
    return key


def _check_totp_key(settings: Settings) -> CheckResult:
    """The key that seals authenticator secrets: where it is (or will be made),
    its mode and size, and whether it opens a secret already in the store
    (another host's key would not)."""
    import stat

    from kiosk.backend.errors import KioskError
    from kiosk.backend.store import open_store
    from kiosk.backend.totp import KEY_BYTES, SecretBox, key_path

    name = "factors totp key"
    try:
        path = key_path(settings.factors.totp_key_file, os.environ)
    except KioskError as exc:
        return CheckResult(name, False, f"{exc.detail or exc}: nobody can set up an authenticator app")
    sealed = None
    stored = 0
    try:
        store = open_store(settings.store.url)
        try:
            for record in store.totps():
                stored += 1
                sealed = sealed or record
        finally:
            store.close()
    except KioskError:
        pass  # the store's own line says why
    try:
        facts = path.stat()
    except FileNotFoundError:
        if stored:
            return CheckResult(name, False, f"{path} does not exist, yet {stored} authenticator app(s) in the store were "
                                            "sealed with a key: restore that key file (the one every host shares)")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return CheckResult(name, False, f"{path} does not exist and this user cannot make it in {path.parent}: "
                                            f"make it (head -c {KEY_BYTES} /dev/urandom, mode 0640 root:kiosk)")
        return _warn(name, f"{path} does not exist yet: the kiosk makes it on first use (mode 0600); "
                           "with several hosts, make it once and copy that one file to each")
    except OSError as exc:
        return CheckResult(name, False, f"cannot read {path}: {exc.strerror or exc}")
    mode = stat.S_IMODE(facts.st_mode)
    shown = f"{path} (mode {mode:04o}"
    key = _read_key_file(name, path, mode, shown, KEY_BYTES)
    if isinstance(key, CheckResult):
        return key
    if sealed is not None:
        try:
            SecretBox(key).open(sealed.secret, sealed.account_guid)
        except KioskError:
            return CheckResult(name, False, f"{shown}) does not open the authenticator apps in the store (another "
                                            "host's key?): copy the key file every host shares here")
    return CheckResult(name, True, f"{shown}, {KEY_BYTES} bytes; it opens the {stored} authenticator app(s) in the store; "
                                   "every host sharing the store needs this file)")


def _factor_people(
    settings: Settings, methods: set[str], scopes: dict[str, list[tuple[str, list[list[str]]]]]
) -> list[CheckResult]:
    """Among the eligible people (the first ELIGIBILITY_SAMPLE under each base,
    as the eligibility line counts them): who has each method the policy
    names. Warnings for a method nobody has set up and for a mail attribute
    most people lack; never a failure (people set methods up over time)."""
    from kiosk.backend.admin import enrollment_status
    from kiosk.backend.directory import open_directory
    from kiosk.backend.eligibility import check_eligibility
    from kiosk.backend.errors import KioskError
    from kiosk.backend.questions import Questionnaire
    from kiosk.backend.store import open_store

    rules = settings.eligibility
    try:
        directory = open_directory(settings.directory, mail_attribute=settings.mail.address_attribute)
        try:
            if settings.directory.kind == "demo":
                accounts, more = list(directory.accounts()), False
            else:
                from kiosk.backend.directory.ad import ActiveDirectoryProbe

                probe = ActiveDirectoryProbe(cast("Any", directory))
                accounts, more = [], False
                for base in rules.allowed_ous or [d.base_dn for d in settings.directory.domains]:
                    found, truncated = probe.accounts_under(base, ELIGIBILITY_SAMPLE)
                    accounts.extend(found)
                    more = more or truncated
        finally:
            directory.close()
        eligible = [
            a for a in accounts
            if check_eligibility(a, rules, operator_groups=settings.helpdesk.operator_groups).allowed
        ]
        questionnaire = Questionnaire.from_settings(settings.questions)
        store = open_store(settings.store.url)
        try:
            have = {
                a.guid: {m for m, present in (
                    ("questions", enrollment_status(store, questionnaire, a.guid).state == "enrolled"),
                    ("totp", store.totp(a.guid) is not None),
                    ("email", bool(a.mail)),
                ) if present}
                for a in eligible
            }
        finally:
            store.close()
    except KioskError as exc:
        return [_warn("factors people", f"could not count who has which method: {exc.detail or exc.code}")]
    total = len(eligible)
    if not total:
        return []  # the eligibility line says nobody is eligible
    of = f"{'the first ' if more else ''}{total} eligible"
    counts = {m: sum(1 for got in have.values() if m in got) for m in ("questions", "totp", "email")}
    can = dict.fromkeys(scopes, 0)
    for account in eligible:
        groups = {dn_key(g) for g in account.groups}

        def member_of(dn: str, groups: set[Any] = groups) -> bool:
            return dn_key(dn) in groups

        for action in scopes:
            alternatives = settings.factors.alternatives(action, member_of)
            can[action] += any(set(alternative) <= have[account.guid] for alternative in alternatives)
    results = [CheckResult("factors people", True, f"of {of}: " + ", ".join(
        f"{counts[m]} have {_METHOD_NAMES[m]}" for m in ("questions", "totp", "email") if m in methods
    ) + "; " + ", ".join(f"{can[action]} can pass {action} now" for action in scopes))]
    for method in ("questions", "totp"):
        if method in methods and counts[method] == 0 and (method != "totp" or settings.features.totp):
            needing = _needing(method, scopes)
            results.append(_warn(
                f"factors {method}",
                f"none of {of} people has set up {_METHOD_NAMES[method]} yet"
                + (f"; every alternative of {', '.join(needing)} needs it: nobody passes those until they do"
                   if needing else "")
                + "; kiosk remind asks them (reminders.enabled)",
            ))
    if "email" in methods:
        without = total - counts["email"]
        attribute = settings.mail.address_attribute
        if without * 2 > total:
            results.append(_warn(
                "factors email",
                f"{attribute} is empty on {without} of {of} accounts: they cannot get an e-mailed code; fill "
                f"{attribute} in the directory or set mail.address_attribute to the attribute that holds addresses",
            ))
        elif without:
            results.append(CheckResult("factors email", True, f"{attribute} is empty on {without} of {of} accounts: "
                                                               "they cannot get an e-mailed code"))
    return results
