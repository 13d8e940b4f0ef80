"""Helpers for tests against the Samba AD lab that ``scripts/ad-lab`` runs.

Importable without pytest. The fixtures in ``tests/conftest.py`` use these:

    lab = start_lab(dir)            # provision/start/seed, returns a Lab
    reset_lab(dir); stop_lab(dir)
    conn = admin_connection(lab)    # LDAPS, verified cert, raises on errors
    dn, sam, pw = create_user(lab, conn, groups=[lab.staff_team_dn])
    lock_by_bad_binds(lab, f"{lab.netbios}\\{sam}")
    delete_user(conn, dn)

Bind names that work against the lab: the DN, ``KIOSK\\sam`` and ``sam@kiosk.test``.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ldap3 import BASE, MODIFY_ADD, NONE, RESTARTABLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "ad-lab"

#: seeded users (sAMAccountName); their DNs/passwords are in Lab.dns/Lab.passwords
SEEDED_USERS = ("alice", "bob", "carol", "dadmin", "dave", "mallory", "newbie", "oscar")
#: description of users made by create_user; ``ad-lab reset`` deletes old ones
THROWAWAY_MARK = "kiosk-lab throwaway"
#: LDAP_MATCHING_RULE_IN_CHAIN (transitive group membership)
IN_CHAIN = "1.2.840.113556.1.4.1941"
#: lab lockout threshold (KIOSK_DC_LOCKOUT_THRESHOLD at seed time)
LOCKOUT_THRESHOLD = 3

START_TIMEOUT = 600  # includes an apt-get install on a fresh machine
OTHER_TIMEOUT = 120


class LabError(RuntimeError):
    """scripts/ad-lab failed, or the lab does not look as expected."""


@dataclass(frozen=True)
class Lab:
    url: str  # ldaps://127.0.0.1:636
    starttls_url: str  # ldap://127.0.0.1:389
    host: str
    port: int
    ca_file: str
    tls_server_name: str  # DC1.kiosk.test (the cert has no SAN; verify by this name)
    base_dn: str
    netbios: str  # KIOSK
    dns_domain: str  # kiosk.test (UPN suffix)
    realm: str
    admin_user: str  # KIOSK\Administrator
    admin_dn: str
    admin_password: str
    svc_user: str  # KIOSK\svc-kiosk
    svc_dn: str
    svc_password: str
    staff_ou: str
    contractors_ou: str
    groups_ou: str
    service_ou: str
    kiosk_users_dn: str  # CN=Kiosk Users (members only nested, via Staff Team)
    staff_team_dn: str
    kiosk_denied_dn: str
    dir: str
    passwords: dict[str, str] = field(default_factory=dict, hash=False)  # sam -> pw ("" for newbie)
    dns: dict[str, str] = field(default_factory=dict, hash=False)  # sam -> DN
    env: dict[str, str] = field(default_factory=dict, hash=False, repr=False)  # KIOSK_TEST_*

    @classmethod
    def from_env(cls, m: Mapping[str, str]) -> Lab:
        """Build from the ``ad-lab env DIR`` variables (e.g. os.environ after eval)."""
        try:
            g = lambda k: m["KIOSK_TEST_" + k]  # noqa: E731
            return cls(
                url=g("LDAP_URL"),
                starttls_url=g("LDAP_STARTTLS_URL"),
                host=g("LDAP_HOST"),
                port=int(g("LDAP_PORT")),
                ca_file=g("CA_FILE"),
                tls_server_name=g("TLS_SERVER_NAME"),
                base_dn=g("BASE_DN"),
                netbios=g("NETBIOS_DOMAIN"),
                dns_domain=g("UPN_SUFFIX"),
                realm=g("REALM"),
                admin_user=g("ADMIN_USER"),
                admin_dn=g("ADMIN_DN"),
                admin_password=g("ADMIN_PASSWORD"),
                svc_user=g("SVC_USER"),
                svc_dn=g("SVC_DN"),
                svc_password=g("SVC_PASSWORD"),
                staff_ou=g("STAFF_OU"),
                contractors_ou=g("CONTRACTORS_OU"),
                groups_ou=g("GROUPS_OU"),
                service_ou=g("SERVICE_OU"),
                kiosk_users_dn=g("KIOSK_USERS_GROUP_DN"),
                staff_team_dn=g("STAFF_TEAM_GROUP_DN"),
                kiosk_denied_dn=g("KIOSK_DENIED_GROUP_DN"),
                dir=g("DC_DIR"),
                passwords={u: g(u.upper() + "_PASSWORD") for u in SEEDED_USERS},
                dns={u: g(u.upper() + "_DN") for u in SEEDED_USERS},
                env={k: v for k, v in m.items() if k.startswith("KIOSK_TEST_")},
            )
        except KeyError as e:
            raise LabError(f"lab environment lacks {e.args[0]} (old scripts/ad-lab?)") from None

    def nt_name(self, sam: str) -> str:
        return f"{self.netbios}\\{sam}"

    def upn(self, sam: str) -> str:
        return f"{sam}@{self.dns_domain}"


@dataclass(frozen=True)
class LabUser:
    """A throwaway user (the ``lab_user`` fixture)."""

    dn: str
    sam: str
    password: str
    upn: str  # sam@kiosk.test
    nt_name: str  # KIOSK\sam


# ------------------------------------------------------------- the script
def _run(args: list[str], timeout: float, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    cmd = [str(SCRIPT), *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        tail = _tail(e.stderr)
        raise LabError(f"{' '.join(cmd)} timed out after {timeout}s\n{tail}") from None
    except OSError as e:
        raise LabError(f"cannot run {SCRIPT}: {e}") from None
    if p.returncode != 0:
        raise LabError(f"{' '.join(cmd)} exited {p.returncode}\n{_tail(p.stderr)}")
    return p.stdout, p.stderr


def _tail(text: str | bytes | None, n: int = 25) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = (text or "").rstrip().splitlines()[-n:]
    return "--- last lines of stderr ---\n" + "\n".join(lines) if lines else "(no stderr)"


def lab_env(dir: str | os.PathLike[str]) -> dict[str, str]:
    """The KIOSK_TEST_* variables ``ad-lab env DIR`` exports (evaluated by bash)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_TEST_")}
    try:
        p = subprocess.run(
            ["bash", "-c", 'out=$("$0" env "$1") || exit; eval "$out"; env -0', str(SCRIPT), str(dir)],
            capture_output=True, timeout=OTHER_TIMEOUT, env=clean,
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"{SCRIPT} env {dir} timed out") from None
    if p.returncode != 0:
        raise LabError(f"{SCRIPT} env {dir} exited {p.returncode}\n{_tail(p.stderr)}")
    pairs = (item.decode().partition("=") for item in p.stdout.split(b"\0") if item)
    return {k: v for k, _, v in pairs if k.startswith("KIOSK_TEST_")}


