"""The Samba AD lab is what the rest of the suite relies on (scripts/ad-lab)."""

from __future__ import annotations

import ssl

import pytest
from ldap3 import MODIFY_REPLACE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPSocketOpenError

try:
    import lab as lablib
except ImportError:
    from tests import lab as lablib

pytestmark = pytest.mark.lab

UF_LOCKOUT = 0x10
INSUFFICIENT_ACCESS = 50


def _svc(lab):
    conn = lablib.connect(lab, lab.svc_user, lab.svc_password)
    assert conn.bound, conn.result
    return conn


def _in_chain(conn, lab, group_dn):
    conn.search(lab.base_dn, f"(memberOf:{lablib.IN_CHAIN}:={group_dn})", SUBTREE, attributes=["sAMAccountName"])
    return {str(e["attributes"]["sAMAccountName"][0]) for e in conn.response if e.get("type") == "searchResEntry"}


@pytest.mark.parametrize("user", ["alice", "bob", "carol", "dadmin", "mallory", "oscar"])
def test_seeded_users_bind_by_dn_netbios_and_upn(lab, user):
    pw = lab.passwords[user]
    for name in (lab.dns[user], lab.nt_name(user), lab.upn(user)):
        ok, result = lablib.try_bind(lab, name, pw)
        assert ok, (name, result)


def test_ldaps_certificate_is_verified(lab):
    # the helper verifies against the lab CA by the DC's name; any other name fails
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=lab.ca_file, valid_names=["not-the-dc.example"])
    conn = Connection(Server(lab.host, port=lab.port, use_ssl=True, tls=tls, get_info=NONE, connect_timeout=5))
    with pytest.raises(LDAPSocketOpenError):
        conn.open()
    assert lablib.can_bind(lab, lab.svc_user, lab.svc_password)


def test_starttls_bind_works(lab):
    conn = lablib.connect(lab, lab.nt_name("carol"), lab.passwords["carol"], starttls=True)
    assert conn.bound, conn.result
    conn.unbind()


def test_dave_is_disabled(lab, lab_admin):
    ok, result = lablib.try_bind(lab, lab.nt_name("dave"), lab.passwords["dave"])
    assert not ok and result["result"] == 49 and "data 533" in result["message"], result
    assert lablib.first(lablib.read_entry(lab_admin, lab.dns["dave"], ["userAccountControl"]), "userAccountControl") == "514"


def test_kiosk_users_membership_is_only_nested(lab, lab_admin):
    members = _in_chain(lab_admin, lab, lab.kiosk_users_dn)
    assert {"alice", "bob", "carol", "mallory"} <= members
    assert not members & {"dave", "oscar", "dadmin", "newbie", "svc-kiosk"}
    assert lablib.is_member(lab_admin, lab, lab.dns["alice"], lab.kiosk_users_dn)
    assert not lablib.is_member(lab_admin, lab, lab.dns["alice"], lab.kiosk_users_dn, nested=False)
    assert lablib.is_member(lab_admin, lab, lab.dns["alice"], lab.staff_team_dn, nested=False)


def test_mallory_is_denied(lab, lab_admin):
    assert _in_chain(lab_admin, lab, lab.kiosk_denied_dn) == {"mallory"}
    assert lablib.is_member(lab_admin, lab, lab.dns["mallory"], lab.kiosk_users_dn)


def test_dadmin_is_a_protected_admin(lab, lab_admin):
    e = lablib.read_entry(lab_admin, lab.dns["dadmin"], ["adminCount", "memberOf"])
    assert lablib.first(e, "adminCount") == "1"
    assert any(m.lower().startswith("cn=domain admins,") for m in e["memberOf"])


def test_oscar_is_outside_staff(lab):
    assert lab.dns["oscar"].endswith("," + lab.contractors_ou)


def test_newbie_never_logged_on(lab, lab_admin):
    e = lablib.read_entry(
        lab_admin, lab.dns["newbie"],
        ["employeeID", "department", "userAccountControl", "logonCount", "lastLogon", "lastLogonTimestamp"],
    )
    assert lablib.first(e, "employeeID") == "E1001" and lablib.first(e, "department") == "Lab"
    assert lablib.first(e, "userAccountControl") == "512"
    # LDAP simple binds set lastLogonTimestamp (not lastLogon/logonCount) on Samba
    assert lablib.first(e, "lastLogonTimestamp") in (None, "0")
    assert lab.passwords["newbie"] == ""


