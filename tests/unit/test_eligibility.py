"""check_eligibility / is_privileged: one test per rule, and the order they apply in."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from kiosk.backend.eligibility import check_eligibility, is_privileged
from kiosk.backend.model import Account
from kiosk.config import EligibilitySettings

BASE = "DC=kiosk,DC=test"
STAFF = f"OU=Staff,{BASE}"
CONTRACTORS = f"OU=Contractors,{BASE}"
KIOSK_USERS = f"CN=Kiosk Users,OU=Groups,{BASE}"
DENIED = f"CN=Kiosk Denied,OU=Groups,{BASE}"
DOMAIN_ADMINS = f"CN=Domain Admins,CN=Users,{BASE}"
DOMAIN_USERS = f"CN=Domain Users,CN=Users,{BASE}"


def account(**changes) -> Account:
    base = Account(
        guid="4aad45ca-52f7-44a1-8f5f-853280394394",
        dn=f"CN=alice,{STAFF}",
        sam="alice",
        domain="KIOSK",
        groups=frozenset({DOMAIN_USERS.lower(), KIOSK_USERS.lower()}),
    )
    return replace(base, **changes)


RULES = EligibilitySettings()


def test_an_ordinary_account_is_allowed_by_default():
    result = check_eligibility(account(), RULES)
    assert result.allowed
    assert result.reason == ""


def test_disabled_is_refused():
    result = check_eligibility(account(enabled=False), RULES)
    assert not result.allowed
    assert "disabled" in result.reason


def test_expired_is_refused():
    result = check_eligibility(account(expired=True), RULES)
    assert not result.allowed
    assert "expired" in result.reason


def test_locked_or_must_change_accounts_stay_eligible():
    # Unlocking and resetting is what the kiosk is for.
    assert check_eligibility(account(locked=True, must_change_password=True), RULES).allowed


def test_denied_user_case_insensitive():
    rules = EligibilitySettings(denied_users=["ALICE"])
    result = check_eligibility(account(), rules)
    assert not result.allowed
    assert "deny list" in result.reason
    assert check_eligibility(account(sam="bob", dn=f"CN=bob,{STAFF}"), rules).allowed


def test_denied_group_matches_nested_membership_and_any_dn_spelling():
    # groups holds nested memberships, lower-cased; the config may use any case/spacing.
    rules = EligibilitySettings(denied_groups=["cn=Kiosk Denied, ou=Groups, dc=KIOSK, dc=test"])
    member = account(groups=frozenset({DENIED.lower(), DOMAIN_USERS.lower()}))
    result = check_eligibility(member, rules)
    assert not result.allowed
    assert "denied group" in result.reason
    assert check_eligibility(account(), rules).allowed


def test_admin_count_is_privileged():
    privileged = account(admin_count=True)
    assert is_privileged(privileged, RULES)
    result = check_eligibility(privileged, RULES)
    assert not result.allowed
    assert "privileged" in result.reason


@pytest.mark.parametrize(
    "group",
    [
        DOMAIN_ADMINS,
        f"CN=Administrators,CN=Builtin,{BASE}",
        f"CN=Account Operators,CN=Builtin,{BASE}",
        f"CN=Enterprise Admins,CN=Users,{BASE}",
    ],
)
def test_membership_of_an_administrative_group_is_privileged(group):
    member = account(groups=frozenset({group.lower()}))
    assert is_privileged(member, RULES)
    assert not check_eligibility(member, RULES).allowed


def test_privileged_groups_are_matched_by_cn_and_configurable():
    rules = EligibilitySettings(privileged_groups=["Helpdesk Tier 0"])
    member = account(groups=frozenset({f"cn=helpdesk tier 0,ou=groups,{BASE}".lower()}))
    assert is_privileged(member, rules)
    # With the list replaced, Domain Admins alone is no longer privileged (adminCount still is).
    assert not is_privileged(account(groups=frozenset({DOMAIN_ADMINS.lower()})), rules)


def test_allow_privileged_lets_them_through():
    rules = EligibilitySettings(allow_privileged=True)
    assert check_eligibility(account(admin_count=True), rules).allowed


def test_allowed_ous_require_the_account_below_one_of_them():
    rules = EligibilitySettings(allowed_ous=[STAFF])
    assert check_eligibility(account(), rules).allowed
    outside = account(dn=f"CN=oscar,{CONTRACTORS}", sam="oscar")
    result = check_eligibility(outside, rules)
    assert not result.allowed
    assert "allowed OUs" in result.reason


def test_allowed_ou_is_matched_on_whole_rdns_not_as_a_text_suffix():
    # "OU=BigStaff" ends with the text "Staff,..." but is not under OU=Staff.
    rules = EligibilitySettings(allowed_ous=[STAFF])
    lookalike = account(dn=f"CN=eve,OU=BigStaff,{BASE}")
    assert not check_eligibility(lookalike, rules).allowed
    nested = account(dn=f"CN=al,OU=Sales,{STAFF}")
    assert check_eligibility(nested, rules).allowed


def test_allowed_ou_comparison_ignores_case_and_spaces():
    rules = EligibilitySettings(allowed_ous=["ou=staff, dc=KIOSK, dc=test"])
    assert check_eligibility(account(), rules).allowed


def test_the_ou_itself_is_not_an_account_below_it():
    rules = EligibilitySettings(allowed_ous=[STAFF])
    assert not check_eligibility(account(dn=STAFF), rules).allowed


def test_allowed_groups_require_membership():
    rules = EligibilitySettings(allowed_groups=[KIOSK_USERS])
    assert check_eligibility(account(), rules).allowed
    outsider = account(groups=frozenset({DOMAIN_USERS.lower()}))
    result = check_eligibility(outsider, rules)
    assert not result.allowed
    assert "allowed group" in result.reason


def test_the_first_reason_wins():
    rules = EligibilitySettings(
        allowed_ous=[STAFF], allowed_groups=[KIOSK_USERS], denied_users=["alice"], denied_groups=[DENIED]
    )
    everything_wrong = account(
        enabled=False,
        expired=True,
        admin_count=True,
        dn=f"CN=alice,{CONTRACTORS}",
        groups=frozenset({DENIED.lower()}),
    )
    assert "disabled" in check_eligibility(everything_wrong, rules).reason
    assert "expired" in check_eligibility(replace(everything_wrong, enabled=True), rules).reason
    assert "deny list" in check_eligibility(replace(everything_wrong, enabled=True, expired=False), rules).reason
    no_user_rule = dataclasses.replace(rules, denied_users=[])
    assert "denied group" in check_eligibility(replace(everything_wrong, enabled=True, expired=False), no_user_rule).reason