def lab_running(dir: str | os.PathLike[str]) -> bool:
    p = subprocess.run([str(SCRIPT), "status", str(dir)], capture_output=True, timeout=OTHER_TIMEOUT)
    return p.returncode == 0


def ensure_lab(dir: str | os.PathLike[str]) -> tuple[Lab, bool]:
    """Like start_lab; also says whether samba was already running for DIR."""
    _, stderr = _run(["start", str(dir)], START_TIMEOUT)
    return Lab.from_env(lab_env(dir)), "ad-lab: already running for " in stderr


def start_lab(dir: str | os.PathLike[str]) -> Lab:
    """Install Samba if missing, provision DIR if new, start samba, seed. Needs root."""
    return ensure_lab(dir)[0]


def reset_lab(dir: str | os.PathLike[str]) -> None:
    """Seeded users/groups/policy back to their initial state (see scripts/ad-lab)."""
    _run(["reset", str(dir)], OTHER_TIMEOUT)


def stop_lab(dir: str | os.PathLike[str]) -> None:
    _run(["stop", str(dir)], OTHER_TIMEOUT)


# ------------------------------------------------------------------ LDAP
def server(lab: Lab, *, starttls: bool = False) -> Server:
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=lab.ca_file,
        valid_names=[lab.tls_server_name],  # we connect by IP; the cert names the DC
    )
    return Server(
        lab.host,
        port=389 if starttls else lab.port,
        use_ssl=not starttls,
        tls=tls,
        get_info=NONE,  # the default SCHEMA read costs ~40 ms and slows rebinds
        connect_timeout=5,
    )


