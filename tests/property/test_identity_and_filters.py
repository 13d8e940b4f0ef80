"""Everything a person types on the Identify screen: parsing never raises, and
whatever reaches an LDAP filter is escaped (no injection), proved against
ldap3's own filter parser and ours."""

from __future__ import annotations

import functools
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ldap3.operation.search import parse_filter

from kiosk.backend import ldap_filter
from kiosk.backend.directory.ad import ActiveDirectory, identity_filter
from kiosk.backend.identity import MAX_TYPED, parse_identity
from kiosk.backend.model import Identity
from kiosk.config import DirectorySettings, DomainSettings

DOMAINS = (("KIOSK", "kiosk.test"), ("OTHER", "other.example"))
LIMITS = settings(max_examples=200, deadline=None)

#: The characters that matter most: filter metacharacters, separators, NUL,
#: controls, RTL and combining marks, full-width and other look-alikes.
NASTY = st.sampled_from(list("*()\\\x00@/=,+<>;\"'| \t\n") + ["\u202e", "\u200f", "\u0301", "\u0308", "\ufeff",
                        "Ａ", "ǰ", "ß", "İ", "\U0001F600", "\u05d0", "\u0627", "\ud800"])
TYPED = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.one_of(NASTY, st.characters(codec="utf-8")), max_size=40),
    st.builds(lambda d, s: f"{d}\\{s}", st.sampled_from(["KIOSK", "kiosk.test", "OTHER", "nope", ""]), st.text(max_size=30)),
    st.builds(lambda u, d: f"{u}@{d}", st.text(max_size=30), st.sampled_from(["kiosk.test", "other.example", "x", ""])),
    st.text(min_size=MAX_TYPED - 2, max_size=MAX_TYPED + 300),
)


@LIMITS
@given(TYPED)
@example("*")
@example("*)(objectClass=*")
@example("admin)(|(sAMAccountName=*")
@example("KIOSK\\*")
@example("\\5c2a@kiosk.test")
@example("a\x00b")
@example("\u202eevil\u202c")
@example("e\u0301")
def test_parse_identity_never_raises_and_keeps_its_promises(typed):
    identity = parse_identity(typed, DOMAINS, "KIOSK")
    if identity is None:
        return
    assert identity.domain in ("KIOSK", "OTHER")
    assert (identity.sam is None) != (identity.upn is None)
    value = identity.sam or identity.upn
    assert value and len(value) <= MAX_TYPED
    assert not any(ord(c) < 32 or c == "\x7f" for c in value)
    if identity.sam is not None:
        assert not set(identity.sam) & set('"/\\[]:;|=,+*?<>@')


def _unescape(value: bytes) -> bytes:
    return re.sub(rb"\\([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), value)


def _matches(tree) -> list[dict]:
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if getattr(node, "assertion", None):
            found.append(node.assertion)
        stack.extend(node.elements)
    return found


def _assert_escaped(search_filter: str, attribute: str, value: str, *, substring: bool = False) -> None:
    """The filter parses (ldap3 and ours), has no term we did not write, and
    the person's value comes back unchanged from the parsed filter."""
    tree = parse_filter(search_filter, None, auto_escape=False, auto_encode=False, validator=None, check_names=False)
    ours = [m for m in _matches(tree) if m["attr"] == attribute]
    assert len(ours) == 1, search_filter
    if substring:  # value* : all of it is the initial part, nothing else
        assert not ours[0].get("any") and not ours[0].get("final"), search_filter
        got = ours[0]["initial"]
    else:
        got = ours[0]["value"]
    assert b"*" not in got and b"(" not in got and b")" not in got and b"\x00" not in got
    assert _unescape(got).decode("utf-8").strip() == value.strip(), search_filter  # ldap3 trims spaces
    # Our own RFC 4515 parser: one term for the attribute, the value exactly as given.
    nodes, stack = [], [ldap_filter.parse(search_filter)]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.children)
    ours = [n for n in nodes if n.attribute.lower() == attribute.lower()]
    assert len(ours) == 1, search_filter
    assert (ours[0].parts[0] if substring else ours[0].value) == value, search_filter


@LIMITS
@given(TYPED)
@example("x*)(objectClass=*")
@example("\\2a")
@example("a\ud800b")
@example("a\ud800b@kiosk.test")
def test_every_typed_name_that_reaches_a_filter_is_escaped(typed):
    identity = parse_identity(typed, DOMAINS, "KIOSK")
    if identity is None:
        return
    search_filter = identity_filter(identity)
    assert search_filter is not None
    attribute = "userPrincipalName" if identity.upn else "sAMAccountName"
    tree = parse_filter(search_filter, None, auto_escape=False, auto_encode=False, validator=None, check_names=False)
    assert len(_matches(tree)) == 3  # objectCategory, objectClass, and the name: nothing injected
    _assert_escaped(search_filter, attribute, identity.upn or identity.sam)


@LIMITS
@given(st.text(alphabet=st.one_of(NASTY, st.characters(codec="utf-8", exclude_categories=("Cs",))), min_size=1, max_size=40))
def test_even_identities_parse_identity_would_refuse_are_escaped(value):
    """Defence in depth: identity_filter escapes whatever it is given."""
    for identity, attribute in ((Identity(typed=value, domain="KIOSK", sam=value), "sAMAccountName"),
                                (Identity(typed=value, domain="KIOSK", upn=value), "userPrincipalName")):
        _assert_escaped(identity_filter(identity), attribute, value)


class _Recorder:
    """Stands in for the service connection: records every search filter."""

    def __init__(self) -> None:
        self.filters: list[str] = []
        self.result = {"result": 0, "controls": {}}
        self.response: list = []

    def search(self, base, search_filter, **kwargs):
        self.filters.append(search_filter)
        return True


@functools.cache
def _directory(recorder: _Recorder) -> ActiveDirectory:
    directory = ActiveDirectory(
        DirectorySettings(
            urls=["ldaps://dc.kiosk.test"],
            domains=[DomainSettings(netbios="KIOSK", dns="kiosk.test", base_dn="DC=kiosk,DC=test")],
        )
    )
    directory.connection.run = lambda operation, retry=True: operation(recorder)  # type: ignore[method-assign]
    return directory


RECORDER = _Recorder()


@LIMITS
@given(st.text(alphabet=st.one_of(NASTY, st.characters(codec="utf-8", exclude_categories=("Cs",))), min_size=1, max_size=40))
@example("<=")
@example(":=")
@example("a*)(sn=*")
def test_the_helpdesk_search_escapes_its_text(text):
    recorder = RECORDER
    recorder.filters.clear()
    _directory(recorder).search_accounts(text)
    if not text.strip():
        assert recorder.filters == []
        return
    (search_filter,) = recorder.filters
    for attribute in ("sAMAccountName", "userPrincipalName", "displayName", "givenName", "sn"):
        _assert_escaped(search_filter, attribute, text.strip(), substring=True)
