"""Privileged accounts are recognised by SID (tokenGroups), not by group names,
and the identify step costs the same directory work for every name.

Security review items 5 and 10, on the Samba lab: a renamed (as if localised)
privileged group, a base DN that is an OU (the groups live outside it), a
privileged primary group, the kiosk's own service account, the helpdesk's
operator groups; and the searches an unknown name costs against a real one.
"""

from __future__ import annotations

import contextlib

import lab as lablib
import pytest
from support import lab_directory_settings

from kiosk.backend.directory.ad import ActiveDirectory
from kiosk.backend.eligibility import check_eligibility
from kiosk.backend.identity import parse_identity
from kiosk.config import EligibilitySettings

pytestmark = pytest.mark.lab

RULES = EligibilitySettings()  # defaults: privileged accounts refused


def find(directory, lab, typed):
    identity = parse_identity(typed, [(lab.netbios, lab.dns_domain)], lab.netbios)
    return directory.find_account(identity)


@contextlib.contextmanager
def opened(lab, **changes):
    directory = ActiveDirectory(lab_directory_settings(lab, **changes))
    try:
        yield directory
    finally:
        directory.close()


@contextlib.contextmanager
def renamed(conn, dn, new_cn):
    """``dn`` renamed to CN=new_cn for the duration (as a localised DC names it)."""
    parent = dn.split(",", 1)[1]
    if not conn.modify_dn(dn, f"CN={new_cn}"):
        raise lablib.LabError(f"renaming {dn} failed: {conn.result}")
    try:
        yield f"CN={new_cn},{parent}"
    finally:
        conn.modify_dn(f"CN={new_cn},{parent}", f"CN={dn.split(',', 1)[0].split('=', 1)[1]}")


@pytest.fixture
def throwaway(lab, lab_admin):
    """Make throwaway users and groups; all deleted afterwards."""
    made: list[str] = []

    def user(**kw):
        dn, sam, _ = lablib.create_user(lab, lab_admin, **kw)
        made.append(dn)
        return dn, sam

    def group(members=()):
        dn = lablib.create_group(lab, lab_admin, members=list(members))
        made.append(dn)
        return dn

    yield user, group
    for dn in reversed(made):
        lablib.delete_entry(lab_admin, dn)


def test_a_renamed_privileged_group_is_still_privileged(lab, lab_admin, throwaway):
    user, group = throwaway
    dn, sam = user()
    gpco = f"CN=Group Policy Creator Owners,CN=Users,{lab.base_dn}"
    lablib.add_member(lab_admin, gpco, group(members=[dn]))  # nested, as in real trees
    with renamed(lab_admin, gpco, "Richtlinien-Ersteller"), opened(lab) as directory:
        account = find(directory, lab, sam)
        verdict = check_eligibility(account, RULES)
        assert not verdict.allowed and "privileged" in verdict.reason
        assert not account.admin_count  # nothing but the SID says so
        assert "Group Policy Creator Owners" in account.privileged


def test_an_ou_base_hides_no_nesting_into_domain_admins(lab, lab_admin, throwaway):
    user, group = throwaway
    dn, sam = user()  # in OU=Staff; the groups are in OU=Groups and CN=Users
    lablib.add_member(lab_admin, f"CN=Domain Admins,CN=Users,{lab.base_dn}", group(members=[dn]))
    domains = [{"netbios": lab.netbios, "dns": lab.dns_domain, "base_dn": lab.staff_ou}]
    with opened(lab, domains=domains) as directory:
        account = find(directory, lab, sam)
        assert not check_eligibility(account, RULES).allowed
        assert "Domain Admins" in account.privileged
        assert f"cn=domain admins,cn=users,{lab.base_dn}".lower() in account.groups


def test_a_privileged_primary_group_under_an_ou_base(lab, lab_admin, throwaway):
    user, _ = throwaway
    dn, sam = user()
    lablib.add_member(lab_admin, f"CN=Domain Admins,CN=Users,{lab.base_dn}", dn)
    assert lab_admin.modify(dn, {"primaryGroupID": [("MODIFY_REPLACE", [512])]}), lab_admin.result
    domains = [{"netbios": lab.netbios, "dns": lab.dns_domain, "base_dn": lab.staff_ou}]
    with opened(lab, domains=domains) as directory:
        account = find(directory, lab, sam)
        assert not check_eligibility(account, RULES).allowed
        assert "Domain Admins" in account.privileged


def test_the_kiosks_own_service_account_is_refused(lab):
    with opened(lab) as directory:
        account = find(directory, lab, lab.svc_user.rpartition("\\")[2])
        assert not check_eligibility(account, RULES).allowed
        assert "the kiosk's service account" in account.privileged
        assert find(directory, lab, "alice").privileged == ()


def test_helpdesk_operators_are_refused_unless_privileged_accounts_are_allowed(lab, throwaway):
    user, group = throwaway
    dn, sam = user()
    operators = group(members=[dn])
    with opened(lab) as directory:
        account = find(directory, lab, sam)
    assert check_eligibility(account, RULES).allowed
    verdict = check_eligibility(account, RULES, operator_groups=[operators])
    assert not verdict.allowed and "operator" in verdict.reason
    assert check_eligibility(account, EligibilitySettings(allow_privileged=True), operator_groups=[operators]).allowed


def test_unknown_and_known_names_cost_the_same_searches(lab, monkeypatch):
    with opened(lab) as directory:
        find(directory, lab, "alice")  # the service connection is open, a token was seen
        calls: list[str] = []
        service = directory.connection.service
        real = service.search

        def counted(base, search_filter, *args, **kwargs):
            calls.append(kwargs.get("search_scope", "SUBTREE"))
            return real(base, search_filter, *args, **kwargs)

        monkeypatch.setattr(service, "search", counted)
        shapes = {}
        for typed in ("alice", "dadmin", "no-such-person", "KIOSK\\nobody-here", "ghost@" + lab.dns_domain):
            calls.clear()
            find(directory, lab, typed)
            shapes[typed] = list(calls)
        assert directory.connection.service is service  # nothing reconnected in between
        assert len(set(map(tuple, shapes.values()))) == 1, shapes
        assert shapes["alice"] == ["SUBTREE", "BASE", "SUBTREE"]  # account, tokenGroups, group SIDs