def connect(
    lab: Lab,
    user: str | None,
    password: str | None,
    *,
    starttls: bool = False,
    raise_exceptions: bool = False,
    bind: bool = True,
    strategy: str = SYNC,
) -> Connection:
    """Open an LDAPS (or StartTLS) connection with TCP_NODELAY and bind as user.

    With raise_exceptions=False a failed bind leaves the connection unbound;
    look at ``conn.result`` (e.g. ``data 775`` in ``conn.result['message']``).
    """
    conn = Connection(
        server(lab, starttls=starttls),
        user=user,
        password=password,
        client_strategy=strategy,
        raise_exceptions=raise_exceptions,
        receive_timeout=15,
        read_only=False,
    )
    conn.open()
    # Without this the first request after the TLS handshake waits ~40 ms
    # (Nagle vs delayed ACK), see docs on the lab. Must be set after open().
    conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if starttls:
        conn.start_tls()
    if bind:
        conn.bind()
    return conn


def admin_connection(lab: Lab) -> Connection:
    """Domain admin over LDAPS; raises ldap3 exceptions on any non-success result.

    RESTARTABLE: a session-long connection survives the server dropping it
    (e.g. Samba's idle limit) by reconnecting and rebinding.
    """
    conn = connect(lab, lab.admin_user, lab.admin_password, raise_exceptions=True, strategy=RESTARTABLE)
    if not conn.bound:
        raise LabError(f"admin bind failed: {conn.result}")
    return conn


def try_bind(lab: Lab, bind_name: str, password: str) -> tuple[bool, dict[str, Any]]:
    """One real simple bind; returns (ok, conn.result). Closes the connection."""
    conn = connect(lab, bind_name, password)
    try:
        return conn.bound, dict(conn.result)
    finally:
        conn.unbind()


def can_bind(lab: Lab, bind_name: str, password: str) -> bool:
    return try_bind(lab, bind_name, password)[0]


def lock_by_bad_binds(lab: Lab, user: str, n: int = LOCKOUT_THRESHOLD) -> list[str]:
    """n failed binds with wrong passwords (threshold 3 locks the account).

    Returns the server's messages (``... data 52e ...``, ``... data 775 ...``).
    """
    msgs = []
    for _ in range(n):
        ok, result = try_bind(lab, user, f"Wr0ng!{secrets.token_hex(6)}")
        if ok:
            raise LabError(f"bind as {user} with a wrong password succeeded?")
        msgs.append(result.get("message", ""))
    return msgs


def read_entry(conn: Connection, dn: str, attrs: Iterable[str] = ("*", "+")) -> dict[str, Any] | None:
    """Attributes of dn (ldap3 values: lists of str, bytes for binary), or None.

    Constructed attributes (msDS-User-Account-Control-Computed, ...) must be
    named; '+' does not return them.
    """
    try:
        ok = conn.search(dn, "(objectClass=*)", BASE, attributes=list(attrs))
    except LDAPNoSuchObjectResult:
        return None
    if not ok or not conn.response:
        return None
    return dict(conn.response[0]["attributes"])


def first(entry: Mapping[str, Any] | None, attr: str, default: Any = None) -> Any:
    """First value of attr in a read_entry() result (case-insensitive name)."""
    if not entry:
        return default
    for k, v in entry.items():
        if k.lower() == attr.lower():
            if isinstance(v, list):
                return v[0] if v else default
            return v
    return default


def is_member(conn: Connection, lab: Lab, user_dn: str, group_dn: str, *, nested: bool = True) -> bool:
    """Group membership; nested=True uses LDAP_MATCHING_RULE_IN_CHAIN."""
    rule = f":{IN_CHAIN}:" if nested else ""
    flt = f"(memberOf{rule}={_escape(group_dn)})"
    conn.search(user_dn, flt, BASE, attributes=["1.1"])
    return bool(conn.response) and any(r.get("type") == "searchResEntry" for r in conn.response)


