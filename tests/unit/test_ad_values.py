"""Pure helpers of the Active Directory backend: decoding and error mapping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from kiosk.backend.directory import ad
from kiosk.backend.errors import DirectoryError


def test_filetime():
    assert ad.filetime(None) is None
    assert ad.filetime(0) is None
    assert ad.filetime(0x7FFFFFFFFFFFFFFF) is None  # "never"
    assert ad.filetime(116444736000000000) == datetime(1970, 1, 1, tzinfo=UTC)
    assert ad.filetime(134398712991863390).year == 2026  # a lockoutTime seen on the lab


def test_interval_seconds():
    assert ad.interval_seconds(-600000000) == 60  # lockoutDuration 1 min
    assert ad.interval_seconds(-36288000000000) == 42 * 86400  # maxPwdAge 42 days
    assert ad.interval_seconds(0) == 0
    assert ad.interval_seconds(-0x8000000000000000) is None  # forever
    assert ad.interval_seconds(None) is None


def test_guid_round_trip():
    guid = "4aad45ca-52f7-44a1-8f5f-853280394394"
    raw = uuid.UUID(guid).bytes_le
    assert ad.guid_string(raw) == guid
    assert ad.guid_filter_value(guid) == "".join(f"\\{b:02x}" for b in raw)


def test_sibling_sid_replaces_the_rid():
    user_sid = bytes.fromhex("010500000000000515000000" + "11111111" * 3 + "50040000")
    group = ad.sibling_sid(user_sid, 513)
    assert group[:-4] == user_sid[:-4]
    assert int.from_bytes(group[-4:], "little") == 513


def test_encode_password():
    assert ad.encode_password("Pa$s") == '"Pa$s"'.encode("utf-16-le")


@pytest.mark.parametrize(
    ("message", "data"),
    [
        ("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1", "52e"),
        ("80090308: LdapErr: DSID-0C09050F, comment: AcceptSecurityContext error, data 775, v4563", "775"),
        ("AcceptSecurityContext error, data 773, v1db1", "773"),
        ("", None),
        ("no code here", None),
    ],
)
def test_ad_data_code(message, data):
    assert ad.ad_data_code(message) == data


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "0000052D: Constraint violation - check_password_restrictions: the password is too short. "
            "It should be equal or longer than 7 characters!",
            "too_short",
        ),
        ("0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!", "not_complex"),
        ("0000052D: Constraint violation - check_password_restrictions: the password was already used (previous password)!", "in_history"),
        ("0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!", "in_history"),
        ("0000052D: Constraint violation - check_password_restrictions: password is too young to change!", "too_young"),
        ("00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!", "wrong_old_password"),
        # Windows AD gives no reason at all.
        ("0000052D: SvcErr: DSID-031A1248, problem 5003 (WILL_NOT_PERFORM), data 0", "unknown"),
    ],
)
def test_rejection_reason(message, reason):
    assert ad.rejection_reason(message) == reason


def test_endpoint_parse():
    assert ad.Endpoint.parse("ldaps://dc1.corp.example") == ad.Endpoint(
        "ldaps://dc1.corp.example", "dc1.corp.example", 636, True
    )
    starttls = ad.Endpoint.parse("LDAP://127.0.0.1:3890")
    assert (starttls.host, starttls.port, starttls.implicit_tls, starttls.is_ip) == ("127.0.0.1", 3890, False, True)
    assert ad.Endpoint.parse("ldap://[::1]").host == "::1"
    with pytest.raises(DirectoryError):
        ad.Endpoint.parse("http://dc1")


def test_tls_server_name_prefers_the_configured_name():
    endpoint = ad.Endpoint.parse("ldaps://127.0.0.1")
    assert ad.tls_server_name(endpoint, "DC1.kiosk.test") == "DC1.kiosk.test"
    assert ad.tls_server_name(endpoint, None) == "127.0.0.1"


def test_tls_context_always_verifies():
    context = ad.tls_context(None)
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert context.check_hostname


def test_identity_filter_with_an_implicit_upn_suffix():
    from kiosk.backend.model import Identity

    zoe = Identity(typed="zoe*@Kiosk.Test", domain="KIOSK", upn="zoe*@Kiosk.Test")
    assert ad.identity_filter(zoe, {"kiosk.test"}) == (
        "(&(objectCategory=person)(objectClass=user)"
        "(|(userPrincipalName=zoe\\2a@Kiosk.Test)(sAMAccountName=zoe\\2a)))"
    )
    assert ad.identity_filter(zoe, {"corp.example"}) == ad.identity_filter(zoe)
    assert "sAMAccountName" not in ad.identity_filter(zoe)


def test_dns_name_and_naming_context_of_a_base_dn():
    from kiosk.backend.directory.ad.codec import dns_name
    from kiosk.backend.directory.ad.groups import naming_context

    assert naming_context("OU=Staff, DC=kiosk,DC=test") == "DC=kiosk,DC=test"
    assert dns_name(naming_context("OU=Staff,DC=Kiosk,DC=Test")) == "kiosk.test"
    assert dns_name("OU=Staff") == ""
