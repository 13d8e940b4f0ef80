"""parse_identity: what a person types at the kiosk, turned into a lookup key."""

from __future__ import annotations

import pytest

from kiosk.backend.identity import MAX_TYPED, parse_identity
from kiosk.backend.model import Identity

DOMAINS = [("KIOSK", "kiosk.test"), ("EXLAB", "example.lab")]


def parse(text: str, default: str = "KIOSK") -> Identity | None:
    return parse_identity(text, DOMAINS, default)


def test_bare_name_is_a_sam_in_the_default_domain():
    assert parse("alice") == Identity(typed="alice", domain="KIOSK", sam="alice")
    assert parse("alice", default="exlab").domain == "EXLAB"


def test_surrounding_whitespace_is_ignored_but_typed_is_kept():
    identity = parse("  alice \t")
    assert identity is not None
    assert identity.sam == "alice"
    assert identity.typed == "  alice \t"


@pytest.mark.parametrize(
    ("typed", "domain"),
    [
        ("KIOSK\\alice", "KIOSK"),
        ("kiosk\\alice", "KIOSK"),  # NetBIOS prefix, any case
        ("kiosk.test\\alice", "KIOSK"),  # DNS prefix
        ("KIOSK.TEST\\alice", "KIOSK"),
        ("EXLAB\\alice", "EXLAB"),
        ("Example.Lab\\alice", "EXLAB"),
    ],
)
def test_domain_prefix_by_netbios_or_dns_name(typed, domain):
    identity = parse(typed)
    assert identity == Identity(typed=typed, domain=domain, sam="alice")
    assert identity.display == f"{domain}\\alice"


def test_sam_case_is_kept_for_the_directory_to_match():
    # AD compares sAMAccountName case-insensitively; the parser must not
    # "fix" the case (the display shows what was typed).
    assert parse("ALICE").sam == "ALICE"
    assert parse("Kiosk\\Alice").sam == "Alice"


def test_upn_goes_to_the_domain_of_its_suffix():
    identity = parse("alice@kiosk.test")
    assert identity == Identity(typed="alice@kiosk.test", domain="KIOSK", upn="alice@kiosk.test")
    assert identity.display == "alice@kiosk.test"
    assert parse("Bob@EXAMPLE.LAB").domain == "EXLAB"
    assert parse("Bob@EXAMPLE.LAB").upn == "Bob@EXAMPLE.LAB"


def test_upn_with_an_unknown_suffix_is_searched_in_the_default_domain():
    # AD allows alternative UPN suffixes (alice@corp.example in kiosk.test).
    identity = parse("alice@corp.example", default="EXLAB")
    assert identity == Identity(typed="alice@corp.example", domain="EXLAB", upn="alice@corp.example")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "OTHER\\alice",  # unknown domain prefix
        "KIOSK\\",  # no name
        "\\alice",
        "KIOSK\\al\\ice",
        "@kiosk.test",  # no local part
        "alice@",  # no suffix
        "a@b@kiosk.test",
        "alice\x00",  # control characters
        "ali\nce",
        "al*ce",  # characters AD never allows in a sAMAccountName
        "a[b]",
        "a:b",
        "a;b",
        "a|b",
        "a=b",
        "a,b",
        "a+b",
        "a?b",
        "a<b>",
        'a"b',
        "a/b",
        "alice.",  # may not end with a dot
        "x" * 65,
        "x" * (MAX_TYPED + 1),
    ],
)
def test_junk_is_none(typed):
    assert parse(typed) is None


def test_filter_metacharacters_in_a_upn_are_kept_as_data():
    # Not rejected, not altered: the directory escapes them in its filter.
    typed = "a*)(objectClass=*)(cn=x@kiosk.test"
    identity = parse(typed)
    assert identity is not None
    assert identity.upn == typed
    assert identity.domain == "KIOSK"
    # Parentheses are legal in a sAMAccountName: kept verbatim as well.
    assert parse("bob)(") == Identity(typed="bob)(", domain="KIOSK", sam="bob)(")
    assert parse("bob(admin)").sam == "bob(admin)"


def test_sam_may_hold_characters_ad_allows():
    for name in ("o'brien", "anne-marie", "j.smith", "t_1", "émile", "a b", "x(1)"):
        identity = parse(name)
        assert identity is not None, name
        assert identity.sam == name


def test_unicode_is_normalised_to_nfc():
    decomposed = "e\u0301mile"  # e + combining acute
    identity = parse(decomposed)
    assert identity is not None
    assert identity.sam == "\u00e9mile"


def test_domains_are_compared_without_case_on_both_sides():
    identity = parse_identity("corp\\alice", [("Corp", "Corp.Example")], "corp")
    assert identity == Identity(typed="corp\\alice", domain="CORP", sam="alice")
    assert parse_identity("alice@corp.example", [("Corp", "Corp.Example")], "corp").domain == "CORP"