def _escape(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return escape_filter_chars(value)


def new_password() -> str:
    """A fresh password that meets the lab's complexity rules and is in no history."""
    return f"Tmp!{secrets.token_hex(6)}-Aa1"


def create_user(
    lab: Lab,
    conn: Connection,
    name: str | None = None,
    ou: str | None = None,
    password: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    groups: Iterable[str] = (),
) -> tuple[str, str, str]:
    """Create an enabled user (UAC 512) that can bind at once; returns (dn, sam, password).

    name: sAMAccountName (default ``t-<hex8>``, max 20 chars); ou: default
    lab.staff_ou; attributes override/extend the defaults (e.g.
    ``{"userAccountControl": 514, "employeeID": "E42"}``); groups: DNs, or
    names of groups in lab.groups_ou. The user is marked with
    description=THROWAWAY_MARK so ``ad-lab reset`` can clean up after crashes.
    """
    sam = name or f"t-{secrets.token_hex(4)}"
    if len(sam) > 20:
        raise ValueError(f"sAMAccountName longer than 20 characters: {sam!r}")
    password = password or new_password()
    dn = f"CN={sam},{ou or lab.staff_ou}"
    attrs: dict[str, Any] = {
        "sAMAccountName": sam,
        "userPrincipalName": lab.upn(sam),
        "givenName": "Test",
        "sn": sam,
        "displayName": f"Test {sam}",
        "description": THROWAWAY_MARK,
        "unicodePwd": f'"{password}"'.encode("utf-16-le"),
        "userAccountControl": 512,
    }
    attrs.update(attributes or {})
    try:
        ok = conn.add(dn, ["top", "person", "organizationalPerson", "user"], attrs)
    except LDAPException as e:
        raise LabError(f"creating {dn} failed: {e}") from e
    if not ok:
        raise LabError(f"creating {dn} failed: {conn.result}")
    try:
        for g in groups:
            gdn = g if "=" in g else f"CN={g},{lab.groups_ou}"
            if not conn.modify(gdn, {"member": [(MODIFY_ADD, [dn])]}):
                raise LabError(f"adding {dn} to {gdn} failed: {conn.result}")
    except BaseException:
        delete_user(conn, dn)
        raise
    return dn, sam, password


def delete_user(conn: Connection, dn: str) -> bool:
    """Delete dn; False if it did not exist. Group memberships go with it."""
    try:
        ok = conn.delete(dn)
    except LDAPNoSuchObjectResult:
        return False
    if not ok and conn.result.get("result") == 32:
        return False
    if not ok:
        raise LabError(f"deleting {dn} failed: {conn.result}")
    return True


def find_user(conn: Connection, lab: Lab, sam: str) -> str | None:
    """DN of the user with this sAMAccountName, or None."""
    conn.search(lab.base_dn, f"(&(objectClass=user)(sAMAccountName={_escape(sam)}))", SUBTREE, attributes=["1.1"])
    hits = [r["dn"] for r in conn.response if r.get("type") == "searchResEntry"]
    return hits[0] if hits else None


#: Where the domain's fine-grained password policies live (below lab.base_dn).
PSO_CONTAINER = "CN=Password Settings Container,CN=System"


def create_group(lab: Lab, conn: Connection, name: str | None = None, members: Iterable[str] = ()) -> str:
    """A throwaway global security group in lab.groups_ou with these member DNs;
    returns its DN. Marked like throwaway users (``ad-lab reset`` deletes old ones)."""
    sam = name or f"tg-{secrets.token_hex(4)}"
    dn = f"CN={sam},{lab.groups_ou}"
    attrs: dict[str, Any] = {"sAMAccountName": sam, "description": THROWAWAY_MARK}
    if list(members):
        attrs["member"] = list(members)
    if not conn.add(dn, ["top", "group"], attrs):
        raise LabError(f"creating {dn} failed: {conn.result}")
    return dn


def add_member(conn: Connection, group_dn: str, member_dn: str) -> None:
    if not conn.modify(group_dn, {"member": [(MODIFY_ADD, [member_dn])]}):
        raise LabError(f"adding {member_dn} to {group_dn} failed: {conn.result}")


def create_pso(
    lab: Lab, conn: Connection, applies_to: Iterable[str], *, min_length: int = 14, precedence: int = 10,
    max_age: int = -36288000000000,  # 42 days, in AD's negative 100-ns units
) -> str:
    """A throwaway fine-grained password policy (PSO) applied to these DNs
    (users or groups); returns its DN. Only Domain Admins can read it unless
    someone grants more (AD's default, and Samba's). Its name starts with
    ``kiosk-lab-pso-`` (``ad-lab reset`` deletes old ones)."""
    dn = f"CN=kiosk-lab-pso-{secrets.token_hex(4)},{PSO_CONTAINER},{lab.base_dn}"
    attrs: dict[str, Any] = {
        "msDS-PasswordSettingsPrecedence": precedence,
        "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
        "msDS-PasswordHistoryLength": 24,
        "msDS-PasswordComplexityEnabled": "TRUE",
        "msDS-MinimumPasswordLength": min_length,
        "msDS-MinimumPasswordAge": 0,
        "msDS-MaximumPasswordAge": max_age,
        "msDS-LockoutThreshold": LOCKOUT_THRESHOLD,
        "msDS-LockoutObservationWindow": -600000000,
        "msDS-LockoutDuration": -600000000,
    }
    targets = list(applies_to)
    if targets:
        attrs["msDS-PSOAppliesTo"] = targets
    if not conn.add(dn, ["top", "msDS-PasswordSettings"], attrs):
        raise LabError(f"creating {dn} failed: {conn.result}")
    return dn


#: 100-ns intervals in a day, AD's unit for password ages and pwdLastSet
DAY = 864_000_000_000
#: Samba's DSDB_CONTROL_BYPASS_PASSWORD_HASH_OID: a local modify that skips the
#: password_hash module, the one that allows pwdLastSet only 0 or -1
_BYPASS_PASSWORD_HASH = "local_oid:1.3.6.1.4.1.7165.4.3.12:0"

_BACKDATE = """
import sys, time, ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
conf, url, dn, days, control = sys.argv[1:]
lp = LoadParm(); lp.load(conf)
db = SamDB(url=url, session_info=system_session(), lp=lp)
when = int((time.time() + 11644473600) * 10_000_000) - int(days) * %d
m = ldb.Message(); m.dn = ldb.Dn(db, dn)
m["pwdLastSet"] = ldb.MessageElement(str(when), ldb.FLAG_MOD_REPLACE, "pwdLastSet")
db.modify(m, controls=[control])
""" % DAY


def backdate_password(lab: Lab, dn: str, days: int) -> None:
    """Set dn's pwdLastSet to `days` days ago, on the lab's own database (over
    LDAP, AD and Samba allow only 0 and -1). Uses Samba's own Python, as
    samba-tool does."""
    cmd = ["/usr/bin/python3", "-c", _BACKDATE, f"{lab.dir}/etc/smb.conf", f"{lab.dir}/private/sam.ldb", dn,
           str(days), _BYPASS_PASSWORD_HASH]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=OTHER_TIMEOUT)
    if p.returncode != 0:
        raise LabError(f"back-dating pwdLastSet of {dn} failed ({p.returncode})\n{_tail(p.stderr)}")


