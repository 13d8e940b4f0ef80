"""Who may use self-service: allowed OUs and groups, deny lists, privileged accounts."""

from __future__ import annotations

from collections.abc import Collection

from kiosk.backend.dn import dn_key, is_within
from kiosk.backend.model import Account, Eligibility
from kiosk.config import EligibilitySettings

def _first_rdn_value(dn: str) -> str:
    key = dn_key(dn)
    if isinstance(key, str) or not key:
        return ""
    return key[0][0][1] if len(key[0]) == 1 else ""


def is_privileged(account: Account, rules: EligibilitySettings) -> bool:
    names = {name.casefold() for name in rules.privileged_groups}
    return account.admin_count or any(_first_rdn_value(g) in names for g in account.groups)


def check_eligibility(
    account: Account, rules: EligibilitySettings, *, operator_groups: Collection[str] = ()
) -> Eligibility:
    """The first reason an account is refused, or ok. Reasons are for the log only:
    the person sees the same flow as everyone else. ``operator_groups``: the
    helpdesk's (helpdesk.operator_groups); their members count as privileged."""
    groups = {dn_key(g) for g in account.groups}
    if not account.enabled:
        return Eligibility.refused("account is disabled")
    if account.expired:
        return Eligibility.refused("account has expired")
    if account.sam.lower() in {u.lower() for u in rules.denied_users}:
        return Eligibility.refused("user is on the deny list")
    denied = [g for g in rules.denied_groups if dn_key(g) in groups]
    if denied:
        return Eligibility.refused(f"member of denied group {denied[0]}")
    if not rules.allow_privileged and account.privileged:
        return Eligibility.refused(f"privileged account ({', '.join(account.privileged)})")
    operators = [g for g in operator_groups if dn_key(g) in groups]
    if not rules.allow_privileged and operators:
        return Eligibility.refused(f"privileged account (helpdesk operator group {operators[0]})")
    if not rules.allow_privileged and is_privileged(account, rules):
        return Eligibility.refused("privileged account (adminCount or an administrative group)")
    if rules.allowed_ous and not any(is_within(account.dn, ou, strictly=True) for ou in rules.allowed_ous):
        return Eligibility.refused("outside the allowed OUs")
    if rules.allowed_groups and not any(dn_key(g) in groups for g in rules.allowed_groups):
        return Eligibility.refused("not a member of an allowed group")
    return Eligibility.ok()
