"""Read-only probes for ``kiosk check``: what the configuration asks of the
domain, asked of a domain controller as the service account.

``ActiveDirectoryProbe`` is the whole API ``kiosk check`` uses beyond the
``Directory`` protocol; it works through the adapter's public parts
(its connections, domains, readers), never its privates.
"""

from __future__ import annotations

from functools import partial

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ldap3 import BASE, LEVEL, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.utils.conv import escape_filter_chars

from kiosk.backend.directory.ad.adapter import ActiveDirectory
from kiosk.backend.directory.ad.codec import Entry, entries_of, privileged_sid_name, sid_string
from kiosk.backend.dn import DnKey, dn_key, is_within
from kiosk.backend.directory.ad.connection import search
from kiosk.backend.directory.ad.constants import (
    PASSWORD_SETTINGS_CONTAINER,
    POLICY_HINTS_OID,
    POLICY_HINTS_VALUE,
    USER_FILTER,
)
from kiosk.backend.directory.ad.results import (
    INSUFFICIENT_ACCESS,
    NO_SUCH_OBJECT,
    REFERRAL,
    SIZE_LIMIT_EXCEEDED,
    SUCCESS,
    UNAVAILABLE_CRITICAL_EXTENSION,
    raise_for_result,
    result_detail,
)
from kiosk.backend.errors import DirectoryError
from kiosk.backend.model import Account, PasswordPolicy
from kiosk.config import DomainSettings

T = TypeVar("T")

