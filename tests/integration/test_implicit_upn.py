"""AD's implicit UPN, ``sam@dns-domain``, finds the account (security review
item 13): AD accepts that form for a bind whatever the account's own
userPrincipalName, so the kiosk must resolve it like the other forms, or the
real person is told their answers do not match and a failure is counted."""

from __future__ import annotations

import contextlib

import lab as lablib
import pytest
from support import lab_directory_settings

from kiosk.backend.directory.ad import ActiveDirectory
from kiosk.backend.identity import parse_identity

pytestmark = pytest.mark.lab


@contextlib.contextmanager
def opened(lab, **changes):
    directory = ActiveDirectory(lab_directory_settings(lab, **changes))
    try:
        yield directory
    finally:
        directory.close()


def find(directory, typed, pairs, default):
    identity = parse_identity(typed, pairs, default)
    assert identity is not None
    return directory.find_account(identity)


@pytest.fixture
def zoe(lab, lab_admin):
    """A user whose UPN suffix (corp.example) is not the domain's DNS name."""
    dn, sam, password = lablib.create_user(lab, lab_admin, attributes={"userPrincipalName": "zoe-x@corp.example"})
    yield dn, sam, password
    lablib.delete_user(lab_admin, dn)


def test_sam_at_the_dns_domain_finds_a_user_with_another_upn_suffix(lab, zoe):
    dn, sam, password = zoe
    implicit = f"{sam}@{lab.dns_domain}"
    assert lablib.can_bind(lab, implicit, password)  # AD takes this form
    pairs = [(lab.netbios, lab.dns_domain)]
    with opened(lab) as directory:
        account = find(directory, implicit, pairs, lab.netbios)
        assert account is not None and account.dn.lower() == dn.lower()
        assert account == find(directory, sam, pairs, lab.netbios)
        assert find(directory, "zoe-x@corp.example", pairs, lab.netbios) == account
        directory.verify_password(account, password)


def test_the_dns_name_of_the_naming_context_counts_when_dns_is_a_upn_suffix(lab, zoe):
    # directory.domains dns set to the UPN suffix people use: sam@<DNS domain>
    # then goes to the default domain, whose naming context spells that name.
    dn, sam, _ = zoe
    domains = [{"netbios": lab.netbios, "dns": "corp.example", "base_dn": lab.base_dn}]
    with opened(lab, domains=domains) as directory:
        account = find(directory, f"{sam}@{lab.dns_domain}", [(lab.netbios, "corp.example")], lab.netbios)
        assert account is not None and account.dn.lower() == dn.lower()


def test_another_suffix_is_no_implicit_upn(lab, zoe):
    _, sam, _ = zoe
    with opened(lab) as directory:
        assert find(directory, f"{sam}@elsewhere.example", [(lab.netbios, lab.dns_domain)], lab.netbios) is None
