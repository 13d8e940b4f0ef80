"""A pretend directory for ``kiosk demo``: in memory, AD-like, clearly not real.

It behaves like the Active Directory service where a person can see it:
lockout after repeated bad passwords, the domain password policy with history,
privileged accounts. It exists so the kiosk can be tried with no domain, no
root and no network. Passwords are kept only as salted digests. Its people are
enrolled and locked by ``kiosk.backend.demo_seed``, not here.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from kiosk.backend.errors import (
    AccountDisabled,
    AccountLocked,
    AccountNotFound,
    InsufficientRights,
    InvalidCredentials,
    PasswordMustChange,
    PasswordRejected,
)
from kiosk.backend import ldap_filter
from kiosk.backend.model import Account, Identity, PasswordPolicy
from kiosk.backend.policy import PasswordRules, evaluate

DEMO_NETBIOS = "DEMO"
DEMO_DNS = "demo.example"
DEMO_BASE_DN = "DC=demo,DC=example"
DEMO_POLICY = PasswordPolicy(
    min_length=8,
    complexity=True,
    history_length=5,
    lockout_threshold=5,
    lockout_duration_seconds=300,
)


@dataclass(frozen=True)
class DemoUser:
    sam: str
    given: str
    surname: str
    #: "" = a random password nobody knows (a new account waiting for activation)
    password: str
    locked: bool = False
    enabled: bool = True
    groups: tuple[str, ...] = ()
    #: question id -> answer, enrolled when the demo starts
    answers: dict[str, str] = field(default_factory=dict)
    #: other directory attributes (employeeID, department, ...)
    attributes: dict[str, str] = field(default_factory=dict)
    #: True for a new account: no lastLogonTimestamp until its first good bind
    never_logged_on: bool = False


DEMO_USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1",
             answers={"birth-city": "Paris", "first-pet": "Rex", "first-school": "Hillside"}),
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3", locked=True,
             answers={"birth-city": "Lyon", "first-pet": "Misty", "childhood-street": "Oak Lane"}),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44",
             groups=(f"CN=Domain Admins,CN=Users,{DEMO_BASE_DN}",)),
    DemoUser("erin", "Erin", "Early", "", never_logged_on=True,
             attributes={"employeeID": "E2001", "department": "Demo"}),
)

DEMO_HINT = (
    "DEMO - not a real domain. Try: alice (answers Paris / Rex / Hillside), "
    "carol (locked; Lyon / Misty / Oak Lane), bob (password Demo!Bob22: set up questions), "
    "dana (an admin: always refused), "
    "erin (new account: activate it with the code DEMO-E2001)."
)


@dataclass
class _Entry:
    account: Account
    digests: list[bytes]  # newest first: the current password, then history
    salt: bytes
    failures: int = 0
    locked_at: float | None = None


#: Not writable through update_attributes: what the directory computes,
#: names, and what grants access. The demo writes plain strings only.
_PROTECTED = frozenset(
    a.lower()
    for a in (
        "sAMAccountName", "userPrincipalName", "distinguishedName", "objectClass", "objectCategory",
        "objectGUID", "userAccountControl", "memberOf", "lastLogonTimestamp", "unicodePwd",
        "displayName", "givenName", "sn", "adminCount",
    )
)
UF_NORMAL_ACCOUNT, UF_ACCOUNTDISABLE = 0x200, 0x2


def _ldap_view(account: Account) -> dict[str, list[str]]:
    """The account as the attributes an LDAP filter sees (AD-like names)."""
    view: dict[str, list[str]] = {name: [value] for name, value in account.attributes.items() if value}
    view.update(
        {
            "objectClass": ["top", "person", "organizationalPerson", "user"],
            "objectCategory": ["person"],
            "distinguishedName": [account.dn],
            "sAMAccountName": [account.sam],
            "userPrincipalName": [account.upn] if account.upn else [],
            "displayName": [account.display_name] if account.display_name else [],
            "givenName": [account.given_name] if account.given_name else [],
            "sn": [account.surname] if account.surname else [],
            "userAccountControl": [str(UF_NORMAL_ACCOUNT | (0 if account.enabled else UF_ACCOUNTDISABLE))],
            "memberOf": sorted(account.groups),
            "lastLogonTimestamp": [] if account.never_logged_on else ["1"],
            # 0: must change at next logon (a new account, or after a reset with must_change).
            "pwdLastSet": ["0"] if account.must_change_password else ["133000000000000000"],
            "adminCount": ["1"] if account.admin_count else [],
        }
    )
    return {name: values for name, values in view.items() if values}


class DemoDirectory:
    label = "DEMO directory - not a real domain"
    is_demo = True
    demo_hint = DEMO_HINT

    def __init__(
        self, users: tuple[DemoUser, ...] = DEMO_USERS, *, clock=time.monotonic, max_password_age_days: int | None = None
    ) -> None:
        #: The policy's maximum password age, if passwords expire (as AD computes
        #: msDS-UserPasswordExpiryTimeComputed from pwdLastSet and it).
        self._max_age = timedelta(days=max_password_age_days) if max_password_age_days else None
        self._lock = threading.Lock()
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self.users = users
        for user in users:
            salt = secrets.token_bytes(16)
            account = Account(
                guid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"kiosk-demo:{user.sam}")),
                dn=f"CN={user.given} {user.surname},OU=People,{DEMO_BASE_DN}",
                sam=user.sam,
                domain=DEMO_NETBIOS,
                upn=f"{user.sam}@{DEMO_DNS}",
                display_name=f"{user.given} {user.surname}",
                given_name=user.given,
                surname=user.surname,
                enabled=user.enabled,
                groups=frozenset(g.lower() for g in user.groups),
                admin_count=bool(user.groups),
                # A new account is made with "must change at next logon" (pwdLastSet=0).
                password_last_set=None if user.never_logged_on else datetime.now(UTC),
                must_change_password=user.never_logged_on,
                never_logged_on=user.never_logged_on,
                mail=user.attributes.get("mail", f"{user.sam}@{DEMO_DNS}"),
                preferred_language=user.attributes.get("preferredLanguage", ""),
                attributes=dict(user.attributes),
            )
            password = user.password or secrets.token_urlsafe(24)
            self._entries[account.guid] = _Entry(account, [self._digest(salt, password)], salt)

    @staticmethod
    def _digest(salt: bytes, password: str) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)

    # --- reading ----------------------------------------------------------------

    def find_account(self, identity: Identity) -> Account | None:
        with self._lock:
            for entry in self._entries.values():
                account = entry.account
                if identity.upn is not None:
                    if (account.upn or "").casefold() == identity.upn.casefold():
                        return self._current(entry)
                elif identity.domain == DEMO_NETBIOS and account.sam.casefold() == (identity.sam or "").casefold():
                    return self._current(entry)
        return None

    def refresh(self, account: Account) -> Account:
        with self._lock:
            entry = self._entries.get(account.guid)
            if entry is None:
                raise AccountNotFound(account.guid)
            return self._current(entry)

    def _locked(self, entry: _Entry) -> bool:
        if entry.locked_at is None:
            return False
        if self._clock() - entry.locked_at >= DEMO_POLICY.lockout_duration_seconds:
            entry.locked_at, entry.failures = None, 0
            return False
        return True

    def _current(self, entry: _Entry) -> Account:
        locked = self._locked(entry)
        account = entry.account
        expires = (
            account.password_last_set + self._max_age
            if self._max_age and account.password_last_set and not account.must_change_password else None
        )
        return replace(account, locked=locked, bad_password_count=entry.failures, password_expires=expires)

    def password_policy(self, account: Account) -> PasswordPolicy:
        if self._max_age:
            return replace(DEMO_POLICY, max_age_seconds=int(self._max_age.total_seconds()))
        return DEMO_POLICY

    # --- acting -------------------------------------------------------------------

    def bind_as_nobody(self, password: str) -> None:
        self._digest(secrets.token_bytes(16), password)  # the work of a refused bind
        raise InvalidCredentials("52e")

    def verify_password(self, account: Account, password: str) -> None:
        with self._lock:
            entry = self._entries.get(account.guid)
            if entry is None:
                raise InvalidCredentials("52e")
            if self._locked(entry):
                raise AccountLocked("775")
            if not password or not secrets.compare_digest(
                entry.digests[0], self._digest(entry.salt, password)
            ):
                entry.failures += 1
                if entry.failures >= DEMO_POLICY.lockout_threshold:
                    entry.locked_at = self._clock()
                raise InvalidCredentials("52e")
            if not entry.account.enabled:
                raise AccountDisabled("533")
            entry.failures = 0
            if entry.account.must_change_password:
                raise PasswordMustChange("773")  # AD: right password, but no logon until changed
            # AD (and Samba) set lastLogonTimestamp on a good bind.
            entry.account = replace(entry.account, never_logged_on=False)

    def lock_out(self, sam: str) -> None:
        """What enough bad passwords would do (the demo's locked person)."""
        with self._lock:
            for entry in self._entries.values():
                if entry.account.sam == sam:
                    entry.failures, entry.locked_at = DEMO_POLICY.lockout_threshold, self._clock()

    def unlock(self, account: Account) -> None:
        with self._lock:
            entry = self._entries[account.guid]
            entry.locked_at, entry.failures = None, 0

    def reset_password(self, account: Account, new_password: str, *, must_change: bool = False) -> None:
        with self._lock:
            entry = self._entries[account.guid]
            self._set_password(entry, new_password)
            if must_change:  # one write, as AD's one modify of unicodePwd and pwdLastSet=0
                entry.account = replace(entry.account, must_change_password=True, password_last_set=None)

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        with self._lock:
            entry = self._entries[account.guid]
            if self._locked(entry):
                raise AccountLocked("775")
            if not old_password or not secrets.compare_digest(
                entry.digests[0], self._digest(entry.salt, old_password)
            ):
                entry.failures += 1  # a wrong old password counts as a bad password, as in AD
                if entry.failures >= DEMO_POLICY.lockout_threshold:
                    entry.locked_at = self._clock()
                raise PasswordRejected("wrong_old_password")
            entry.failures = 0
            self._set_password(entry, new_password)

    def _set_password(self, entry: _Entry, new_password: str) -> None:
        rules = PasswordRules(DEMO_POLICY, entry.account.name_parts())
        failed = [c.key for c in evaluate(rules, new_password) if not c.ok and c.key != "name"]
        if failed:
            raise PasswordRejected({"length": "too_short", "complexity": "not_complex"}[failed[0]])
        digest = self._digest(entry.salt, new_password)
        if any(secrets.compare_digest(digest, old) for old in entry.digests[: DEMO_POLICY.history_length]):
            raise PasswordRejected("in_history")
        entry.digests = [digest, *entry.digests][: DEMO_POLICY.history_length]
        entry.account = replace(entry.account, password_last_set=datetime.now(UTC), must_change_password=False)

    # --- listing, search, attributes ----------------------------------------------

    def search_accounts(self, text: str, *, limit: int = 50) -> list[Account]:
        prefix = text.strip().casefold()
        if not prefix or limit <= 0:
            return []
        with self._lock:
            found = [
                self._current(entry)
                for entry in self._entries.values()
                if any(
                    value.casefold().startswith(prefix)
                    for value in (
                        entry.account.sam,
                        entry.account.upn or "",
                        entry.account.display_name,
                        entry.account.given_name,
                        entry.account.surname,
                    )
                )
            ]
        return sorted(found, key=lambda a: a.sam.casefold())[:limit]

    def accounts(self) -> Iterator[Account]:
        with self._lock:
            accounts = [self._current(entry) for entry in self._entries.values()]
        yield from accounts

    def read_attributes(self, account: Account, names: Sequence[str]) -> dict[str, list[str]]:
        with self._lock:
            entry = self._entries.get(account.guid)
            if entry is None:
                raise AccountNotFound(account.guid)
            view = {k.lower(): v for k, v in _ldap_view(entry.account).items()}
        return {name: list(view[name.lower()]) for name in dict.fromkeys(names) if name.lower() in view}

    def update_attributes(self, account: Account, changes: Mapping[str, str | None]) -> None:
        refused = [name for name in changes if name.lower() in _PROTECTED]
        if refused:
            raise InsufficientRights(f"the demo does not write {', '.join(refused)}")
        with self._lock:
            entry = self._entries.get(account.guid)
            if entry is None:
                raise AccountNotFound(account.guid)
            attributes = dict(entry.account.attributes)
            for name, value in changes.items():
                for old in [k for k in attributes if k.lower() == name.lower()]:
                    del attributes[old]
                if value is not None:
                    attributes[name] = value
            entry.account = replace(entry.account, attributes=attributes)

    def matches(self, account: Account, ldap_filter_text: str) -> bool:
        tree = ldap_filter.parse(ldap_filter_text)
        with self._lock:
            entry = self._entries.get(account.guid)
            if entry is None:
                return False
            return ldap_filter.evaluate(tree, _ldap_view(entry.account))

    def close(self) -> None:
        pass

