"""Password policy: the domain's and fine-grained ones (PSOs), cached, and
the policy-hints control's state (password history enforced on resets)."""

from __future__ import annotations

import logging
from typing import Any

from ldap3 import BASE, MODIFY_REPLACE, Connection

from kiosk.backend.directory.ad.cache import TtlCache
from kiosk.backend.directory.ad.codec import interval_seconds
from kiosk.backend.directory.ad.connection import search
from kiosk.backend.directory.ad.constants import (
    DOMAIN_POLICY_ATTRIBUTES,
    LOGGER,
    POLICY_HINTS_OID,
    POLICY_HINTS_VALUE,
    PSO_ATTRIBUTES,
)
from kiosk.backend.directory.ad.results import SUCCESS, UNAVAILABLE_CRITICAL_EXTENSION
from kiosk.backend.errors import AccountNotFound, DirectoryError
from kiosk.backend.model import PasswordPolicy
from kiosk.config import DomainSettings

log = logging.getLogger(LOGGER)


class PolicyReader:
    """Reads the effective password policy of an account (resultant PSO, else
    the domain's), each policy cached for the cache's lifetime."""

    def __init__(self, cache: TtlCache) -> None:
        self._cache = cache

    def effective(self, connection: Connection, dn: str, domain: DomainSettings) -> PasswordPolicy:
        entries = search(connection, dn, "(objectClass=*)", ["msDS-ResultantPSO"], scope=BASE)
        if not entries:
            raise AccountNotFound(f"{dn} is gone")
        pso_dn = entries[0].text("msDS-ResultantPSO")
        if pso_dn:
            pso = self.pso(connection, pso_dn)
            if pso is not None:
                return pso
        return self.domain(connection, domain)

    @staticmethod
    def _domain_key(domain: DomainSettings) -> tuple[str, str]:
        return ("domain-policy", domain.base_dn.lower())

    def forget_domain(self, domain: DomainSettings) -> None:
        """Read the domain's policy afresh next time."""
        self._cache.forget(self._domain_key(domain))

    def domain(self, connection: Connection, domain: DomainSettings) -> PasswordPolicy:
        key = self._domain_key(domain)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        entries = search(connection, domain.base_dn, "(objectClass=*)", DOMAIN_POLICY_ATTRIBUTES, scope=BASE)
        if not entries:
            raise DirectoryError(f"cannot read the password policy on {domain.base_dn}")
        entry = entries[0]
        policy = PasswordPolicy(
            min_length=entry.integer("minPwdLength", 0) or 0,
            complexity=bool((entry.integer("pwdProperties", 0) or 0) & 1),
            history_length=entry.integer("pwdHistoryLength", 0) or 0,
            min_age_seconds=interval_seconds(entry.integer("minPwdAge")) or 0,
            max_age_seconds=interval_seconds(entry.integer("maxPwdAge")) or None,
            lockout_threshold=entry.integer("lockoutThreshold", 0) or 0,
            # "forever" (until an administrator unlocks) is 0, as in the GPO editor.
            lockout_duration_seconds=interval_seconds(entry.integer("lockoutDuration")) or 0,
            source="domain",
        )
        self._cache.put(key, policy)
        return policy

    def pso(self, connection: Connection, pso_dn: str) -> PasswordPolicy | None:
        key = ("pso", pso_dn.lower())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        entries = search(connection, pso_dn, "(objectClass=*)", PSO_ATTRIBUTES, scope=BASE)
        if not entries or not entries[0].has("msDS-MinimumPasswordLength"):
            # By default only Domain Admins may read PSOs: grant the service
            # account read access on the Password Settings Container.
            log.warning("cannot read the fine-grained policy %s; using the domain policy", pso_dn)
            return None
        entry = entries[0]
        policy = PasswordPolicy(
            min_length=entry.integer("msDS-MinimumPasswordLength", 0) or 0,
            complexity=bool(entry.integer("msDS-PasswordComplexityEnabled", 0)),
            history_length=entry.integer("msDS-PasswordHistoryLength", 0) or 0,
            min_age_seconds=interval_seconds(entry.integer("msDS-MinimumPasswordAge")) or 0,
            max_age_seconds=interval_seconds(entry.integer("msDS-MaximumPasswordAge")) or None,
            lockout_threshold=entry.integer("msDS-LockoutThreshold", 0) or 0,
            lockout_duration_seconds=interval_seconds(entry.integer("msDS-LockoutDuration")) or 0,
            source=pso_dn,
        )
        self._cache.put(key, policy)
        return policy


class PolicyHints:
    """Whether resets carry the policy-hints control.

    ``supported``: None = not known yet; True = a DC took it; False = a DC
    refused it (then resets go without) or the configuration turned it off.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.supported: bool | None = None if enabled else False

    def refused(self) -> None:
        """A DC does not know the control: stop sending it."""
        self.supported = False

    def reset(self, connection: Connection, dn: str, value: bytes, *, must_change: bool = False) -> dict[str, Any]:
        """Replace unicodePwd, with the control unless a DC refused it; with
        ``must_change``, pwdLastSet=0 in the same modify (the password never
        stands without must-change)."""
        changes: dict[str, Any] = {"unicodePwd": [(MODIFY_REPLACE, [value])]}
        if must_change:
            changes["pwdLastSet"] = [(MODIFY_REPLACE, [0])]
        if self.supported is not False:
            connection.modify(dn, changes, controls=[(POLICY_HINTS_OID, True, POLICY_HINTS_VALUE)])
            result = dict(connection.result or {})
            if result.get("result") != UNAVAILABLE_CRITICAL_EXTENSION:
                if result.get("result") == SUCCESS:
                    self.supported = True
                return result
            # This DC does not know the control: history cannot be enforced
            # on resets here. Say so once and stop sending it.
            log.warning(
                "the DC does not support the password policy hints control (LDAP %s %s); "
                "resets will not enforce password history",
                result.get("result"),
                result.get("description", ""),
            )
            self.refused()
        connection.modify(dn, changes)
        return dict(connection.result or {})
