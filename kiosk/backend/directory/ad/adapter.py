"""``ActiveDirectory``: the ``Directory`` protocol over the package's parts
(connections, codecs, result mapping, groups, policy)."""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.core.exceptions import LDAPInvalidFilterError
from ldap3.utils.conv import escape_filter_chars

from kiosk.backend.directory.ad.cache import POLICY_CACHE_SECONDS, TtlCache
from kiosk.backend.directory.ad.codec import (
    Entry,
    dns_name,
    encode_password,
    entries_of,
    filetime,
    guid_filter_value,
    guid_string,
    identity_filter,
)
from kiosk.backend.directory.ad.connection import (
    SERVICE_IDLE_SECONDS,
    SERVICE_RETRY_SECONDS,
    Connections,
    close_quietly,
    search,
)
from kiosk.backend.directory.ad.constants import (
    ACCOUNT_ATTRIBUTES,
    DEFAULT_EXTRA_ATTRIBUTES,
    LOGGER,
    PAGED_RESULTS_OID,
    SEARCH_ATTRIBUTES,
    UF_ACCOUNTDISABLE,
    UF_DONT_EXPIRE_PASSWD,
    UF_LOCKOUT,
    USER_FILTER,
)
from kiosk.backend.directory.ad.groups import GroupReader, guest_dn, naming_context
from kiosk.backend.directory.ad.policy import PolicyHints, PolicyReader
from kiosk.backend.directory.ad.results import (
    SUCCESS,
    raise_for_password_write,
    raise_for_result,
    raise_for_user_bind,
    result_detail,
)
from kiosk.backend.errors import (
    AccountNotFound,
    ConfigError,
    DirectoryError,
    InvalidCredentials,
    PasswordRejected,
)
from kiosk.backend.dn import dn_key, is_within
from kiosk.backend.model import Account, Identity, PasswordPolicy
from kiosk.config import DirectorySettings, DomainSettings

log = logging.getLogger(LOGGER)

#: Entries per page of a listing (simple paged results).
PAGE_SIZE = 500


