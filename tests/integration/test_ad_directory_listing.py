"""ActiveDirectory's listing, search, attribute writes and filter matching,
against the Samba AD lab as svc-kiosk. Writes go to throwaway users only."""

from __future__ import annotations

import secrets

import pytest

from kiosk.backend.directory.ad import ActiveDirectory
from kiosk.backend.errors import ConfigError, InsufficientRights
from kiosk.backend.model import Identity
from support import lab_directory_settings

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib

pytestmark = pytest.mark.lab

ACTIVATABLE = (
    "(&(objectCategory=person)(objectClass=user)"
    "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
    "(!(lastLogonTimestamp=*))(!(comment=*)))"
)


@pytest.fixture
def directory(lab):
    directory = ActiveDirectory(lab_directory_settings(lab))
    yield directory
    directory.close()


def find(directory, lab, sam):
    account = directory.find_account(Identity(typed=sam, domain=lab.netbios, sam=sam))
    assert account is not None
    return account


@pytest.fixture
def people(lab, lab_admin):
    """Three throwaway users sharing a random prefix, with distinct names."""
    prefix = f"ls{secrets.token_hex(3)}"
    made = []
    for suffix, given, sn in (("c", "Zoe", "Young"), ("a", "Yann", "Xu"), ("b", "Xavier", "Wong")):
        dn, sam, _ = lablib.create_user(
            lab, lab_admin, name=f"{prefix}{suffix}",
            attributes={"givenName": f"{given}{prefix}", "sn": f"{sn}{prefix}", "displayName": f"{given} {prefix}"},
            groups=[lab.staff_team_dn],
        )
        made.append((dn, sam))
    yield prefix, [sam for _, sam in made]
    for dn, _ in made:
        lablib.delete_user(lab_admin, dn)


def test_search_matches_names_by_prefix_sorted_by_sam(directory, lab, people):
    prefix, sams = people
    found = directory.search_accounts(prefix.upper())
    assert [a.sam for a in found] == sorted(sams)
    assert all(lab.kiosk_users_dn.lower() in a.groups for a in found)  # nested groups, as find_account
    assert [a.sam for a in directory.search_accounts(prefix, limit=2)] == sorted(sams)[:2]
    assert [a.sam for a in directory.search_accounts(f"Xavier{prefix}")] == [f"{prefix}b"]  # givenName
    assert [a.sam for a in directory.search_accounts(f"young{prefix}")] == [f"{prefix}c"]  # sn
    assert [a.sam for a in directory.search_accounts(f"Yann {prefix}")] == [f"{prefix}a"]  # displayName
    assert [a.sam for a in directory.search_accounts(lab.upn(f"{prefix}a"))] == [f"{prefix}a"]  # UPN


def test_search_is_by_prefix_only_and_escapes_the_text(directory, people):
    prefix, _ = people
    assert directory.search_accounts(prefix[1:]) == []
    assert directory.search_accounts("") == []
    assert directory.search_accounts("*") == []
    assert directory.search_accounts(f"{prefix})(sAMAccountName=*") == []


def test_search_finds_users_only(directory, lab):
    assert directory.search_accounts("Domain Admins") == []  # a group
    assert directory.search_accounts("DC1") == []  # the DC's computer account
    assert [a.sam for a in directory.search_accounts("alic")] == ["alice"]


def test_accounts_lists_every_user_across_pages(directory, lab, people, monkeypatch):
    import kiosk.backend.directory.ad.adapter as adapter

    monkeypatch.setattr(adapter, "PAGE_SIZE", 2)  # force several pages on a small lab
    pages = []
    real_pages = directory._pages
    monkeypatch.setattr(directory, "_pages", lambda *a: (pages.append(p) or p for p in real_pages(*a)))
    listed = {a.sam: a for a in directory.accounts()}
    assert len(pages) > 5 and max(len(p) for p in pages) == 2
    for sam in (*lablib.SEEDED_USERS, "svc-kiosk", "Administrator", *people[1]):
        assert sam in listed
    assert "DC1$" not in listed
    assert lab.kiosk_users_dn.lower() in listed["alice"].groups
    assert lab.kiosk_denied_dn.lower() in listed["mallory"].groups
    assert listed["alice"] == find(directory, lab, "alice")


def test_update_attributes_replaces_and_deletes_the_marker(directory, lab, lab_user, lab_admin):
    account = find(directory, lab, lab_user.sam)
    directory.update_attributes(account, {"comment": "kiosk-activated"})
    assert directory.read_attributes(account, ["comment", "employeeID"]) == {"comment": ["kiosk-activated"]}
    assert lablib.first(lablib.read_entry(lab_admin, lab_user.dn), "comment") == "kiosk-activated"
    directory.update_attributes(account, {"comment": None})
    directory.update_attributes(account, {"comment": None})  # already absent: no error
    assert directory.read_attributes(account, ["comment"]) == {}


def test_update_attributes_without_the_right_is_insufficient_rights(directory, lab, lab_user):
    with pytest.raises(InsufficientRights):
        directory.update_attributes(find(directory, lab, lab_user.sam), {"info": "not delegated"})


def test_matches_is_a_base_search_with_the_filter(directory, lab, lab_admin):
    dn, sam, _ = lablib.create_user(lab, lab_admin, attributes={"employeeID": "E77"})
    try:
        fresh = find(directory, lab, sam)
        assert directory.matches(fresh, ACTIVATABLE)
        assert directory.matches(fresh, "(employeeID=e77)")
        assert not directory.matches(fresh, "(employeeID=E7)")
        assert not directory.matches(find(directory, lab, "alice"), "(employeeID=E77)")
        assert not directory.matches(find(directory, lab, "dave"), ACTIVATABLE)  # disabled
        directory.update_attributes(fresh, {"comment": "kiosk-activated"})
        assert not directory.matches(fresh, ACTIVATABLE)
    finally:
        lablib.delete_user(lab_admin, dn)


def test_an_invalid_filter_is_a_config_error_naming_it(directory, lab):
    with pytest.raises(ConfigError) as error:
        directory.matches(find(directory, lab, "alice"), "(sAMAccountName=alice")
    assert "(sAMAccountName=alice" in str(error.value)