def expire_password(lab: Lab, conn: Connection, dn: str) -> str:
    """Make dn's password expired (its own bind answers ``data 532``) on the
    running lab: a PSO for dn alone with a maximum age of 2 days (Samba reads
    any maximum of one day or less as "never expires"), and pwdLastSet 3 days
    ago. Returns the PSO's DN (delete it with delete_entry)."""
    pso = create_pso(lab, conn, [dn], min_length=7, precedence=1, max_age=-2 * DAY)
    backdate_password(lab, dn, days=3)
    return pso


def delete_entry(conn: Connection, dn: str) -> bool:
    """Delete one leaf entry (a group, a PSO); False if it did not exist."""
    return delete_user(conn, dn)


def object_sid(conn: Connection, dn: str) -> str:
    """The objectSid of dn as S-1-5-..."""
    conn.search(dn, "(objectClass=*)", BASE, attributes=["objectSid"])
    raw = (conn.response[0].get("raw_attributes") or {}).get("objectSid") if conn.response else None
    if not raw:
        raise LabError(f"{dn} has no readable objectSid")
    sid = raw[0]
    subs = [int.from_bytes(sid[8 + 4 * i : 12 + 4 * i], "little") for i in range(sid[1])]
    return "S-1-" + "-".join(str(v) for v in [int.from_bytes(sid[2:8], "big"), *subs])


def grant_read(lab: Lab, conn: Connection, object_dn: str, trustee_dn: str) -> None:
    """Give trustee_dn Read (list, read property, read control) on object_dn and
    what it contains, as `samba-tool dsacl set` does, on the lab's own database.
    The ACE goes when the object is deleted."""
    sid = object_sid(conn, trustee_dn)
    cmd = ["samba-tool", "dsacl", "set", "-s", f"{lab.dir}/etc/smb.conf", "-H", f"{lab.dir}/private/sam.ldb",
           f"--objectdn={object_dn}", f"--sddl=(A;CI;RPLCLORC;;;{sid})"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=OTHER_TIMEOUT)
    if p.returncode != 0:
        raise LabError(f"{' '.join(cmd)} exited {p.returncode}\n{_tail(p.stderr)}")