class ActiveDirectory:
    """The ``Directory`` protocol for Active Directory (and Samba AD)."""

    is_demo = False

    def __init__(
        self,
        settings: DirectorySettings,
        *,
        extra_attributes: Iterable[str] = DEFAULT_EXTRA_ATTRIBUTES,
        mail_attribute: str = "mail",
        policy_cache_seconds: float = POLICY_CACHE_SECONDS,
        service_idle_seconds: float = SERVICE_IDLE_SECONDS,
        service_retry_seconds: float = SERVICE_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = Connections(
            settings,
            service_idle_seconds=service_idle_seconds,
            service_retry_seconds=service_retry_seconds,
            clock=clock,
        )
        self.settings = settings
        self.endpoints = self.connection.endpoints
        self.extra_attributes = tuple(dict.fromkeys(extra_attributes))
        self.mail_attribute = mail_attribute
        domains = settings.domains
        names = ", ".join(d.dns for d in domains) or settings.urls[0]
        self.label = f"Active Directory ({names})"
        self._domains: dict[str, DomainSettings] = {d.netbios.upper(): d for d in domains}
        cache = TtlCache(policy_cache_seconds, clock)
        self.membership = GroupReader()
        self.policies = PolicyReader(cache)
        self.hints = PolicyHints(settings.use_policy_hints)

    # --- what the parts and the probes share --------------------------------------

    @property
    def domains(self) -> tuple[DomainSettings, ...]:
        """The configured domains, in order."""
        return tuple(self._domains.values())

    @property
    def account_attributes(self) -> tuple[str, ...]:
        """What is read of every account."""
        return tuple(dict.fromkeys((*ACCOUNT_ATTRIBUTES, *self.extra_attributes, self.mail_attribute)))

    def domain(self, netbios: str) -> DomainSettings | None:
        return self._domains.get(netbios.upper())

    def domain_of_dn(self, dn: str) -> DomainSettings | None:
        matches = [d for d in self._domains.values() if is_within(dn, d.base_dn)]
        return max(matches, key=lambda d: len(d.base_dn), default=None)

    def to_account(
        self,
        connection: Connection,
        domain: DomainSettings,
        entry: Entry,
        known: dict[bytes, str] | None = None,
    ) -> Account:
        """An account from its entry, its groups read (``known``: group SID -> DN,
        a cache a listing shares)."""
        membership = self.membership.membership(connection, domain, entry, known)
        privileged = membership.privileged
        if self._is_service_account(domain, entry):
            privileged += ("the kiosk's service account",)
        return self._account(domain, entry, membership.groups, privileged)

    def _is_service_account(self, domain: DomainSettings, entry: Entry) -> bool:
        """Whether ``entry`` is the account the kiosk binds as (directory.service_user:
        a DN, DOMAIN\\sam, a UPN or a bare sam)."""
        user = self.settings.service_user.strip().casefold()
        if not user:
            return False
        sam = entry.text("sAMAccountName").casefold()
        if "=" in user and "," in user:
            return dn_key(user) == dn_key(entry.text("distinguishedName") or entry.dn)
        if "\\" in user:
            prefix, _, name = user.partition("\\")
            return prefix in (domain.netbios.casefold(), domain.dns.casefold()) and name == sam
        if "@" in user:
            return user in (entry.text("userPrincipalName").casefold(), f"{sam}@{domain.dns.casefold()}")
        return user == sam

    # --- reading ---------------------------------------------------------------

    def find_account(self, identity: Identity) -> Account | None:
        domain = self.domain(identity.domain)
        if domain is None:
            return None
        # AD's implicit UPN (sam@dns-domain) names the domain by its DNS name:
        # the configured one, or the one its naming context spells.
        implicit = {domain.dns.lower(), dns_name(naming_context(domain.base_dn))} - {""}
        search_filter = identity_filter(identity, implicit)
        if search_filter is None:
            return None
        return self._find_one(domain, search_filter, prefer_upn=identity.upn)

    def refresh(self, account: Account) -> Account:
        domain = self.domain(account.domain) or self.domain_of_dn(account.dn)
        if domain is None:
            raise AccountNotFound(f"no configured domain holds {account.dn}")
        found = self._find_one(domain, f"(objectGUID={guid_filter_value(account.guid)})")
        if found is None:
            raise AccountNotFound(f"no account with objectGUID {account.guid} ({account.qualified_name})")
        return found

    def _find_one(self, domain: DomainSettings, search_filter: str, *, prefer_upn: str | None = None) -> Account | None:
        """The one account the filter finds. ``prefer_upn``: when an explicit
        UPN and an implicit one (sam@dns-domain) both match, the explicit wins."""

        def read(connection: Connection) -> Account | None:
            entries = search(connection, domain.base_dn, search_filter, self.account_attributes, size_limit=3)
            if len(entries) > 1 and prefer_upn:
                explicit = [e for e in entries if e.text("userPrincipalName").casefold() == prefer_upn.casefold()]
                entries = explicit if len(explicit) == 1 else entries
            if len(entries) != 1:
                if len(entries) > 1:
                    log.warning("more than one account matches %s under %s", search_filter, domain.base_dn)
                self.membership.decoy(connection, domain)  # the same searches as for a real account
                return None
            return self.to_account(connection, domain, entries[0])

        return self.connection.run(read)

    def _account(
        self, domain: DomainSettings, entry: Entry, groups: frozenset[str], privileged: tuple[str, ...]
    ) -> Account:
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
            privileged=privileged,
            # lastLogon is per DC (not replicated); lastLogonTimestamp lags by
            # up to 14 days. Both zero: this account has never logged on.
            never_logged_on=last_logon == 0,
            mail=entry.texts(self.mail_attribute)[0] if entry.has(self.mail_attribute) else "",
            preferred_language=entry.text("preferredLanguage"),
            attributes=extras,
        )

    # --- listing and search ------------------------------------------------------

    def _pages(self, domain: DomainSettings, search_filter: str, attributes: Sequence[str]) -> Iterator[list[Entry]]:
        """A subtree search under the domain's base DN, one page (PAGE_SIZE
        entries) at a time. The service lock is held per page, not between
        pages, so a long listing does not stop the kiosk's visitors."""
        cookie: bytes | None = None
        while True:

            def read(connection: Connection, cookie: bytes | None = cookie) -> tuple[list[Entry], bytes | None]:
                connection.search(
                    domain.base_dn,
                    search_filter,
                    search_scope=SUBTREE,
                    attributes=list(attributes),
                    paged_size=PAGE_SIZE,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                if result.get("result") != SUCCESS:
                    raise_for_result(result_detail("paged search", f"{domain.base_dn} {search_filter}", result), result)
                control = (result.get("controls") or {}).get(PAGED_RESULTS_OID) or {}
                return entries_of(connection.response), (control.get("value") or {}).get("cookie") or None

            # A page cookie belongs to its connection: only the first page may
            # be repeated on a new one.
            entries, cookie = self.connection.run(read, retry=cookie is None)
            yield entries
            if not cookie:
                return

    def search_accounts(self, text: str, *, limit: int = 50) -> list[Account]:
        text = text.strip()
        if not text or limit <= 0:
            return []
        value = escape_filter_chars(text)
        terms = "".join(f"({name}={value}*)" for name in SEARCH_ATTRIBUTES)
        search_filter = f"(&{USER_FILTER}(|{terms}))"

        def key(item: tuple[DomainSettings, Entry]) -> tuple[str, str]:
            return item[1].text("sAMAccountName").casefold(), item[0].netbios

        best: list[tuple[DomainSettings, Entry]] = []
        for domain in self._domains.values():
            for entries in self._pages(domain, search_filter, self.account_attributes):
                # Keep only the first ``limit`` by name: a one-letter search in
                # a big domain must not hold every match in memory.
                best = heapq.nsmallest(limit, best + [(domain, e) for e in entries], key=key)
        known: dict[bytes, str] = {}
        return self.connection.run(
            lambda connection: [self.to_account(connection, domain, entry, known) for domain, entry in best]
        )

    def accounts(self) -> Iterator[Account]:
        # One paged search per domain; group membership costs one base search
        # per account (tokenGroups) plus one resolution for group SIDs not seen
        # before in this listing.
        known: dict[bytes, str] = {}
        for domain in list(self._domains.values()):
            for entries in self._pages(domain, USER_FILTER, self.account_attributes):
                def accounts(connection: Any, entries: list[Any] = entries, domain: Any = domain) -> list[Account]:
                    return [self.to_account(connection, domain, e, known) for e in entries]

                yield from self.connection.run(accounts)

    # --- attributes ----------------------------------------------------------------

    def read_attributes(self, account: Account, names: Sequence[str]) -> dict[str, list[str]]:
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        entries = self.connection.run(lambda c: search(c, account.dn, "(objectClass=*)", names, scope=BASE))
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

        result = self.connection.run(write)  # a replace is idempotent: safe to repeat
        if result.get("result") != SUCCESS:
            names = ", ".join(changes)
            raise_for_result(result_detail(f"update of {names} on", account.dn, result), result)

    def matches(self, account: Account, ldap_filter: str) -> bool:
        try:
            return bool(self.connection.run(lambda c: search(c, account.dn, ldap_filter, ["1.1"], scope=BASE)))
        except LDAPInvalidFilterError as exc:
            raise ConfigError(f"invalid LDAP filter {ldap_filter!r}: {exc}") from None

    # --- passwords ---------------------------------------------------------------

    def verify_password(self, account: Account, password: str) -> None:
        if not password:
            # An empty simple bind is an anonymous bind, which "succeeds".
            raise InvalidCredentials("empty password (not sent: it would be an anonymous bind)")
        connection, result = self.connection.bound(account.dn, password)
        try:
            if result.get("result") == SUCCESS:
                return
        finally:
            close_quietly(connection)
        raise_for_user_bind(result_detail("bind as", account.dn, result), result)

    def bind_as_nobody(self, password: str) -> None:
        # The same round trip as verify_password's refused bind (AD answers 49),
        # and the same work in the DC: a bind as a DN that does not exist is
        # refused before the DC looks for an account or checks a password, so
        # it is cheaper than a real account's. The built-in Guest is a real
        # user object that is disabled (AD checks the password, then refuses),
        # as a person's locked or disabled account would be. Never a person's
        # account: a wrong password there would count toward their lockout.
        domain = next(iter(self._domains.values()))
        connection, result = self.connection.bound(guest_dn(domain), password or "-")
        close_quietly(connection)
        raise InvalidCredentials(result_detail("bind as", "nobody", result))

    def unlock(self, account: Account) -> None:
        def write(connection: Connection) -> dict[str, Any]:
            connection.modify(account.dn, {"lockoutTime": [(MODIFY_REPLACE, [0])]})
            return dict(connection.result or {})

        result = self.connection.run(write)
        if result.get("result") != SUCCESS:
            raise_for_result(result_detail("unlock (lockoutTime=0)", account.dn, result), result)

    def reset_password(self, account: Account, new_password: str, *, must_change: bool = False) -> None:
        value = encode_password(new_password)
        # A replace is idempotent: repeating it after a dropped connection is safe.
        result = self.connection.run(
            lambda connection: self.hints.reset(connection, account.dn, value, must_change=must_change)
        )
        if result.get("result") != SUCCESS:
            raise_for_password_write(result_detail("password reset of", account.dn, result), result)

    @property
    def policy_hints_supported(self) -> bool | None:
        """Whether the DC took the policy-hints control on a reset (None: not tried yet)."""
        return self.hints.supported

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
        result = self.connection.run(write, retry=False)
        if result.get("result") != SUCCESS:
            raise_for_password_write(result_detail("password change of", account.dn, result), result)

    # --- policy ------------------------------------------------------------------

    def password_policy(self, account: Account) -> PasswordPolicy:
        domain = self.domain(account.domain) or self.domain_of_dn(account.dn)
        if domain is None:
            raise AccountNotFound(f"no configured domain holds {account.dn}")
        return self.connection.run(lambda connection: self.policies.effective(connection, account.dn, domain))

    def close(self) -> None:
        self.connection.close()

    def _bound(self, user: str, password: str) -> tuple[Connection, dict[str, Any]]:
        # The single module's name, still used by bench/directory.py: prefer connection.bound.
        return self.connection.bound(user, password)