def test_svc_account_is_not_an_admin(lab, lab_admin):
    e = lablib.read_entry(lab_admin, lab.svc_dn, ["adminCount", "memberOf"])
    assert lablib.first(e, "adminCount") is None and not e.get("memberOf")


def test_svc_can_reset_unlock_and_expire_a_staff_user(lab, lab_user):
    svc = _svc(lab)
    new = lablib.new_password()
    assert svc.extend.microsoft.modify_password(lab_user.dn, new), svc.result
    assert lablib.can_bind(lab, lab_user.nt_name, new)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)

    lablib.lock_by_bad_binds(lab, lab_user.upn)
    ok, result = lablib.try_bind(lab, lab_user.upn, new)
    assert not ok and "data 775" in result["message"], result
    assert svc.modify(lab_user.dn, {"lockoutTime": [(MODIFY_REPLACE, [0])]}), svc.result
    assert lablib.can_bind(lab, lab_user.upn, new)

    assert svc.modify(lab_user.dn, {"pwdLastSet": [(MODIFY_REPLACE, [0])]}), svc.result
    ok, result = lablib.try_bind(lab, lab_user.upn, new)
    assert not ok and "data 773" in result["message"], result
    # nothing beyond the delegated rights
    assert not svc.modify(lab_user.dn, {"description": [(MODIFY_REPLACE, ["x"])]})
    assert svc.result["result"] == INSUFFICIENT_ACCESS
    svc.unbind()


def test_svc_can_reset_in_contractors(lab, lab_admin):
    dn, sam, _ = lablib.create_user(lab, lab_admin, ou=lab.contractors_ou)
    try:
        svc = _svc(lab)
        new = lablib.new_password()
        assert svc.extend.microsoft.modify_password(dn, new), svc.result
        assert lablib.can_bind(lab, lab.nt_name(sam), new)
    finally:
        lablib.delete_user(lab_admin, dn)


def test_svc_cannot_touch_admins_or_users_outside_its_ous(lab, lab_admin):
    outside, _, _ = lablib.create_user(lab, lab_admin, ou=f"CN=Users,{lab.base_dn}")
    try:
        svc = _svc(lab)
        for dn in (lab.dns["dadmin"], lab.admin_dn, outside, lab.svc_dn):
            assert not svc.extend.microsoft.modify_password(dn, lablib.new_password()), dn
            assert svc.result["result"] == INSUFFICIENT_ACCESS, (dn, svc.result)
            assert not svc.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, [0])]}), dn
            assert svc.result["result"] == INSUFFICIENT_ACCESS, (dn, svc.result)
        assert lablib.can_bind(lab, lab.nt_name("dadmin"), lab.passwords["dadmin"])
    finally:
        lablib.delete_user(lab_admin, outside)


def test_create_and_delete_user(lab, lab_admin):
    dn, sam, pw = lablib.create_user(lab, lab_admin, groups=["Staff Team"])
    assert len(sam) <= 20 and sam.startswith("t-")
    for name in (dn, lab.nt_name(sam), lab.upn(sam)):
        assert lablib.can_bind(lab, name, pw), name
    assert lablib.is_member(lab_admin, lab, dn, lab.kiosk_users_dn)
    assert lablib.find_user(lab_admin, lab, sam) == dn
    assert lablib.delete_user(lab_admin, dn)
    assert lablib.read_entry(lab_admin, dn) is None
    assert not lablib.delete_user(lab_admin, dn)


def test_three_bad_binds_lock_the_account(lab, lab_admin, lab_user):
    msgs = lablib.lock_by_bad_binds(lab, lab_user.nt_name, 3)
    assert all("data 52e" in m for m in msgs), msgs
    ok, result = lablib.try_bind(lab, lab_user.nt_name, lab_user.password)
    assert not ok and result["result"] == 49 and "data 775" in result["message"], result
    e = lablib.read_entry(lab_admin, lab_user.dn, ["msDS-User-Account-Control-Computed", "lockoutTime"])
    assert int(lablib.first(e, "msDS-User-Account-Control-Computed")) & UF_LOCKOUT
    assert int(lablib.first(e, "lockoutTime")) > 0