#: A DN that does not exist: the policy-hints probe modifies it, so nothing is ever written.
_HINTS_PROBE_RDN = "CN=kiosk-check-policy-hints-probe"


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
        return self.directory.connection.run(operation)

    def _base(self, dn: str, attributes: Sequence[str]) -> Entry | None:
        def read(connection: Connection) -> Entry | None:
            connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=list(attributes))
            result = connection.result or {}
            if result.get("result") not in (SUCCESS, NO_SUCH_OBJECT, REFERRAL):  # a referral: elsewhere
                raise_for_result(result_detail("search", dn, result), result)
            found = entries_of(connection.response)
            return found[0] if found else None

        return self._read(read)

    # --- bind, base DN, policy, rights ------------------------------------------------

    def service_bind(self) -> None:
        """Bind as the service account now (a fresh connection), even during a
        back-off: an administrator asked. ServiceAccountError."""
        self.directory.connection.rebind()

    def base_dn(self, domain: DomainSettings) -> None:
        """The domain's base DN exists and can be read. DirectoryError."""

        def read(connection: Connection) -> None:
            if not search(connection, domain.base_dn, "(objectClass=*)", ["1.1"], scope=BASE):
                raise DirectoryError(f"{domain.base_dn} does not exist or cannot be read")

        self._read(read)

    def domain_policy(self, domain: DomainSettings) -> PasswordPolicy:
        """The domain's password policy, read now (not from the cache)."""
        policies = self.directory.policies
        policies.forget_domain(domain)
        return self._read(lambda connection: policies.domain(connection, domain))

    def writable_attributes(self, account: Account) -> frozenset[str]:
        """Attributes of ``account`` the service account may write
        (allowedAttributesEffective), lower-cased: a rights check that changes nothing."""
        def read(connection: Connection) -> frozenset[str]:
            entries = search(connection, account.dn, "(objectClass=*)", ["allowedAttributesEffective"], scope=BASE)
            return frozenset(v.lower() for v in entries[0].texts("allowedAttributesEffective")) if entries else frozenset()

        return self._read(read)

    # --- what the configuration asks of the domain -----------------------------------------

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
        contexts = [nc for nc in root.naming_contexts if is_within(domain.base_dn, nc)]
        if not contexts:
            return DomainFacts("", "", "")
        context = max(contexts, key=len)
        configuration = next((nc for nc in root.naming_contexts if nc.lower().startswith("cn=configuration,")), "")
        if not configuration:
            return DomainFacts(context, "", "")
        partitions = "CN=Partitions," + configuration

        def read(connection: Connection) -> tuple[list[Entry], list[Entry]]:
            refs = search(
                connection, partitions, f"(&(objectClass=crossRef)(nCName={escape_filter_chars(context)}))",
                ["nETBIOSName", "dnsRoot"], scope=LEVEL,
            )
            return refs, search(connection, partitions, "(objectClass=*)", ["uPNSuffixes"], scope=BASE)

        refs, container = self._read(read)
        suffixes = tuple(container[0].texts("uPNSuffixes")) if container else ()
        if not refs:
            return DomainFacts(context, "", "", suffixes)
        return DomainFacts(context, refs[0].text("nETBIOSName").upper(), refs[0].text("dnsRoot").lower(), suffixes)

    def users_named(self, domain: DomainSettings, sam: str) -> list[str]:
        """DNs of the user objects with this sAMAccountName in the domain."""
        search_filter = f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(sam)}))"
        return self._read(lambda c: [e.dn for e in search(c, domain.base_dn, search_filter, ["1.1"], size_limit=2)])

    def accounts_under(self, base_dn: str, limit: int) -> tuple[list[Account], bool]:
        """Up to ``limit`` person accounts under ``base_dn`` (groups read as the
        kiosk reads them), and whether there were more."""
        directory = self.directory
        domain = directory.domain_of_dn(base_dn)
        if domain is None:
            return [], False
        known: dict[bytes, str] = {}

        def read(connection: Connection) -> tuple[list[Account], bool]:
            connection.search(
                base_dn, USER_FILTER, search_scope=SUBTREE, attributes=list(directory.account_attributes), size_limit=limit
            )
            result = connection.result or {}
            if result.get("result") not in (SUCCESS, SIZE_LIMIT_EXCEEDED, NO_SUCH_OBJECT):
                raise_for_result(result_detail("search", f"{base_dn} {USER_FILTER}", result), result)
            entries = entries_of(connection.response)
            accounts = [directory.to_account(connection, domain, e, known) for e in entries]
            return accounts, result.get("result") == SIZE_LIMIT_EXCEEDED

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
                domains = [d for d in directory.domains if d.netbios == prefix.upper()] or list(directory.domains)
                search_filter = f"(sAMAccountName={escape_filter_chars(sam)})"
            elif "@" in user:
                domains = list(directory.domains)
                search_filter = f"(userPrincipalName={escape_filter_chars(user)})"
            else:
                domains = list(directory.domains)
                search_filter = f"(sAMAccountName={escape_filter_chars(user)})"
            for domain in domains:
                found = self._read(partial(_search_dn_only, base=domain.base_dn, search_filter=search_filter))
                if len(found) == 1:
                    dn = found[0].dn
                    break
        if not dn:
            return None
        entry = self._base(dn, ["objectSid", "tokenGroups"])
        if entry is None:
            return None
        sid = sid_string(entry.raw("objectSid") or b"")
        tokens = tuple(s for s in (sid_string(v) for v in entry.raws("tokenGroups")) if s)
        return ServiceAccountFacts(dn=entry.dn, sid=sid, token_sids=tokens)

    def password_settings(self, domain: DomainSettings, accounts: Iterable[Account] = ()) -> PasswordSettingsFacts:
        """The PSOs of the domain as the service account sees them. A PSO it may
        not read is listed without attributes (Samba) or not at all; it is still
        found through what points at it and is readable by default:
        msDS-PSOApplied on accounts and groups, msDS-ResultantPSO of ``accounts``."""
        context = self.domain_facts(domain).naming_context or domain.base_dn
        container_dn = f"{PASSWORD_SETTINGS_CONTAINER},{context}"
        container = self._base(container_dn, ["objectClass"])

        def listed(connection: Connection) -> list[Entry]:
            if container is None:
                return []
            return search(
                connection, container_dn, "(objectClass=msDS-PasswordSettings)", ["msDS-MinimumPasswordLength"], scope=LEVEL
            )

        readable: dict[DnKey, str] = {}
        # Without read access a PSO is still listed (Samba 4.17: its DN, no attributes).
        referenced: dict[DnKey, str] = {}
        for pso in self._read(listed):
            (readable if pso.has("msDS-MinimumPasswordLength") else referenced)[dn_key(pso.dn)] = pso.dn

        for holder in self._read(lambda c: search(c, context, "(msDS-PSOApplied=*)", ["msDS-PSOApplied"])):
            for dn in holder.texts("msDS-PSOApplied"):
                referenced.setdefault(dn_key(dn), dn)
        for account in accounts:
            found = self._base(account.dn, ["msDS-ResultantPSO"])
            dn = found.text("msDS-ResultantPSO") if found is not None else ""
            if dn:
                referenced.setdefault(dn_key(dn), dn)
        unreadable = []
        for key, dn in referenced.items():
            if key in readable:
                continue
            settings = self._base(dn, ["msDS-MinimumPasswordLength"])
            if settings is not None and settings.has("msDS-MinimumPasswordLength"):
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
        known = directory.hints.supported
        if known is not None:
            return HintsProbe(known, advertised, "reset")
        base = directory.domains[0].base_dn if directory.domains else self.root_dse().default_naming_context

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
        if code == UNAVAILABLE_CRITICAL_EXTENSION:
            directory.hints.refused()  # what a refused reset would have taught it
            return HintsProbe(False, advertised, "probe", detail)
        if code in (NO_SUCH_OBJECT, INSUFFICIENT_ACCESS, SUCCESS):
            return HintsProbe(True, advertised, "probe", detail)
        return HintsProbe(None, advertised, "probe", detail)


def _search_dn_only(connection: Connection, *, base: str, search_filter: str) -> list[Entry]:
    """At most two matches, no attributes: is the name one object, and where."""
    return search(connection, base, search_filter, ["1.1"], size_limit=2)
