"""The demo directory's listing, search, attribute writes and filter matching."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kiosk.backend import ldap_filter
from kiosk.backend.directory.demo import DEMO_HINT, DemoDirectory
from kiosk.backend.errors import ConfigError, InsufficientRights
from kiosk.backend.model import Identity

NEVER_LOGGED_ON_NOT_ACTIVATED = (
    "(&(objectCategory=person)(objectClass=user)"
    "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
    "(!(lastLogonTimestamp=*))(!(comment=*)))"
)


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory()


def account(directory: DemoDirectory, sam: str):
    found = directory.find_account(Identity(typed=sam, domain="DEMO", sam=sam))
    assert found is not None
    return found


def test_search_is_a_case_insensitive_prefix_match_on_names_sorted_by_sam(directory):
    assert [a.sam for a in directory.search_accounts("A")] == ["alice", "dana"]  # alice; Dana *A*dmin (sn)
    assert [a.sam for a in directory.search_accounts("ERIN@demo")] == ["erin"]  # UPN
    assert [a.sam for a in directory.search_accounts("carol clark")] == ["carol"]  # display name
    assert [a.sam for a in directory.search_accounts("lice")] == []  # prefix, not substring
    assert directory.search_accounts("") == [] and directory.search_accounts("   ") == []
    assert [a.sam for a in directory.search_accounts("a", limit=1)] == ["alice"]


def test_search_treats_filter_characters_as_text(directory):
    assert directory.search_accounts("*") == []
    assert directory.search_accounts("a)(sAMAccountName=*") == []


def test_accounts_lists_every_user(directory):
    assert sorted(a.sam for a in directory.accounts()) == ["alice", "bob", "carol", "dana", "erin"]


def test_update_attributes_replaces_and_deletes(directory):
    erin = account(directory, "erin")
    directory.update_attributes(erin, {"comment": "activated", "department": None})
    assert directory.read_attributes(erin, ["comment", "department", "employeeID"]) == {
        "comment": ["activated"],
        "employeeID": ["E2001"],
    }
    assert directory.refresh(erin).attributes == {"employeeID": "E2001", "comment": "activated"}
    directory.update_attributes(erin, {"comment": None, "info": None})  # absent: no error
    assert "comment" not in directory.read_attributes(erin, ["comment"])


def test_update_attributes_refuses_what_is_not_a_plain_attribute(directory):
    with pytest.raises(InsufficientRights):
        directory.update_attributes(account(directory, "erin"), {"userAccountControl": "512"})


def test_matches_evaluates_the_activation_filter(directory):
    erin, alice, bob = (account(directory, s) for s in ("erin", "alice", "bob"))
    assert directory.matches(erin, NEVER_LOGGED_ON_NOT_ACTIVATED)
    assert not directory.matches(alice, NEVER_LOGGED_ON_NOT_ACTIVATED)  # has logged on
    directory.update_attributes(erin, {"comment": "kiosk-activated"})
    assert not directory.matches(erin, NEVER_LOGGED_ON_NOT_ACTIVATED)  # marker set
    assert directory.matches(bob, "(|(sAMAccountName=BOB)(sn=nobody))")
    assert directory.matches(bob, "(displayName=B*b*n)")
    assert directory.matches(erin, "(employeeID=E2001)") and not directory.matches(erin, "(employeeID=E2)")


def test_a_good_bind_is_a_logon(directory):
    bob = account(directory, "bob")
    assert directory.matches(bob, "(lastLogonTimestamp=*)")
    assert directory.matches(account(directory, "erin"), "(!(lastLogonTimestamp=*))")


@pytest.mark.parametrize("bad", ["", "sAMAccountName=bob", "(sAMAccountName=bob", "(&)", "(!(a=1)(b=2))",
                                 "(a~=b)", "(a:1.2.3:=4)", "(a=1))", "(=x)", "(a=\\zz)"])
def test_an_invalid_filter_is_a_config_error_naming_it(directory, bad):
    with pytest.raises(ConfigError) as error:
        directory.matches(account(directory, "bob"), bad)
    assert repr(bad) in str(error.value)


def test_bitwise_rules_and_escapes():
    tree = ldap_filter.parse("(&(userAccountControl:1.2.840.113556.1.4.803:=514)(cn=a\\2ab))")
    assert ldap_filter.evaluate(tree, {"userAccountControl": ["514"], "CN": ["A*B"]})
    assert not ldap_filter.evaluate(tree, {"userAccountControl": ["512"], "cn": ["a*b"]})
    assert ldap_filter.evaluate(ldap_filter.parse("(x:1.2.840.113556.1.4.804:=3)"), {"x": ["2"]})
    assert ldap_filter.escape_value("a*(b)\\") == "a\\2a\\28b\\29\\5c"


def test_the_hint_names_the_activation_account():
    assert "erin" in DEMO_HINT and "E2001" in DEMO_HINT


def test_the_demo_directory_does_not_import_ldap3():
    code = "import sys, kiosk.backend.directory.demo as d; d.DemoDirectory().matches; print('ldap3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
